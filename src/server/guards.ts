/**
 * Per-request policy shared by routes: who is calling, whether they may change state, and
 * the forced password change. Each guard answers the request itself when it refuses.
 */
import { timingSafeEqual } from 'node:crypto';
import { isSameOrigin, sendError } from '../web/index.js';
import { resolveRequest, wantsNoTouch } from './credentials.js';
import { sessionCookie } from './cookies.js';
import type { RequestContext } from './context.js';
import type { Session } from '../session/types.js';

/** The request's session (resolved once); applies a cookie re-issue when the manager asks. */
export function currentSession(ctx: RequestContext, touch = !wantsNoTouch(ctx.req)): Session | undefined {
  if (ctx.resolution === null) {
    const resolved = resolveRequest(ctx.req, ctx.deps.sessions, ctx.deps.cookies.session, touch);
    // A deleted or re-roled user's sessions end at once, whatever the token says.
    const user = resolved === undefined ? undefined : ctx.deps.users.current().get(resolved.session.user);
    ctx.resolution = resolved !== undefined && user !== undefined && user.role === resolved.session.role ? resolved : undefined;
    const reissue = ctx.resolution?.reissueCookie;
    if (reissue !== undefined) ctx.res.setHeader('Set-Cookie', sessionCookie(ctx.deps.cookies, reissue));
  }
  return ctx.resolution?.session;
}

export function requireSession(ctx: RequestContext): Session | undefined {
  const session = currentSession(ctx);
  if (session === undefined) {
    sendError(ctx.req, ctx.res, 401, 'sign in required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
  }
  return session;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * State changes authenticated by cookie need a same-origin request (Origin/Sec-Fetch-Site)
 * and the session's CSRF token (header `X-CSRF-Token` or form field `csrf`). Bearer
 * requests need neither: a browser never attaches them on its own.
 */
export function checkCsrf(ctx: RequestContext, session: Session, formToken: unknown): boolean {
  if (session.via === 'bearer') return true;
  const origins = new Set(ctx.deps.options.corsOrigins);
  if (!isSameOrigin(ctx.req, { allowedOrigins: origins })) {
    ctx.deps.log.warn('csrf_refused', { route: ctx.route, reason: 'origin', client: ctx.clientAddress });
    sendError(ctx.req, ctx.res, 403, 'cross-origin request refused');
    return false;
  }
  const header = ctx.req.headers['x-csrf-token'];
  const given = typeof header === 'string' ? header : typeof formToken === 'string' ? formToken : undefined;
  if (given === undefined || session.csrfToken === undefined || !sameString(given, session.csrfToken)) {
    ctx.deps.log.warn('csrf_refused', { route: ctx.route, reason: 'token', client: ctx.clientAddress });
    sendError(ctx.req, ctx.res, 403, 'missing or invalid CSRF token');
    return false;
  }
  return true;
}

/** Until a generated password is changed, the session reaches only the change-password route. */
export function passwordChangeRequired(ctx: RequestContext, session: Session): boolean {
  return ctx.deps.users.current().get(session.user)?.mustChangePassword === true;
}
