/** What every route handler receives: the request, its parsed target, and the app's parts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeviceProfile } from '../config/profile-schema.js';
import type { SessionClocks } from '../session/time-policy.js';
import type { Resolution, SessionManager } from '../session/types.js';
import type { HashLimiter, ScryptCost, UsersStore } from '../users/index.js';
import { setPageSite, type Logger, type MetricsRegistry, type ZoneFormat } from '../web/index.js';
import type { CookieNames } from './cookies.js';
import type { LoginCsrf } from './login-csrf.js';
import type { LoginService } from './login-service.js';
import type { ServerOptions } from './options.js';
import { clientAddressOf } from './forwarded.js';
import type { RequestCounts } from './metrics.js';
import type { Fields } from './request-body.js';
import type { TokenRate } from './token-rate.js';
import type { LastSignIns } from './sign-ins.js';

export interface AppDeps {
  profile: DeviceProfile;
  options: ServerOptions;
  sessions: SessionManager;
  /** The users file: current table, locked read-modify-write, change events (users/users-store.ts). */
  users: UsersStore;
  login: LoginService;
  loginCsrf: LoginCsrf;
  hashLimiter: HashLimiter;
  scryptCost: ScryptCost;
  metrics: MetricsRegistry;
  requests: RequestCounts;
  log: Logger;
  clocks: SessionClocks;
  /** Writes absolute times on pages in the configured zone (`options.timeZone`). */
  zone: ZoneFormat;
  /** When each user last signed in, since start (the users page). */
  signIns: LastSignIns;
  cookies: CookieNames;
  /** Origins besides the request's own that may send credentialed state changes (the configured CORS origins). */
  originsAllowed: ReadonlySet<string>;
  /** Set when the server is stopping: new requests on kept-alive sockets get Connection: close. */
  stopping: { value: boolean };
  /** `POST /token` per user (tokenMintsPerUserPerMinute). */
  tokenRate: TokenRate;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  deps: AppDeps;
  readonly path: string;
  readonly query: URLSearchParams;
  /** True when the target has a query string (reading `query` would build one). */
  readonly hasQuery: boolean;
  readonly clientAddress: string;
  /** Route name for logs and metrics (a fixed string, never the raw path). */
  route: string;
  /** The session, resolved at most once per request (undefined = none). */
  resolution: Resolution | undefined | null;
  /** The form or JSON body, read by the gate for routes whose policy says so. */
  fields: Fields | undefined;
}

/** Shared by every request without a query string (routes only read it). */
const NO_QUERY: URLSearchParams = new URLSearchParams();

/**
 * The context the pipeline builds for each request. The query and the client address are
 * worked out on first read: forward-auth, the hot path, needs neither, and building them
 * eagerly was measurable there. The socket's peer address is taken at once, because a
 * socket closed by the client later no longer knows it (the throttle must not see "unknown").
 */
export class PipelineContext implements RequestContext {
  route = 'unknown';
  resolution: Resolution | undefined | null = null;
  fields: Fields | undefined = undefined;
  readonly path: string;
  readonly #rawQuery: string | undefined;
  readonly #peer: string | undefined;
  #query: URLSearchParams | undefined;
  #clientAddress: string | undefined;

  constructor(readonly req: IncomingMessage, readonly res: ServerResponse, readonly deps: AppDeps) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q === -1 ? url : url.slice(0, q);
    this.#rawQuery = q === -1 ? undefined : url.slice(q + 1);
    this.#peer = req.socket.remoteAddress;
    // Error pages written by any module through sendError(req, …) name the device.
    setPageSite(req, deps.options.deviceName);
  }

  get hasQuery(): boolean {
    return this.#rawQuery !== undefined;
  }

  get query(): URLSearchParams {
    if (this.#query === undefined) this.#query = this.#rawQuery === undefined ? NO_QUERY : new URLSearchParams(this.#rawQuery);
    return this.#query;
  }

  get clientAddress(): string {
    if (this.#clientAddress === undefined) {
      this.#clientAddress = clientAddressOf(this.#peer, this.req.headers['x-forwarded-for'], this.deps.options.trustedProxies);
    }
    return this.#clientAddress;
  }
}
