/** GET /: a tiny signed-in landing page (only when no upstream UI is configured). */
import { renderHomePage, sendHtml } from '../../web/index.js';
import { sessionOf } from '../guards.js';
import type { RequestContext } from '../context.js';

export function getHome(ctx: RequestContext): void {
  const session = sessionOf(ctx);
  sendHtml(ctx.res, 200, renderHomePage({
    username: session.user,
    role: session.role,
    csrfToken: session.csrfToken ?? '',
    createdIso: Number.isFinite(session.createdAtMs) ? new Date(session.createdAtMs).toISOString() : '',
    expiresIso: new Date(session.absoluteExpiresAtMs).toISOString(),
    links: [{ href: '/sessions', label: 'Sessions' }, { href: '/password', label: 'Change password' }],
  }));
}
