/** POST /logout: revoke the session and clear the cookie. Idempotent without a session. */
import { sendJson, sendRedirect } from '../../web/index.js';
import { clearSessionCookie } from '../cookies.js';
import type { RequestContext } from '../context.js';

/**
 * no-store alone does not keep signed-in pages out of the back/forward cache: Chromium may
 * keep no-store pages there, and restored the device UI's page after sign-out in
 * test/browser/logout.test.ts. This header evicts them (honoured on https and loopback).
 */
export const CLEAR_CACHE = '"cache"';

/** The gate has checked the CSRF proof of a cookie session; without a session this only clears the cookie. */
export async function postLogout(ctx: RequestContext): Promise<void> {
  const session = ctx.resolution?.session;
  const html = ctx.fields?.kind === 'form';
  if (session !== undefined) {
    ctx.deps.sessions.revoke(session);
    // Answered only once it would survive a crash (the revocation file is written).
    await ctx.deps.sessions.revocationsSettled();
    ctx.deps.log.info('logout', { user: session.user, ref: session.ref, client: ctx.clientAddress });
  }
  const clear = clearSessionCookie(ctx.deps.cookies);
  if (html) return sendRedirect(ctx.res, 303, '/login?loggedout=1', { 'Set-Cookie': clear, 'Clear-Site-Data': CLEAR_CACHE });
  sendJson(ctx.res, 200, { loggedOut: session !== undefined }, { 'Set-Cookie': clear, 'Clear-Site-Data': CLEAR_CACHE });
}
