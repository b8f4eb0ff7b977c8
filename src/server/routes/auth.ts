/**
 * GET /auth: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Caddy
 * `forward_auth`. The gate (route-policy.ts) has already decided: signed in, `ui:read`, no
 * forced password change, and `?role=` / `?scope=` met. This answers 200 with the identity
 * headers. No cookie is ever set here except the documented cookie-mode re-issue.
 */
import { sendError, sendRedirect, wantsHtml } from '../../web/index.js';
import { forwardedOriginalUri } from '../forwarded.js';
import type { RequestContext } from '../context.js';
import { sessionOf } from '../guards.js';

/**
 * Without a session: 401, or — for a browser arriving through a trusted proxy that named
 * the original URL with `X-Forwarded-Uri` (Traefik, Caddy) — a 302 to the login page,
 * which those proxies pass on.
 */
export function answerForwardAuthUnauthenticated(ctx: RequestContext): void {
  const original = forwardedOriginalUri(ctx);
  if (original !== undefined && wantsHtml(ctx.req.headers.accept) && ctx.req.headers['x-original-uri'] === undefined) {
    return sendRedirect(ctx.res, 302, `/login?next=${encodeURIComponent(original)}`);
  }
  sendError(ctx.req, ctx.res, 401, 'sign in required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
}

export function getAuth(ctx: RequestContext): void {
  const session = sessionOf(ctx);
  const names = ctx.deps.options.identityHeaders;
  ctx.res.writeHead(200, {
    [names.user]: session.user,
    [names.groups]: session.role,
    'Cache-Control': 'no-store',
    'Content-Length': '0',
  });
  ctx.res.end();
}
