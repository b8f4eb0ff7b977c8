/**
 * The request pipeline: Host allow-list → CORS → route → handler, with one boundary that
 * turns any unexpected failure into a short 500 without request data in the log.
 */
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostAllowed, sendError, wantsHtml } from '../web/index.js';
import { currentSession, passwordChangeRequired } from './guards.js';
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
import { PipelineContext, type AppDeps, type RequestContext } from './context.js';

type Handler = (ctx: RequestContext) => void | Promise<void>;

interface Route {
  name: string;
  GET?: Handler;
  POST?: Handler;
  /** Reachable while a generated password has not been changed yet. */
  beforePasswordChange?: boolean;
  /** The Allow header value, fixed per route. */
  allow: string;
}

function route(spec: Omit<Route, 'allow'>): Route {
  return { ...spec, allow: [spec.GET ? 'GET, HEAD' : '', spec.POST ? 'POST' : '', 'OPTIONS'].filter(Boolean).join(', ') };
}

/** The paths ringlet owns; everything else is 404, or the upstream's when one is configured. */
const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/login', route({ name: 'login', GET: getLogin, POST: postLogin, beforePasswordChange: true })],
  ['/logout', route({ name: 'logout', POST: postLogout, beforePasswordChange: true })],
  ['/session', route({ name: 'session', GET: getSession, beforePasswordChange: true })],
  ['/password', route({ name: 'password', GET: getPassword, POST: postPassword, beforePasswordChange: true })],
  ['/auth', route({ name: 'auth', GET: getAuth, beforePasswordChange: true })],
  ['/token', route({ name: 'token', POST: postToken, beforePasswordChange: true })],
  ['/sessions', route({ name: 'sessions', GET: getSessions })],
  ['/sessions/revoke', route({ name: 'sessions_revoke', POST: postRevokeSession })],
  ['/sessions/revoke-user', route({ name: 'sessions_revoke_user', POST: postRevokeUser })],
  ['/tokens/revoke', route({ name: 'tokens_revoke', POST: postRevokeToken })],
  ['/metrics', route({ name: 'metrics', GET: getMetrics, beforePasswordChange: true })],
  ['/healthz', route({ name: 'healthz', GET: getHealth, beforePasswordChange: true })],
]);

const HOME_ROUTE: Route = route({ name: 'home', GET: getHome });

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
      verdict = allowedHosts.length > 0 ? hostAllowed(host, allowedHosts) : defaultHostAllowed(host);
      if (verdicts.size >= HOST_VERDICTS_MAX) verdicts.clear();
      verdicts.set(host, verdict);
    }
    return verdict;
  };
}

/** Without an explicit allow-list: IP literals and localhost (DNS rebinding needs a DNS name). */
function defaultHostAllowed(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d{1,5}$/, '');
  return isIP(name) !== 0 || name.toLowerCase() === 'localhost';
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
  ctx.res.writeHead(204, {
    'Access-Control-Allow-Methods': allowedMethods,
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
    'Access-Control-Max-Age': CORS_MAX_AGE_SECONDS,
    'Cache-Control': 'no-store',
  });
  ctx.res.end();
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
    const ctx = new PipelineContext(req, res, deps);
    if (deps.stopping.value) res.setHeader('Connection', 'close');
    try {
      const done = dispatch(ctx, upstream, hostCheck);
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

function dispatch(ctx: RequestContext, upstream: UpstreamHandler | undefined, hostCheck: HostCheck): void | Promise<void> {
  const { req, res, deps } = ctx;
  const host = req.headers.host ?? '';
  const hostOk = hostCheck(host);
  if (!hostOk) {
    ctx.route = 'host_refused';
    deps.log.warn('host_refused', { client: ctx.clientAddress });
    return sendError(req, res, 421, 'this host name is not served here');
  }
  // `/` is ringlet's own landing page unless an upstream admin UI lives there.
  const owned = ROUTES.get(ctx.path) ?? (ctx.path === '/' && upstream === undefined ? HOME_ROUTE : undefined);
  if (owned === undefined) {
    if (upstream !== undefined) {
      ctx.route = 'upstream';
      return upstream(ctx);
    }
    ctx.route = 'not_found';
    return sendError(req, res, 404, 'not found');
  }
  ctx.route = owned.name;
  const methods = owned.allow;
  const cors = applyCors(ctx, methods);
  if (cors === 'preflight-done') return;
  if (cors === 'refused') return sendError(req, res, 403, 'origin not allowed');
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (method === 'OPTIONS') {
    res.writeHead(204, { Allow: methods, 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  const handler = method === 'GET' ? owned.GET : method === 'POST' ? owned.POST : undefined;
  if (handler === undefined) return sendError(req, res, 405, 'method not allowed', { Allow: methods });
  if (!owned.beforePasswordChange) {
    const session = currentSession(ctx);
    if (session !== undefined && passwordChangeRequired(ctx, session)) {
      if (wantsHtml(req.headers.accept)) {
        res.writeHead(303, { Location: `/password?next=${encodeURIComponent(ctx.path)}`, 'Cache-Control': 'no-store', 'Content-Length': '0' });
        res.end();
        return;
      }
      return sendError(req, res, 403, 'password change required');
    }
  }
  return handler(ctx);
}

function internalError(ctx: RequestContext, err: unknown): void {
  // The message of our own code only: never the request, its headers or its body.
  ctx.deps.log.error('internal_error', { route: ctx.route, error: err instanceof Error ? err.name + ': ' + err.message : 'unknown' });
  if (!ctx.res.headersSent) sendError(ctx.req, ctx.res, 500, 'internal error');
  else ctx.res.destroy();
}
