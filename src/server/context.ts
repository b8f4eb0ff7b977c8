/** What every route handler receives: the request, its parsed target, and the app's parts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeviceProfile } from '../config/profile-schema.js';
import type { SessionClocks } from '../session/time-policy.js';
import type { Resolution, SessionManager } from '../session/types.js';
import type { HashLimiter, ScryptCost, UsersDb } from '../users/index.js';
import type { Logger, MetricsRegistry } from '../web/index.js';
import type { CookieNames } from './cookies.js';
import type { LoginCsrf } from './login-csrf.js';
import type { LoginService } from './login-service.js';
import type { ServerOptions } from './options.js';
import type { RequestCounts } from './metrics.js';

/** The users file, held in memory and written back atomically on change. */
export interface UsersHolder {
  current(): UsersDb;
  replace(db: UsersDb): Promise<void>;
}

export interface AppDeps {
  profile: DeviceProfile;
  options: ServerOptions;
  sessions: SessionManager;
  users: UsersHolder;
  login: LoginService;
  loginCsrf: LoginCsrf;
  hashLimiter: HashLimiter;
  scryptCost: ScryptCost;
  metrics: MetricsRegistry;
  requests: RequestCounts;
  log: Logger;
  clocks: SessionClocks;
  cookies: CookieNames;
  /** Set when the server is stopping: new requests on kept-alive sockets get Connection: close. */
  stopping: { value: boolean };
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  deps: AppDeps;
  path: string;
  query: URLSearchParams;
  clientAddress: string;
  /** Route name for logs and metrics (a fixed string, never the raw path). */
  route: string;
  /** The session, resolved at most once per request (undefined = none). */
  resolution: Resolution | undefined | null;
}
