/**
 * GET /auth: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Caddy
 * `forward_auth`. The gate (route-policy.ts) has already decided: signed in, `ui:read`, no
 * forced password change, and `?role=` / `?scope=` met. This answers 200 with the identity
 * headers. No cookie is ever set here except the documented cookie-mode re-issue.
 */
import { safeNextPath, sendEmpty, sendError, sendRedirect, wantsHtml } from '../../web/index.js';
import { forwardedOriginalUri, fromTrustedProxy } from '../forwarded.js';
import type { RequestContext } from '../context.js';
import { sessionOf } from '../guards.js';

/** The header naming the login URL on /auth's answer to a browser without a session. */
export const LOGIN_URL_HEADER = 'X-Ringlet-Login-Url';

/**
 * The login page that brings the browser back to the request it made: `/login?next=` with
 * the original path and query percent-encoded as one value, so `/status?x=1&y=2` survives
 * whole. For forward-auth (/auth) the original request is the one a trusted proxy names in
 * X-Forwarded-Uri or X-Original-URI (from anyone else: none); for every other path it is
 * the request itself. A `next` that is not a same-origin path is dropped (safeNextPath:
 * never an open redirect), and so is `/`, the login page's own default.
 *
 * @example
 * loginUrlFor(ctx) // '/login?next=%2Fstatus%3Fx%3D1%26y%3D2' for GET /status?x=1&y=2
 */
export function loginUrlFor(ctx: RequestContext): string {
  const original = ctx.path === '/auth' ? forwardedOriginalUri(ctx) : ctx.req.url;
  const next = safeNextPath(original);
  return next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`;
}

/**
 * Without a session: 401 with the Bearer challenge. A browser (its Accept prefers HTML) is
 * also told where to sign in: `X-Ringlet-Login-Url` carries the login URL for the request
 * the proxy names, so no proxy configuration assembles `next` itself. Traefik and Caddy
 * pass a non-2xx answer to the browser as it is, so through a trusted proxy that sent
 * X-Forwarded-Uri the answer is a 302 to that URL; nginx's auth_request accepts only 2xx,
 * 401 and 403 (it sends X-Original-URI), so it gets the 401 and redirects itself.
 */
export function answerForwardAuthUnauthenticated(ctx: RequestContext): void {
  const challenge = { 'WWW-Authenticate': 'Bearer realm="ringlet"' };
  if (!wantsHtml(ctx.req.headers.accept)) return sendError(ctx.req, ctx.res, 401, 'sign in required', challenge);
  const loginUrl = loginUrlFor(ctx);
  const headers = ctx.req.headers;
  if (headers['x-forwarded-uri'] !== undefined && headers['x-original-uri'] === undefined && fromTrustedProxy(ctx)) {
    return sendRedirect(ctx.res, 302, loginUrl, { [LOGIN_URL_HEADER]: loginUrl });
  }
  sendError(ctx.req, ctx.res, 401, 'sign in required', { ...challenge, [LOGIN_URL_HEADER]: loginUrl });
}

export function getAuth(ctx: RequestContext): void {
  const session = sessionOf(ctx);
  const names = ctx.deps.options.identityHeaders;
  sendEmpty(ctx.res, 200, { [names.user]: session.user, [names.groups]: session.role });
}
