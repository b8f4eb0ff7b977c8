/** GET /: a tiny signed-in landing page (only when no upstream UI is configured). */
import { renderHomePage, sendHtml } from '../../web/index.js';
import { roleAtLeast } from '../../access/roles.js';
import { holds } from '../gate.js';
import { sessionOf } from '../guards.js';
import { pageClock, siteOf } from '../page-frame.js';
import type { RequestContext } from '../context.js';

export function getHome(ctx: RequestContext): void {
  const session = sessionOf(ctx);
  const links = [{ href: '/sessions', label: 'Sessions' }];
  // Only where the route-policy table would let this caller in (users: admin and users:read).
  if (roleAtLeast(session.role, 'admin') && holds(ctx, session, 'users:read')) links.push({ href: '/users', label: 'Users' });
  links.push({ href: '/password', label: 'Change password' });
  sendHtml(ctx.res, 200, renderHomePage({
    site: siteOf(ctx),
    clock: pageClock(ctx),
    username: session.user,
    role: session.role,
    csrfToken: session.csrfToken ?? '',
    createdAtMs: session.createdAtMs,
    expiresAtMs: session.absoluteExpiresAtMs,
    links,
  }));
}
