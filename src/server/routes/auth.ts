/**
 * GET /auth: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Caddy
 * `forward_auth`. 200 with identity headers; 401 without a session (browsers arriving
 * through a trusted proxy that names the original URL get a 302 to the login page
 * instead, which Traefik and Caddy pass on); 403 when `?role=` or `?scope=` is not met.
 * No cookie is ever set here except the documented cookie-mode re-issue.
 */
import { sendError, wantsHtml } from '../../web/index.js';
import { currentSession, passwordChangeRequired } from '../guards.js';
import { forwardedOriginalUri } from '../forwarded.js';
import type { RequestContext } from '../context.js';
import type { Role } from '../../access/roles.js';
import type { Session } from '../../session/types.js';

const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 1, admin: 2 };

export function roleSatisfies(has: Role, wanted: string): boolean {
  const need = (ROLE_RANK as Record<string, number | undefined>)[wanted];
  return need !== undefined && ROLE_RANK[has] >= need;
}

/** The permissions a session holds: a token's narrowed scope, else everything its role grants. */
export function permissionsOf(ctx: RequestContext, session: Session): readonly string[] {
  return session.scope ?? ctx.deps.options.permissions[session.role];
}

function unauthenticated(ctx: RequestContext): void {
  const original = forwardedOriginalUri(ctx);
  if (original !== undefined && wantsHtml(ctx.req.headers.accept) && ctx.req.headers['x-original-uri'] === undefined) {
    ctx.res.writeHead(302, { Location: `/login?next=${encodeURIComponent(original)}`, 'Cache-Control': 'no-store', 'Content-Length': '0' });
    ctx.res.end();
    return;
  }
  sendError(ctx.req, ctx.res, 401, 'sign in required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
}

export function getAuth(ctx: RequestContext): void {
  const session = currentSession(ctx);
  if (session === undefined) return unauthenticated(ctx);
  if (passwordChangeRequired(ctx, session)) return sendError(ctx.req, ctx.res, 403, 'password change required');
  const role = ctx.query.get('role');
  if (role !== null && !roleSatisfies(session.role, role)) return sendError(ctx.req, ctx.res, 403, 'role not permitted');
  const scope = ctx.query.get('scope');
  if (scope !== null && !permissionsOf(ctx, session).includes(scope)) return sendError(ctx.req, ctx.res, 403, 'scope not permitted');
  const names = ctx.deps.options.identityHeaders;
  ctx.res.writeHead(200, {
    [names.user]: session.user,
    [names.groups]: session.role,
    'Cache-Control': 'no-store',
    'Content-Length': '0',
  });
  ctx.res.end();
}
