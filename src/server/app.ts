/**
 * The request pipeline: Host allow-list → route → CORS → method → the gate (route-policy.ts:
 * who may call it) → handler, with one boundary that turns any unexpected failure into a
 * short 500 without request data in the log.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { defaultHostAllowed, hostAllowed, originFormTarget, sendEmpty, sendError } from '../web/index.js';
import { passGate } from './gate.js';
import { sessionOf } from './guards.js';
import { TUNNELLED_PROTOCOL, type UpstreamProxy } from './proxy.js';
import { getAuth } from './routes/auth.js';
import { getHealth } from './routes/health.js';
import { getHome } from './routes/home.js';
import { getLogin, postLogin } from './routes/login.js';
import { postLogout } from './routes/logout.js';
import { getMetrics } from './routes/metrics.js';
import { getPassword, postPassword } from './routes/password.js';
import { getSession } from './routes/session.js';
import { getSessions, postRevokeSession, postRevokeToken, postRevokeUser } from './routes/sessions.js';
import { postToken } from './routes/token.js';
import { getUsers, postAddUser, postRemoveUser, postResetUser, postUserRole } from './routes/users.js';
import { policyFor, ROUTE_TABLE, type RouteDeclaration } from './route-policy.js';
import { PipelineContext, type AppDeps, type RequestContext } from './context.js';

type Handler = (ctx: RequestContext) => void | Promise<void>;

/** Handlers by route name and method; who may reach them is the route-policy table's business. */
const HANDLERS: Readonly<Record<string, { GET?: Handler; POST?: Handler }>> = {
  login: { GET: getLogin, POST: postLogin },
  logout: { POST: postLogout },
  session: { GET: getSession },
  password: { GET: getPassword, POST: postPassword },
  auth: { GET: getAuth },
  token: { POST: postToken },
  sessions: { GET: getSessions },
  sessions_revoke: { POST: postRevokeSession },
  sessions_revoke_user: { POST: postRevokeUser },
  tokens_revoke: { POST: postRevokeToken },
  users: { GET: getUsers },
  users_add: { POST: postAddUser },
  users_role: { POST: postUserRole },
  users_reset: { POST: postResetUser },
  users_remove: { POST: postRemoveUser },
  metrics: { GET: getMetrics },
  healthz: { GET: getHealth },
  home: { GET: getHome },
};

interface OwnedRoute {
  declaration: RouteDeclaration;
  GET?: Handler | undefined;
  POST?: Handler | undefined;
  /** The Allow header value, fixed per route. */
  allow: string;
}

function owned(declaration: RouteDeclaration): OwnedRoute {
  const handlers = HANDLERS[declaration.name];
  if (handlers === undefined) throw new Error(`route ${declaration.name} has a policy but no handler`);
  for (const method of ['GET', 'POST'] as const) {
    // A handler without a declared policy (or the reverse) is a programming error: fail at start.
    if ((handlers[method] === undefined) !== (declaration.methods[method] === undefined)) {
      throw new Error(`route ${declaration.name}: ${method} handler and policy must be declared together`);
    }
  }
  const allow = [handlers.GET ? 'GET, HEAD' : '', handlers.POST ? 'POST' : '', 'OPTIONS'].filter(Boolean).join(', ');
  return { declaration, GET: handlers.GET, POST: handlers.POST, allow };
}

/** The paths ringlet owns; everything else is 404, or the upstream's when one is configured. */
const ROUTES: ReadonlyMap<string, OwnedRoute> = new Map(
  ROUTE_TABLE.filter((r) => r.path !== '*' && r.name !== 'home').map((r) => [r.path, owned(r)]),
);

const HOME_ROUTE: OwnedRoute = owned(ROUTE_TABLE.find((r) => r.name === 'home') as RouteDeclaration);
const UPSTREAM_ROUTE: RouteDeclaration = ROUTE_TABLE.find((r) => r.path === '*') as RouteDeclaration;

export const OWNED_PATHS: readonly string[] = [...ROUTES.keys()];

const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, X-CSRF-Token, X-Ringlet-No-Touch';
const CORS_MAX_AGE_SECONDS = '600';

/** Recent Host verdicts: a device sees one or two Host values; bounded because attackers pick them. */
const HOST_VERDICTS_MAX = 64;

type HostCheck = (host: string) => boolean;

function cachedHostCheck(allowedHosts: readonly string[]): HostCheck {
  const verdicts = new Map<string, boolean>();
  return (host) => {
    let verdict = verdicts.get(host);
    if (verdict === undefined) {
      // IP literals and localhost are served with or without --allowed-host: a DNS-rebinding
      // page reaches the device with its own DNS name as Host, never with an address, and
      // loopback health checks and scrapes keep working. The allow-list adds names.
      verdict = defaultHostAllowed(host) || hostAllowed(host, allowedHosts);
      if (verdicts.size >= HOST_VERDICTS_MAX) verdicts.clear();
      verdicts.set(host, verdict);
    }
    return verdict;
  };
}

function applyCors(ctx: RequestContext, allowedMethods: string): 'preflight-done' | 'refused' | 'continue' {
  const origin = ctx.req.headers.origin;
  if (origin === undefined) return 'continue';
  const allowed = ctx.deps.options.corsOrigins.includes(origin);
  if (allowed) {
    // Never `*` with credentials: the one configured origin is echoed.
    ctx.res.setHeader('Access-Control-Allow-Origin', origin);
    ctx.res.setHeader('Access-Control-Allow-Credentials', 'true');
    ctx.res.setHeader('Vary', 'Origin');
  }
  if (ctx.req.method !== 'OPTIONS') return 'continue';
  if (!allowed) return 'refused';
  sendEmpty(ctx.res, 204, {
    'Access-Control-Allow-Methods': allowedMethods,
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
    'Access-Control-Max-Age': CORS_MAX_AGE_SECONDS,
  });
  return 'preflight-done';
}

export type UpstreamHandler = (ctx: RequestContext) => void;

export function createApp(deps: AppDeps, upstream?: UpstreamHandler): (req: IncomingMessage, res: ServerResponse) => void {
  const { log } = deps;
  const debug = deps.options.logLevel === 'debug';
  const hostCheck = cachedHostCheck(deps.options.allowedHosts);
  const record = (ctx: RequestContext, started: number): void => {
    const status = ctx.res.statusCode;
    deps.requests.record(ctx.route, status);
    if (status >= 500 || debug) {
      const line = { route: ctx.route, method: ctx.req.method, status, durationMs: Math.round((performance.now() - started) * 10) / 10, client: ctx.clientAddress };
      if (status >= 500) log.warn('request', line);
      else log.debug('request', line);
    }
  };
  return (req, res) => {
    const started = performance.now();
    // Absolute-form targets become origin-form before anything routes on the path.
    const target = originFormTarget(req.url ?? '', req.headers.host);
    if (target !== undefined) req.url = target;
    const ctx = new PipelineContext(req, res, deps);
    if (deps.stopping.value) res.setHeader('Connection', 'close');
    try {
      const done = dispatch(ctx, upstream, hostCheck, target !== undefined);
      if (done instanceof Promise) done.catch((err: unknown) => internalError(ctx, err));
    } catch (err) {
      internalError(ctx, err);
    }
    // Synchronous routes (/auth, /healthz) have answered by now: record at once. A
    // per-request 'finish' listener cost ~7 µs of node:http bookkeeping on the hot path.
    if (res.writableEnded) record(ctx, started);
    else res.once('finish', () => record(ctx, started));
  };
}

/** Runs the gate, then the handler; a refused request has been answered by the gate. */
function gated(ctx: RequestContext, policy: Parameters<typeof passGate>[1], handler: Handler): void | Promise<void> {
  const verdict = passGate(ctx, policy);
  if (verdict === true) return handler(ctx);
  if (verdict === false) return;
  return verdict.then((ok) => (ok ? handler(ctx) : undefined));
}

/**
 * The Host allow-list (DNS-rebinding defence), then the request target (origin-form, on this
 * host): false when either refuses, the request answered (421 or 400).
 */
function hostAndTargetAccepted(ctx: RequestContext, hostCheck: HostCheck, targetOk: boolean): boolean {
  if (!hostCheck(ctx.req.headers.host ?? '')) {
    ctx.route = 'host_refused';
    ctx.deps.log.warn('host_refused', { client: ctx.clientAddress });
    sendError(ctx.req, ctx.res, 421, 'this host name is not served here');
    return false;
  }
  if (!targetOk) {
    ctx.route = 'target_refused';
    sendError(ctx.req, ctx.res, 400, 'request target not accepted: use a path on this host');
    return false;
  }
  return true;
}

function dispatch(ctx: RequestContext, upstream: UpstreamHandler | undefined, hostCheck: HostCheck, targetOk: boolean): void | Promise<void> {
  const { req, res } = ctx;
  if (!hostAndTargetAccepted(ctx, hostCheck, targetOk)) return;
  // `/` is ringlet's own landing page unless an upstream admin UI lives there.
  const route = ROUTES.get(ctx.path) ?? (ctx.path === '/' && upstream === undefined ? HOME_ROUTE : undefined);
  if (route === undefined) {
    if (upstream !== undefined) {
      ctx.route = 'upstream';
      const policy = policyFor(UPSTREAM_ROUTE, req.method ?? 'GET');
      if (policy === undefined) return sendError(req, res, 405, 'method not allowed');
      return gated(ctx, policy, upstream);
    }
    ctx.route = 'not_found';
    return sendError(req, res, 404, 'not found');
  }
  ctx.route = route.declaration.name;
  const methods = route.allow;
  const cors = applyCors(ctx, methods);
  if (cors === 'preflight-done') return;
  if (cors === 'refused') return sendError(req, res, 403, 'origin not allowed');
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (method === 'OPTIONS') return sendEmpty(res, 204, { Allow: methods });
  const handler = method === 'GET' ? route.GET : method === 'POST' ? route.POST : undefined;
  const policy = method === 'GET' || method === 'POST' ? route.declaration.methods[method] : undefined;
  if (handler === undefined || policy === undefined) return sendError(req, res, 405, 'method not allowed', { Allow: methods });
  return gated(ctx, policy, handler);
}

function internalError(ctx: RequestContext, err: unknown): void {
  // The message of our own code only: never the request, its headers or its body.
  ctx.deps.log.error('internal_error', { route: ctx.route, error: err instanceof Error ? err.name + ': ' + err.message : 'unknown' });
  if (!ctx.res.headersSent) sendError(ctx.req, ctx.res, 500, 'internal error');
  else ctx.res.destroy();
}

/** True when node:http is still answering an earlier request on this socket (the upgrade was pipelined behind it). */
function responseInFlight(socket: Duplex): boolean {
  // node:http's own marker of the response that owns the socket; no public accessor exists.
  return (socket as { _httpMessage?: unknown })._httpMessage != null;
}

/**
 * The pipeline for WebSocket handshakes (node:http's 'upgrade' event): the same steps as a
 * request — target made origin-form, Host allow-list, then the gate with the upstream
 * route's UPGRADE policy (session, forced password change, permission, same origin) —
 * before `proxy.tunnel` opens anything. Only a GET without a body, asking for `websocket`,
 * to a path ringlet does not own, is tunnelled; anything else is answered here and the
 * connection closed. A handshake pipelined behind an unfinished request is an anomaly: the
 * connection is closed.
 */
export function createUpgradeHandler(deps: AppDeps, proxy: UpstreamProxy): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const hostCheck = cachedHostCheck(deps.options.allowedHosts);
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (responseInFlight(socket)) {
      socket.destroy();
      return;
    }
    // Refusals and non-101 answers are ordinary responses on this socket, then it closes.
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    const target = originFormTarget(req.url ?? '', req.headers.host);
    if (target !== undefined) req.url = target;
    const ctx = new PipelineContext(req, res, deps);
    ctx.route = 'upgrade';
    res.once('finish', () => {
      deps.requests.record(ctx.route, res.statusCode);
      res.detachSocket(socket as Socket);
      (socket as Socket).destroySoon();
    });
    try {
      const done = dispatchUpgrade(ctx, proxy, hostCheck, target !== undefined, socket, head);
      if (done instanceof Promise) done.catch((err: unknown) => internalError(ctx, err));
    } catch (err) {
      internalError(ctx, err);
    }
  };
}

function dispatchUpgrade(ctx: RequestContext, proxy: UpstreamProxy, hostCheck: HostCheck, targetOk: boolean, socket: Duplex, head: Buffer): void | Promise<void> {
  const { req, res, deps } = ctx;
  if (deps.stopping.value) return sendError(req, res, 503, 'shutting down');
  if (!hostAndTargetAccepted(ctx, hostCheck, targetOk)) return;
  const token = String(req.headers.upgrade ?? '').trim().toLowerCase();
  const length = req.headers['content-length'];
  const body = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  const policy = UPSTREAM_ROUTE.methods.UPGRADE;
  if (ROUTES.has(ctx.path) || req.method !== 'GET' || token !== TUNNELLED_PROTOCOL || body || policy === undefined) {
    return sendError(req, res, 400, 'only a WebSocket handshake (GET, no body) to the device UI is accepted here');
  }
  return gated(ctx, policy, (c) => proxy.tunnel(c, sessionOf(c), socket, head));
}
