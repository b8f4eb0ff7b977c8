/** GET /: a tiny signed-in landing page (only when no upstream UI is configured). */
import { renderHomePage, sendError, sendHtml, wantsHtml } from '../../web/index.js';
import { currentSession } from '../guards.js';
import type { RequestContext } from '../context.js';

export function getHome(ctx: RequestContext): void {
  const session = currentSession(ctx);
  if (session === undefined) {
    if (!wantsHtml(ctx.req.headers.accept)) return sendError(ctx.req, ctx.res, 401, 'sign in required');
    ctx.res.writeHead(303, { Location: '/login', 'Cache-Control': 'no-store', 'Content-Length': '0' });
    ctx.res.end();
    return;
  }
  sendHtml(ctx.res, 200, renderHomePage({
    username: session.user,
    role: session.role,
    csrfToken: session.csrfToken ?? '',
    createdIso: Number.isFinite(session.createdAtMs) ? new Date(session.createdAtMs).toISOString() : '',
    expiresIso: new Date(session.absoluteExpiresAtMs).toISOString(),
    links: [{ href: '/sessions', label: 'Sessions' }, { href: '/password', label: 'Change password' }],
  }));
}
