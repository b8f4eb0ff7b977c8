/**
 * ringlet as a library: the same sessions (RAM store or JWE cookies, bearer tokens) inside
 * someone else's Node service, as node:http wrapper or Express/Connect-style middleware.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getCookieValues, generateJwks, loadKeyRing, type JwkSet } from '../codec/index.js';
import { parseProfile } from '../config/profile.js';
import type { DeviceProfile } from '../config/profile-schema.js';
import { createSessionLayer } from '../session/session-layer.js';
import { createSessionClocks } from '../session/time-policy.js';
import type { IssuedSession, Session, SessionManager } from '../session/types.js';
import { bearerToken, NO_TOUCH_HEADER } from '../server/credentials.js';
import { clearSessionCookie, cookieNames, sessionCookie, type CookieNames } from '../server/cookies.js';
import { isSameOrigin } from '../web/index.js';
import { timingSafeEqual } from 'node:crypto';
import { systemMonotonicClock, systemWallClock, type MonotonicClock, type WallClock } from '../util/clock.js';
import type { Role } from '../access/roles.js';

/** Options: any device-profile field (validated like a profile file), plus where keys and cookies come from. */
export interface RingletOptions extends Partial<Omit<DeviceProfile, 'name' | 'description' | 'nodeFlags'>> {
  /** JWKS (object or JSON text). Required for cookie mode to survive restarts; generated in memory otherwise. */
  keys?: JwkSet | string;
  /** Cookies get Secure and the `__Host-` prefix (set it when served over HTTPS). Default false. */
  secureCookies?: boolean;
  /** Origins allowed to send credentialed state-changing requests besides the request's own. */
  trustedOrigins?: string[];
  monotonicClock?: MonotonicClock;
  wallClock?: WallClock;
}

/** A request with ringlet's session attached by the middleware (undefined = not signed in). */
export type RingletRequest = IncomingMessage & { session?: Session | undefined };
export type Next = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

export interface Ringlet {
  /** Express/Connect-style: resolves the session onto `req.session`, then calls `next()`. */
  middleware: Middleware;
  /** node:http: wraps a `(req, res)` handler so `req.session` is set before it runs. */
  wrap(handler: (req: RingletRequest, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void;
  /** Starts a fresh session (after your own password check) and sets the cookie. */
  login(res: ServerResponse, user: string, role: Role, clientAddress?: string): IssuedSession;
  /** Ends the request's session and clears the cookie. */
  logout(req: RingletRequest, res: ServerResponse): void;
  /** 401 without a session, 403 below `role` (admin > viewer); otherwise `next()`. */
  requireRole(role: Role): Middleware;
  /** 403 unless a cookie-authenticated state change carries the CSRF token and a same-origin Origin. */
  requireCsrf(): Middleware;
  /** The underlying session manager (revokeUser, list, issueToken, stats, ...). */
  sessions: SessionManager;
  cookies: CookieNames;
}

const ROLE_RANK: Record<Role, number> = { viewer: 1, admin: 2 };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function refuse(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: status === 401 ? 'unauthorized' : 'forbidden', message });
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

/**
 * Creates the session layer. Options are validated once, here; errors name the field.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { createRinglet } from 'ringlet';
 * const ringlet = createRinglet({ mode: 'ram', capacity: 1000 });
 * createServer(ringlet.wrap((req, res) => {
 *   res.end(req.session ? `hello ${req.session.user}` : 'please sign in');
 * })).listen(3000);
 */
export function createRinglet(options: RingletOptions = {}): Ringlet {
  const { keys: jwks, secureCookies = false, trustedOrigins = [], monotonicClock, wallClock, ...profileFields } = options;
  const profile = parseProfile({ name: 'library', ...profileFields }, 'createRinglet options');
  const keys = loadKeyRing(jwks ?? generateJwks(), { source: 'createRinglet options.keys' });
  const clocks = createSessionClocks(monotonicClock ?? systemMonotonicClock, wallClock ?? systemWallClock);
  const cookies = cookieNames(secureCookies);
  // The server's composition root, with the same limits. The library keeps revocations in
  // memory: an embedding service that restarts forgets them (the server keeps a file).
  const { sessions } = createSessionLayer(profile, keys, clocks, { cookieNameBytes: cookies.session.length, sameBootOnly: false });
  const allowedOrigins = new Set(trustedOrigins);

  function resolve(req: RingletRequest, res: ServerResponse): void {
    if ('session' in req) return;
    const touch = req.headers[NO_TOUCH_HEADER] !== '1';
    const token = bearerToken(req);
    if (token !== undefined) {
      req.session = sessions.resolveBearer(token, touch);
      return;
    }
    const values = getCookieValues(req.headers.cookie, cookies.session, { maxValues: 4 });
    const resolution = values.length > 0 ? sessions.resolveCookie(values, touch) : undefined;
    if (resolution?.reissueCookie !== undefined) res.appendHeader('Set-Cookie', sessionCookie(cookies, resolution.reissueCookie));
    req.session = resolution?.session;
  }

  const middleware: Middleware = function ringletSession(req, res, next) {
    try {
      resolve(req, res);
    } catch (err) {
      next(err);
      return;
    }
    next();
  };

  return {
    middleware,
    wrap: (handler) => (req, res) => {
      resolve(req, res);
      handler(req, res);
    },
    login(res, user, role, clientAddress) {
      const issued = sessions.issue(user, role, clientAddress);
      res.appendHeader('Set-Cookie', sessionCookie(cookies, issued.cookieValue));
      return issued;
    },
    logout(req, res) {
      resolve(req, res);
      if (req.session !== undefined) sessions.revoke(req.session);
      req.session = undefined;
      res.appendHeader('Set-Cookie', clearSessionCookie(cookies));
    },
    requireRole(role) {
      return function ringletRequireRole(req: RingletRequest, res, next) {
        resolve(req, res);
        if (req.session === undefined) return refuse(res, 401, 'sign in required');
        if (ROLE_RANK[req.session.role] < ROLE_RANK[role]) return refuse(res, 403, `${role} role required`);
        next();
      };
    },
    requireCsrf() {
      return function ringletRequireCsrf(req: RingletRequest, res, next) {
        resolve(req, res);
        const s = req.session;
        if (SAFE_METHODS.has(req.method ?? 'GET') || s === undefined || s.via === 'bearer') return next();
        const given = req.headers['x-csrf-token'];
        const ok = typeof given === 'string' && s.csrfToken !== undefined && given.length === s.csrfToken.length &&
          timingSafeEqual(Buffer.from(given), Buffer.from(s.csrfToken)) && isSameOrigin(req, { allowedOrigins });
        if (!ok) return refuse(res, 403, 'missing or invalid CSRF token, or cross-origin request');
        next();
      };
    },
    sessions,
    cookies,
  };
}
