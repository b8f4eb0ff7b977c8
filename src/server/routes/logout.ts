/** POST /logout: revoke the session and clear the cookie. Idempotent without a session. */
import { sendJson } from '../../web/index.js';
import { clearSessionCookie } from '../cookies.js';
import { checkCsrf, currentSession } from '../guards.js';
import { readFields } from '../request-body.js';
import type { RequestContext } from '../context.js';

/**
 * no-store alone does not keep signed-in pages out of the back/forward cache: Chromium may
 * keep no-store pages there, and restored the device UI's page after sign-out in
 * test/browser/logout.test.ts. This header evicts them (honoured on https and loopback).
 */
export const CLEAR_CACHE = '"cache"';

export async function postLogout(ctx: RequestContext): Promise<void> {
  const session = currentSession(ctx, false);
  let html = false;
  let formToken: unknown;
  if (ctx.req.headers['content-type'] !== undefined || Number(ctx.req.headers['content-length'] ?? 0) > 0) {
    const fields = await readFields(ctx);
    if (fields === undefined) return;
    html = fields.kind === 'form';
    formToken = fields.values['csrf'];
  }
  if (session !== undefined) {
    if (!checkCsrf(ctx, session, formToken)) return;
    ctx.deps.sessions.revoke(session);
    ctx.deps.log.info('logout', { user: session.user, ref: session.ref, client: ctx.clientAddress });
  }
  const clear = clearSessionCookie(ctx.deps.cookies);
  if (html) {
    ctx.res.writeHead(303, { Location: '/login?loggedout=1', 'Set-Cookie': clear, 'Cache-Control': 'no-store', 'Clear-Site-Data': CLEAR_CACHE, 'Content-Length': '0' });
    ctx.res.end();
    return;
  }
  sendJson(ctx.res, 200, { loggedOut: session !== undefined }, { 'Set-Cookie': clear, 'Clear-Site-Data': CLEAR_CACHE });
}
