/**
 * The one enforcement point of the route-policy table (route-policy.ts): before any handler
 * runs, the gate decides from the route's declaration whether this caller may go on, and
 * answers the request itself when not. Order: session → forced password change → role →
 * permission → query narrowing and the forwarded method (`/auth`) → body → the session
 * still stands → CSRF. Authorization is decided before a
 * body is read, so a caller without the right never makes ringlet read their body.
 */
import { Grants } from '../access/grants.js';
import type { Permission } from '../access/permissions.js';
import { isRole, roleAtLeast } from '../access/roles.js';
import { getCookieValues, timingSafeEqualText } from '../codec/index.js';
import { defaultHostAllowed, hostAllowed, isSameOrigin, safeNextPath, sendError, sendRedirect, wantsHtml } from '../web/index.js';
import type { Session } from '../session/types.js';
import { resolveRequest, wantsNoTouch } from './credentials.js';
import { fromTrustedProxy } from './forwarded.js';
import { currentSession, passwordChangeRequired } from './guards.js';
import { readFields } from './request-body.js';
import { answerForwardAuthUnauthenticated, loginUrlFor } from './routes/auth.js';
import { answerLoginRefused } from './routes/login.js';
import type { RequestContext } from './context.js';
import { UPSTREAM_UPGRADE_POLICY, upstreamPolicyFor, type RoutePolicy } from './route-policy.js';
import { METHOD_OVERRIDE_HEADER_NAMES, normaliseHeaderName } from './upstream-headers.js';

/** The gate's verdict: go on to the handler, or the request has been answered. */
export type GateVerdict = boolean | Promise<boolean>;

const grantsCache = new WeakMap<object, Grants>();

/** The role → permissions table of this server, built once per options object. */
export function grantsOf(ctx: RequestContext): Grants {
  const table = ctx.deps.options.permissions;
  let grants = grantsCache.get(table);
  if (grants === undefined) {
    grants = new Grants(table);
    grantsCache.set(table, grants);
  }
  return grants;
}

/** For handlers that widen what they show (all sessions vs one's own): does the caller hold it? */
export function holds(ctx: RequestContext, session: Session, permission: Permission): boolean {
  return grantsOf(ctx).holds(session, permission);
}

const LOOPBACK_V4_RegExp = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function isLoopback(address: string): boolean {
  return address === '::1' || LOOPBACK_V4_RegExp.test(address);
}

/**
 * A loopback client, judged as everything else is: behind a trusted proxy the client is the
 * forwarded address (a proxy on this machine is not itself the client), otherwise the peer.
 */
export function loopbackClient(ctx: RequestContext): boolean {
  if (fromTrustedProxy(ctx)) {
    const forwarded = ctx.req.headers['x-forwarded-for'];
    return typeof forwarded === 'string' && isLoopback(ctx.clientAddress);
  }
  return isLoopback(ctx.clientAddress);
}

function answerUnauthenticated(ctx: RequestContext, policy: RoutePolicy): void {
  const { req, res } = ctx;
  if (policy.unauthenticated === 'forward-auth') return answerForwardAuthUnauthenticated(ctx);
  if (policy.unauthenticated === 'login-page' && (req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req.headers.accept)) {
    return sendRedirect(res, 303, loginUrlFor(ctx));
  }
  sendError(req, res, 401, 'sign in required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
}

function answerPasswordChangeRequired(ctx: RequestContext): void {
  const { req, res } = ctx;
  if ((req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req.headers.accept)) {
    return sendRedirect(res, 303, `/password?next=${encodeURIComponent(safeNextPath(req.url))}`);
  }
  sendError(req, res, 403, 'password change required');
}

function refuse(ctx: RequestContext, message: string): false {
  sendError(ctx.req, ctx.res, 403, message);
  return false;
}

/** `/auth?role=R&scope=S`: each asks for more than the route's own policy; one named twice asks twice. */
function narrowingMet(ctx: RequestContext, session: Session): boolean {
  for (const role of ctx.query.getAll('role')) {
    if (!(isRole(role) && roleAtLeast(session.role, role))) return refuse(ctx, 'role not permitted');
  }
  const grants = grantsOf(ctx);
  for (const scope of ctx.query.getAll('scope')) {
    const ok = scope.split(' ').every((p) => p.length > 0 && grants.holds(session, p as Permission));
    if (!ok) return refuse(ctx, 'scope not permitted');
  }
  return true;
}

function sameOrigin(ctx: RequestContext, publicOrigin?: string): boolean {
  return isSameOrigin(ctx.req, { allowedOrigins: ctx.deps.originsAllowed, publicOrigin });
}

/** Where a forward-auth proxy names the original request's method (Traefik and Caddy; nginx recipes). */
const FORWARDED_METHOD_HEADERS: ReadonlySet<string> = new Set(['x-forwarded-method', 'x-original-method']);

/**
 * The origin the browser used, as a trusted proxy names it: Traefik's ForwardAuth request
 * carries its own address as Host (`ringlet:8080`) and the public name in X-Forwarded-Host.
 * Undefined from anyone else, or for a name this server does not serve.
 */
function forwardedPublicOrigin(ctx: RequestContext): string | undefined {
  if (!fromTrustedProxy(ctx)) return undefined;
  const { 'x-forwarded-proto': proto, 'x-forwarded-host': host } = ctx.req.headers;
  if ((proto !== 'http' && proto !== 'https') || typeof host !== 'string') return undefined;
  if (!defaultHostAllowed(host) && !hostAllowed(host, ctx.deps.options.allowedHosts)) return undefined;
  return `${proto}://${host}`;
}

/** Method-override headers (see upstream-headers.ts), by their normalised name. */
const METHOD_OVERRIDES: ReadonlySet<string> = new Set(METHOD_OVERRIDE_HEADER_NAMES);

/**
 * The methods a forward-auth request names for the request the proxy will forward: the
 * proxy's own headers, and the method-override headers of the original request, which the
 * proxy passes on to the admin UI (frameworks act on them). Only names with "method" in them
 * are normalised: this runs on every `/auth`.
 */
function forwardedMethods(ctx: RequestContext): string[] {
  const headers = ctx.req.headers;
  const methods: string[] = [];
  for (const name in headers) {
    if (!name.includes('method')) continue;
    const n = normaliseHeaderName(name);
    if (!FORWARDED_METHOD_HEADERS.has(n) && !METHOD_OVERRIDES.has(n)) continue;
    const value = headers[name];
    methods.push(typeof value === 'string' ? value : 'OTHER');
  }
  return methods;
}

/**
 * `/auth` for a write: the proxy asks with GET before every request it forwards. A method
 * other than GET or HEAD named by any of `forwardedMethods` (the strictest wins; believed
 * from anyone, since it can only narrow) must pass what the upstream route's policy for it
 * asks: `ui:write`, and for a cookie session a same-origin request.
 */
function forwardedMethodMet(ctx: RequestContext, session: Session): boolean {
  for (const method of forwardedMethods(ctx)) {
    if (method === '' || method === 'GET' || method === 'HEAD') continue;
    const policy = upstreamPolicyFor(method);
    if (policy === undefined) return refuse(ctx, 'method not allowed');
    if (!upstreamPolicyMet(ctx, session, policy)) return false;
  }
  // A WebSocket handshake is a GET, but the tunnel it opens carries writes: Caddy and
  // Traefik proxy it after a 200 from here, so it is judged as the upstream's upgrade.
  // Sec-WebSocket-Key is end-to-end (every proxy passes it to /auth); Upgrade may be dropped.
  const headers = ctx.req.headers;
  if (headers['sec-websocket-key'] !== undefined || headers.upgrade !== undefined) return upstreamPolicyMet(ctx, session, UPSTREAM_UPGRADE_POLICY);
  return true;
}

/** What the upstream route's policy asks of a request `/auth` is asked about. */
function upstreamPolicyMet(ctx: RequestContext, session: Session, policy: RoutePolicy): boolean {
  if (policy.role !== undefined && !roleAtLeast(session.role, policy.role)) return refuse(ctx, `${policy.role} role required`);
  if (policy.permission !== undefined && !holds(ctx, session, policy.permission)) return refuse(ctx, `${policy.permission} permission required`);
  if (policy.csrf !== 'none' && session.via !== 'bearer' && !sameOrigin(ctx, forwardedPublicOrigin(ctx))) return csrfRefused(ctx, 'origin');
  return true;
}

function csrfRefused(ctx: RequestContext, reason: 'origin' | 'token'): false {
  ctx.deps.log.warn('csrf_refused', { route: ctx.route, reason, client: ctx.clientAddress });
  return refuse(ctx, reason === 'origin' ? 'cross-origin request refused' : 'missing or invalid CSRF token');
}

/** Login nonce cookies tried per request (the name may repeat): bounds the work. */
const LOGIN_NONCE_LOOKUP = { maxValues: 4 } as const;

/**
 * The login form: a same-origin request carrying the signed double-submit token (GET /login
 * set the nonce cookie). A JSON login needs no token — a cross-site page cannot send JSON
 * without a CORS preflight, which only configured origins pass — but an Origin it sends
 * must be ours.
 */
function loginFormCsrfOk(ctx: RequestContext): boolean {
  const fields = ctx.fields;
  if (fields?.kind !== 'form') return ctx.req.headers.origin === undefined || sameOrigin(ctx);
  if (!sameOrigin(ctx)) return false;
  const nonces = getCookieValues(ctx.req.headers.cookie ?? '', ctx.deps.cookies.loginNonce, LOGIN_NONCE_LOOKUP);
  return nonces.some((nonce) => ctx.deps.loginCsrf.verify(nonce, fields.values['csrf']));
}

/** A cookie-authenticated call's CSRF proof; bearer tokens need none (no browser sends them unasked). */
function csrfMet(ctx: RequestContext, policy: RoutePolicy, session: Session): boolean {
  if (session.via === 'bearer' || policy.csrf === 'none' || policy.csrf === 'login-form') return true;
  if (!sameOrigin(ctx)) return csrfRefused(ctx, 'origin');
  if (policy.csrf === 'origin') return true;
  const header = ctx.req.headers['x-csrf-token'];
  const field = ctx.fields?.values['csrf'];
  const given = typeof header === 'string' ? header : typeof field === 'string' ? field : undefined;
  const expected = session.csrfToken;
  if (given === undefined || expected === undefined || !timingSafeEqualText(given, expected)) return csrfRefused(ctx, 'token');
  return true;
}

/** Reads the body's fields into ctx.fields; false when the body was refused (already answered). */
async function fieldsRead(ctx: RequestContext): Promise<boolean> {
  const fields = await readFields(ctx.req, ctx.res, ctx.deps.profile);
  if (fields === undefined) return false;
  ctx.fields = fields;
  return true;
}

function afterFields(ctx: RequestContext, policy: RoutePolicy, session: Session | undefined): boolean {
  if (policy.csrf === 'login-form') {
    if (loginFormCsrfOk(ctx)) return true;
    ctx.deps.log.warn('csrf_refused', { route: ctx.route, reason: 'login', client: ctx.clientAddress });
    answerLoginRefused(ctx);
    return false;
  }
  return session === undefined || csrfMet(ctx, policy, session);
}

/**
 * After a body: does the session the gate decided on still stand? A body may take up to
 * `requestTimeoutMs` to arrive, and the session may have been revoked meanwhile (a logout,
 * a logout everywhere, a password change, the user removed or re-roled): a request whose
 * body arrived after its session ended gets nothing from it (no token minted from a
 * revoked session). Re-resolved without touching; a required session answers 401, an
 * optional one is dropped (the handler runs without it).
 */
function stillStands(ctx: RequestContext, policy: RoutePolicy, session: Session | undefined): boolean {
  if (session === undefined) return true;
  const again = resolveRequest(ctx.req, ctx.deps.sessions, ctx.deps.cookies.session, false)?.session;
  const user = again === undefined ? undefined : ctx.deps.users.current().get(again.user);
  if (again !== undefined && again.ref === session.ref && again.user === session.user && user !== undefined && user.role === session.role) return true;
  ctx.resolution = undefined;
  if (policy.authentication === 'optional') return true;
  answerUnauthenticated(ctx, policy);
  return false;
}

/**
 * Applies `policy` to the request. Returns true (or a promise of true) when the handler may
 * run; otherwise the request has been answered. `ctx.resolution` holds the session the
 * decision was made on, so the handler sees exactly that caller.
 */
export function passGate(ctx: RequestContext, policy: RoutePolicy): GateVerdict {
  let session: Session | undefined;
  if (policy.authentication !== 'none') {
    if (policy.openToLoopback && loopbackClient(ctx)) return true;
    session = currentSession(ctx, policy.touch && !wantsNoTouch(ctx.req));
    if (session === undefined) {
      if (policy.authentication === 'required') {
        answerUnauthenticated(ctx, policy);
        return false;
      }
    } else {
      if (!policy.beforePasswordChange && passwordChangeRequired(ctx, session)) {
        answerPasswordChangeRequired(ctx);
        return false;
      }
      if (policy.role !== undefined && !roleAtLeast(session.role, policy.role)) return refuse(ctx, `${policy.role} role required`);
      if (policy.permission !== undefined && !holds(ctx, session, policy.permission)) return refuse(ctx, `${policy.permission} permission required`);
      if (policy.narrowedByQuery && ctx.hasQuery && !narrowingMet(ctx, session)) return false;
      if (policy.narrowedByForwardedMethod && !forwardedMethodMet(ctx, session)) return false;
    }
  }
  if (policy.readsFields) {
    return fieldsRead(ctx).then((ok) => ok && stillStands(ctx, policy, session) && afterFields(ctx, policy, ctx.resolution?.session));
  }
  return afterFields(ctx, policy, session);
}
