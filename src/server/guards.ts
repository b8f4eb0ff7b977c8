/**
 * The request's caller: its session, resolved once per request, and whether its user must
 * change a generated password. The gate (gate.ts) decides access from these; handlers read
 * the session the gate decided on.
 */
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

/**
 * The session of a route whose policy requires one: the gate has resolved it and refused
 * the request without one, so its absence here is a programming error, not a client's.
 */
export function sessionOf(ctx: RequestContext): Session {
  const session = ctx.resolution?.session;
  if (session === undefined) throw new Error(`route ${ctx.route} ran without the session its policy requires`);
  return session;
}

/** Until a generated password is changed, the session reaches only what the policy table allows. */
export function passwordChangeRequired(ctx: RequestContext, session: Session): boolean {
  return ctx.deps.users.current().get(session.user)?.mustChangePassword === true;
}
