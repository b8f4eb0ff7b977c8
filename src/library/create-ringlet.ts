/**
 * ringlet as a library: the same sessions (RAM store or JWE cookies, bearer tokens) inside
 * someone else's Node service, as node:http wrapper or Express/Connect-style middleware.
 *
 * Built by the server's own composition root (session/session-layer.ts), with the same
 * limits, and reading credentials exactly as the server does (server/credentials.ts).
 *
 * Whose session is whose. Other middleware (express-session, cookie-session) owns
 * `req.session`; ringlet never reads or writes it. What ringlet resolved for a request is
 * kept in a WeakMap keyed by the request, which nothing outside this module can reach; the
 * guards decide from that record only, so nothing another middleware puts on the request
 * can pass a guard. Handlers read it as `req.ringletSession`, a getter over the record that
 * nothing else can redefine.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../errors.js';
import { generateJwks, loadKeyRing, timingSafeEqualText, type JwkSet } from '../codec/index.js';
import { parseProfile } from '../config/profile.js';
import type { DeviceProfile } from '../config/profile-schema.js';
import { checkRolePermissions, Grants, type RolePermissions } from '../access/grants.js';
import { DEFAULT_ROLE_PERMISSIONS, isPermission, PERMISSIONS, type Permission } from '../access/permissions.js';
import { isRole, roleAtLeast, ROLES, type Role } from '../access/roles.js';
import { createSessionLayer } from '../session/session-layer.js';
import { createSessionClocks } from '../session/time-policy.js';
import type { IssuedSession, Session, SessionManager } from '../session/types.js';
import { resolveRequest, wantsNoTouch } from '../server/credentials.js';
import { clearSessionCookie, cookieNames, sessionCookie, type CookieNames } from '../server/cookies.js';
import { readFields } from '../server/request-body.js';
import { isSameOrigin, mediaType, sendError, sendRedirect, wantsHtml } from '../web/index.js';
import { systemMonotonicClock, systemWallClock, type MonotonicClock, type WallClock } from '../util/clock.js';

/** Options: any device-profile field (validated like a profile file), plus where keys and cookies come from. */
export interface RingletOptions extends Partial<Omit<DeviceProfile, 'name' | 'description' | 'nodeFlags' | 'launchEnv'>> {
  /** JWKS (object or JSON text). Required for cookie mode to survive restarts; generated in memory otherwise. */
  keys?: JwkSet | string;
  /** Cookies get Secure and the `__Host-` prefix (set it when served over HTTPS). Default false. */
  secureCookies?: boolean;
  /** Origins allowed to send credentialed state-changing requests besides the request's own. */
  trustedOrigins?: string[];
  /**
   * Where `requireRole` and `requirePermission` send a browser without a session: a GET or
   * HEAD that asks for HTML gets `303` to `<loginPath>?next=<the request's URL>`. Other
   * clients, and every request when this is not set, get `401`. A path on this origin.
   */
  loginPath?: string;
  /** Role → permissions for `requirePermission`; default: the server's table. */
  permissions?: RolePermissions;
  /**
   * Accept only credentials this process minted: for a service whose cookie-mode logouts
   * must not come back after a restart (the library keeps revocations in memory). Every
   * restart then signs everyone out. Default false.
   */
  refuseEarlierBoots?: boolean;
  monotonicClock?: MonotonicClock;
  wallClock?: WallClock;
}

/**
 * A request as ringlet's handlers see it. `ringletSession`: the ringlet session (undefined
 * when none), set by the middleware, `wrap` or a guard. `body`: form fields `requireCsrf`
 * read when no body parser had (see `requireCsrf`).
 */
export type RingletRequest = IncomingMessage & { readonly ringletSession?: Session | undefined; body?: unknown };
export type Next = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** What `login` may record besides the user and role. */
export interface LoginOptions {
  /** Shown in the RAM-mode session list (`sessions.list()`); counts against `slotBytes`. */
  clientAddress?: string;
  /**
   * The service's own session data: any JSON value. RAM mode keeps it in the session's slot
   * (`slotBytes` of UTF-8 JSON, with `{"d":…}` around it and the client address when one was
   * given); cookie mode inside the sealed cookie (the whole Set-Cookie line under 4096 bytes,
   * with 64 bytes kept for re-issues). Too large: `RingletError` `ERR_DATA_TOO_LARGE`; not
   * JSON: `ERR_DATA_NOT_JSON`; either way no session is started.
   */
  data?: unknown;
}

export interface Ringlet {
  /** Express/Connect-style: resolves the request's ringlet session (`req.ringletSession`), then calls `next()`. */
  middleware: Middleware;
  /** node:http: wraps a `(req, res)` handler so `req.ringletSession` is set before it runs. */
  wrap(handler: (req: RingletRequest, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void;
  /** The ringlet session resolved for `req` (what `req.ringletSession` reads); undefined when none or not resolved yet. */
  sessionOf(req: IncomingMessage): Session | undefined;
  /** Starts a fresh session (after your own password check) and sets the cookie. */
  login(res: ServerResponse, user: string, role: Role, options?: LoginOptions): IssuedSession;
  /** Ends the request's session and clears the cookie. */
  logout(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Replaces the request's session data (undefined clears it); cookie mode re-seals the
   * cookie, so call it before the response's headers are sent. False when the request has
   * no ringlet cookie session (none, ended, or a bearer token: tokens carry no data).
   * @throws RingletError `ERR_DATA_TOO_LARGE` / `ERR_DATA_NOT_JSON` as `login`; nothing changes.
   */
  setData(req: IncomingMessage, res: ServerResponse, data: unknown): boolean;
  /** 401 (or the login redirect) without a ringlet session, 403 below `role` (admin > viewer); otherwise `next()`. */
  requireRole(role: Role): Middleware;
  /** As `requireRole`, for a permission of the role's table (a bearer token: within its scope). */
  requirePermission(permission: Permission): Middleware;
  /**
   * For state changes (any method but GET, HEAD, OPTIONS): 401 without a ringlet session;
   * a cookie session needs a same-origin request (or a trusted origin) and its CSRF token in
   * `X-CSRF-Token` or a `csrf` form field, else 403; a bearer token needs neither.
   */
  requireCsrf(): Middleware;
  /** The underlying session manager (revokeUser, list, issueToken, stats, ...). */
  sessions: SessionManager;
  cookies: CookieNames;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A login path: one leading slash (not `//`, another host), printable ASCII, no query or fragment, no backslash. */
const LOGIN_PATH_RegExp = /^\/(?!\/)[!$&'()*+,\-./0-9:;=@A-Z_a-z~%]{0,255}$/;

/** Resolved once per request: the session, or null for "none". */
type Resolved = Session | null;

function checkOptions(options: RingletOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new ConfigError('options', 'must be an object of profile fields and library options');
  const { secureCookies, trustedOrigins, loginPath, refuseEarlierBoots } = options;
  if (secureCookies !== undefined && typeof secureCookies !== 'boolean') throw new ConfigError('secureCookies', 'must be true or false');
  if (refuseEarlierBoots !== undefined && typeof refuseEarlierBoots !== 'boolean') throw new ConfigError('refuseEarlierBoots', 'must be true or false');
  if (trustedOrigins !== undefined && (!Array.isArray(trustedOrigins) || !trustedOrigins.every((o) => typeof o === 'string'))) {
    throw new ConfigError('trustedOrigins', 'must be a list of origins like https://app.example');
  }
  if (loginPath !== undefined && (typeof loginPath !== 'string' || !LOGIN_PATH_RegExp.test(loginPath))) {
    throw new ConfigError('loginPath', 'must be a path on this origin like /login (one leading slash, no query, at most 256 characters)');
  }
}

/**
 * Creates the session layer. Options are validated once, here; errors name the field.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { createRinglet } from 'ringlet';
 * const ringlet = createRinglet({ mode: 'ram', capacity: 1000 });
 * createServer(ringlet.wrap((req, res) => {
 *   res.end(req.ringletSession ? `hello ${req.ringletSession.user}` : 'please sign in');
 * })).listen(3000);
 */
export function createRinglet(options: RingletOptions = {}): Ringlet {
  checkOptions(options);
  const {
    keys: jwks, secureCookies = false, trustedOrigins = [], loginPath, permissions = DEFAULT_ROLE_PERMISSIONS,
    refuseEarlierBoots = false, monotonicClock, wallClock, ...profileFields
  } = options;
  const profile = parseProfile({ name: 'library', ...profileFields }, 'createRinglet options');
  const grants = new Grants(checkRolePermissions(permissions, 'permissions'));
  const keys = loadKeyRing(jwks ?? generateJwks(), { source: 'createRinglet options.keys' });
  const clocks = createSessionClocks(monotonicClock ?? systemMonotonicClock, wallClock ?? systemWallClock);
  const cookies = cookieNames(secureCookies);
  // The server's composition root, with the same limits. The library keeps revocations in
  // memory: an embedding service that restarts forgets them (the server keeps a file).
  const { sessions } = createSessionLayer(profile, keys, clocks, { cookieNameBytes: cookies.session.length, sameBootOnly: refuseEarlierBoots });
  const allowedOrigins = new Set(trustedOrigins);
  /** What ringlet resolved for each request: out of reach of every other middleware. */
  const records = new WeakMap<IncomingMessage, Resolved>();

  /**
   * Records `session` as the request's. The first time, `req.ringletSession` is defined as
   * a getter over the record, not configurable: nothing can replace it afterwards, and a
   * value another middleware left there before is replaced. When it cannot be defined
   * (something made the name unchangeable first) this throws and nothing is recorded, so
   * every guard refuses the request.
   */
  function record(req: IncomingMessage, session: Session | undefined): void {
    if (!records.has(req)) {
      Object.defineProperty(req, 'ringletSession', { get: () => records.get(req) ?? undefined, enumerable: true, configurable: false });
    }
    records.set(req, session ?? null);
  }

  /** Replaces any session cookie this response already sets (a re-issue) with `line`. */
  function putSessionCookie(res: ServerResponse, line: string): void {
    const existing = res.getHeader('Set-Cookie');
    const lines = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
    const ours = `${cookies.session}=`;
    res.setHeader('Set-Cookie', [...lines.filter((l) => !l.startsWith(ours)), line]);
  }

  /** The request's ringlet session, resolved at most once per request. */
  function resolve(req: IncomingMessage, res: ServerResponse): Session | undefined {
    const known = records.get(req);
    if (known !== undefined) return known ?? undefined;
    // The server's reading of credentials, with its limits (bearer first; cookie header size).
    const resolution = resolveRequest(req, sessions, cookies.session, !wantsNoTouch(req));
    record(req, resolution?.session);
    if (resolution?.reissueCookie !== undefined && !res.headersSent) putSessionCookie(res, sessionCookie(cookies, resolution.reissueCookie));
    return resolution?.session;
  }

  /** Without a session: browsers asking for a page go to the login path when there is one; others get 401. */
  function unauthenticated(req: IncomingMessage, res: ServerResponse): void {
    if (loginPath !== undefined && (req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req.headers.accept)) {
      return sendRedirect(res, 303, `${loginPath}?next=${encodeURIComponent(req.url ?? '/')}`);
    }
    sendError(req, res, 401, 'sign in required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
  }

  /** The request's session for a middleware; null when resolving it failed (the error went to `next`). */
  function resolveOrPass(req: IncomingMessage, res: ServerResponse, next: Next): Session | undefined | null {
    try {
      return resolve(req, res);
    } catch (err) {
      next(err);
      return null;
    }
  }

  /** A guard's decision on the request's session; refusals answer the request, never call `next`. */
  function guard(name: string, decide: (session: Session, req: IncomingMessage, res: ServerResponse) => string | undefined): Middleware {
    const middleware: Middleware = (req, res, next) => {
      const session = resolveOrPass(req, res, next);
      if (session === null) return;
      if (session === undefined) return unauthenticated(req, res);
      const refusal = decide(session, req, res);
      if (refusal !== undefined) return sendError(req, res, 403, refusal);
      next();
    };
    Object.defineProperty(middleware, 'name', { value: name });
    return middleware;
  }

  /**
   * The `csrf` field of a urlencoded body: from `req.body` when a body parser already put
   * one there (any parser: a JSON body's `csrf` counts too), else read here, within the
   * profile's maxBodyBytes and requestTimeoutMs, and left on `req.body` as a null-prototype
   * object of strings, with `req._body = true` (the flag Express's body parsers check, so a
   * parser mounted later does not wait for a body already read). Null when the body was
   * refused (413, 408, 400: answered).
   */
  async function formToken(req: RingletRequest, res: ServerResponse): Promise<string | undefined | null> {
    const body = req.body;
    if (body !== undefined) {
      const value = typeof body === 'object' && body !== null && Object.hasOwn(body, 'csrf') ? (body as Record<string, unknown>)['csrf'] : undefined;
      return typeof value === 'string' ? value : undefined;
    }
    if (mediaType(req.headers['content-type']) !== 'application/x-www-form-urlencoded' || req.readableEnded) return undefined;
    const fields = await readFields(req, res, profile);
    if (fields === undefined) return null;
    Object.assign(req, { body: fields.values, _body: true });
    const value = fields.values['csrf'];
    return typeof value === 'string' ? value : undefined;
  }

  function refuseCsrf(req: IncomingMessage, res: ServerResponse, reason: 'origin' | 'token'): void {
    sendError(req, res, 403, reason === 'origin' ? 'cross-origin request refused' : 'missing or invalid CSRF token');
  }

  /**
   * Right before a state change goes on: does the session resolved for this request still
   * stand? A body (read here, or by a parser mounted after `middleware`) may take a while,
   * and the session may have been logged out or revoked meanwhile; then the request is
   * answered 401 and the route does not run. Re-resolved without touching.
   */
  function stillStands(req: IncomingMessage, res: ServerResponse, session: Session): boolean {
    const now = resolveRequest(req, sessions, cookies.session, false)?.session;
    if (now !== undefined && now.ref === session.ref && now.user === session.user && now.role === session.role) return true;
    record(req, undefined);
    sendError(req, res, 401, 'sign in required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
    return false;
  }

  const middleware: Middleware = function ringletSession(req, res, next) {
    if (resolveOrPass(req, res, next) !== null) next();
  };

  return {
    middleware,
    wrap: (handler) => (req, res) => {
      try {
        resolve(req, res);
      } catch {
        sendError(req, res, 500, 'the session could not be attached to the request');
        return;
      }
      handler(req, res);
    },
    sessionOf: (req) => records.get(req) ?? undefined,
    login(res, user, role, loginOptions = {}) {
      if (!isRole(role)) throw new ConfigError('role', `must be one of ${ROLES.join(', ')}`);
      const { clientAddress, data } = loginOptions;
      if (clientAddress !== undefined && typeof clientAddress !== 'string') throw new ConfigError('clientAddress', 'must be a string');
      const issued = sessions.issue(user, role, clientAddress, data);
      putSessionCookie(res, sessionCookie(cookies, issued.cookieValue));
      // Node ≥ 15.7 links a server response to its request: this request now has the new session.
      const req = (res as { req?: IncomingMessage }).req;
      if (req !== undefined) record(req, issued.session);
      return issued;
    },
    logout(req, res) {
      const session = resolve(req, res);
      if (session !== undefined) sessions.revoke(session);
      record(req, undefined);
      putSessionCookie(res, clearSessionCookie(cookies));
    },
    setData(req, res, data) {
      const session = resolve(req, res);
      if (session === undefined || session.via !== 'cookie') return false;
      if (sessions.mode === 'cookie' && res.headersSent) throw new Error('setData after the response headers were sent: cookie mode must send a new cookie');
      const updated = sessions.setData(session, data);
      if (updated === undefined) return false;
      if (updated.reissueCookie !== undefined) putSessionCookie(res, sessionCookie(cookies, updated.reissueCookie));
      record(req, updated.session);
      return true;
    },
    requireRole(role) {
      if (!isRole(role)) throw new ConfigError('role', `must be one of ${ROLES.join(', ')}`);
      return guard('ringletRequireRole', (session) => (roleAtLeast(session.role, role) ? undefined : `${role} role required`));
    },
    requirePermission(permission) {
      if (!isPermission(permission)) throw new ConfigError('permission', `must be one of ${PERMISSIONS.join(', ')}`);
      return guard('ringletRequirePermission', (session) => (grants.holds(session, permission) ? undefined : `${permission} permission required`));
    },
    requireCsrf() {
      return function ringletRequireCsrf(req: RingletRequest, res, next) {
        if (SAFE_METHODS.has(req.method ?? 'GET')) return next();
        const session = resolveOrPass(req, res, next);
        if (session === null) return;
        // No ringlet session: whatever else the request carries, there is no token to check
        // (a 401: only GET and HEAD, safe and passed above, are sent to the login path).
        if (session === undefined) return unauthenticated(req, res);
        // A bearer token is never sent by a browser on its own: no CSRF to fear.
        if (session.via === 'bearer') return stillStands(req, res, session) ? next() : undefined;
        // Before any body is read: a cross-site request never makes ringlet read its body.
        if (!isSameOrigin(req, { allowedOrigins })) return refuseCsrf(req, res, 'origin');
        const expected = session.csrfToken;
        const check = (given: string | undefined): void => {
          if (given === undefined || expected === undefined || !timingSafeEqualText(given, expected)) return refuseCsrf(req, res, 'token');
          if (stillStands(req, res, session)) next();
        };
        const header = req.headers['x-csrf-token'];
        if (typeof header === 'string') return check(header);
        formToken(req, res).then((given) => {
          if (given !== null) check(given);
        }, next);
      };
    },
    sessions,
    cookies,
  };
}
