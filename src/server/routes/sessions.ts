/**
 * Sessions admin: admins list every live session and revoke any (one by `ref`, or all of a
 * user); everyone else sees and revokes only their own. Never shows ids or CSRF secrets.
 * Cookie mode cannot list (nothing is stored) and says so; revoke-all works through the
 * per-user not-before table. Also revokes one bearer token by `jti`.
 */
import { renderSessionsPage, sendError, sendHtml, sendJson, sendRedirect, wantsHtml } from '../../web/index.js';
import { holds } from '../gate.js';
import { sessionOf } from '../guards.js';
import { pageClock, siteOf } from '../page-frame.js';
import type { Fields } from '../request-body.js';
import { CLEAR_CACHE } from './logout.js';
import type { RequestContext } from '../context.js';
import type { Session } from '../../session/types.js';
import { MAX_CREDENTIAL_ID_CHARS } from '../../session/claims.js';
import { DEFAULT_MAX_TOKEN_BYTES } from '../../codec/index.js';
import { isValidUserName, MAX_USER_NAME_CHARS } from '../../users/index.js';

const COOKIE_MODE_NOTE = 'Cookie mode keeps no list of sessions: they live in the browsers. "Sign out everywhere" still ends them all.';
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : undefined);

export function getSessions(ctx: RequestContext): void {
  const session = sessionOf(ctx);
  // The policy lets anyone with sessions:own in; sessions:read widens the list to everyone's.
  const everyone = holds(ctx, session, 'sessions:read');
  const listing = ctx.deps.sessions.list(everyone ? undefined : session.user);
  const rows = (listing ?? []).map((s) => ({
    ref: s.ref,
    user: s.user,
    role: s.role,
    createdAt: iso(s.createdAtMs),
    lastSeenAt: iso(s.lastSeenAtMs),
    clientAddress: s.clientAddress,
    current: s.ref === session.ref,
  }));
  if (wantsHtml(ctx.req.headers.accept)) {
    sendHtml(ctx.res, 200, renderSessionsPage({
      site: siteOf(ctx),
      clock: pageClock(ctx),
      csrfToken: session.csrfToken ?? '',
      sessions: (listing ?? []).map((s) => ({
        ref: s.ref, user: s.user, role: s.role, createdAtMs: s.createdAtMs, lastSeenAtMs: s.lastSeenAtMs, clientAddress: s.clientAddress, current: s.ref === session.ref,
      })),
      isAdmin: holds(ctx, session, 'sessions:write'),
      username: session.user,
      listAvailable: listing !== undefined,
      note: listing === undefined ? COOKIE_MODE_NOTE : undefined,
    }));
    return;
  }
  sendJson(ctx.res, 200, listing === undefined
    ? { listAvailable: false, reason: COOKIE_MODE_NOTE, sessions: [] }
    : { listAvailable: true, sessions: rows });
}

/** A state change the gate has admitted (session, permission, CSRF) with its fields. */
function mutation(ctx: RequestContext): { session: Session; values: Record<string, unknown>; html: boolean } {
  const fields = ctx.fields as Fields;
  return { session: sessionOf(ctx), values: fields.values, html: fields.kind === 'form' };
}

function done(ctx: RequestContext, html: boolean, body: Record<string, unknown>): void {
  if (html) sendRedirect(ctx.res, 303, '/sessions');
  else sendJson(ctx.res, 200, body);
}

export async function postRevokeSession(ctx: RequestContext): Promise<void> {
  const m = mutation(ctx);
  const ref = m.values['ref'];
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 64) return sendError(ctx.req, ctx.res, 400, 'ref is required');
  if (ref === m.session.ref) {
    ctx.deps.sessions.revoke(m.session);
    await ctx.deps.sessions.revocationsSettled();
    return done(ctx, m.html, { revoked: 1 });
  }
  if (ctx.deps.sessions.mode === 'cookie') return sendError(ctx.req, ctx.res, 409, 'cookie mode can only revoke the current session or all of a user');
  const others = ctx.deps.sessions.list(holds(ctx, m.session, 'sessions:write') ? undefined : m.session.user) ?? [];
  if (!others.some((s) => s.ref === ref)) return sendError(ctx.req, ctx.res, 404, 'no such session');
  const revoked = ctx.deps.sessions.revokeRef(ref);
  await ctx.deps.sessions.revocationsSettled();
  ctx.deps.log.info('session_revoked', { by: m.session.user, user: revoked?.user, ref });
  done(ctx, m.html, { revoked: revoked ? 1 : 0 });
}

export async function postRevokeUser(ctx: RequestContext): Promise<void> {
  const m = mutation(ctx);
  const named = m.values['user'];
  // A name no user can have is refused here: it would otherwise be remembered (and written).
  if (named !== undefined && !isValidUserName(named)) return sendError(ctx.req, ctx.res, 400, `user must be a user name (1 to ${MAX_USER_NAME_CHARS} characters of A-Z a-z 0-9 . _ @ -)`);
  const user = named ?? m.session.user;
  if (user !== m.session.user && !holds(ctx, m.session, 'sessions:write')) return sendError(ctx.req, ctx.res, 403, 'sessions:write permission required to end other users\' sessions');
  const count = ctx.deps.sessions.revokeUser(user);
  await ctx.deps.sessions.revocationsSettled();
  ctx.deps.log.info('user_sessions_revoked', { by: m.session.user, user, count: count ?? 'all' });
  if (m.html && user === m.session.user) return sendRedirect(ctx.res, 303, '/login?loggedout=1', { 'Clear-Site-Data': CLEAR_CACHE });
  done(ctx, m.html, { revoked: count ?? null, user });
}

/** Fields `POST /tokens/revoke` accepts (`csrf` is the form's CSRF field). */
const REVOKE_TOKEN_FIELDS: ReadonlySet<string> = new Set(['jti', 'user', 'token', 'csrf']);
/** Token ids: what ringlet mints (base64url) and what JOSE tools mint (UUIDs), as claims.ts bounds them. */
const JTI_RE = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CREDENTIAL_ID_CHARS}}$`);

/** The revocation asked for, or the reason it is refused (a 400 naming the field). */
export function revokeTokenRequest(values: Record<string, unknown>): { token: string } | { jti: string; user: string } | string {
  if (Object.hasOwn(values, 'expiresInSeconds')) return 'expiresInSeconds is not accepted: a revocation lasts until the token\'s own expiry';
  for (const key of Object.keys(values)) if (!REVOKE_TOKEN_FIELDS.has(key)) return `unknown field ${JSON.stringify(key.slice(0, 64))}`;
  const { jti, user, token } = values;
  if (token !== undefined) {
    if (jti !== undefined || user !== undefined) return 'give either token, or jti and user, not both';
    if (typeof token !== 'string' || token.length === 0 || token.length > DEFAULT_MAX_TOKEN_BYTES) return 'token must be a bearer token';
    return { token };
  }
  if (jti === undefined && user === undefined) return 'jti and user, or token, are required';
  if (jti === undefined) return 'jti is required with user';
  if (typeof jti !== 'string' || !JTI_RE.test(jti)) return `jti must be 1 to ${MAX_CREDENTIAL_ID_CHARS} characters of A-Z a-z 0-9 - _`;
  if (user === undefined) return 'user is required with jti (the token\'s owner)';
  if (!isValidUserName(user)) return `user must be a user name (1 to ${MAX_USER_NAME_CHARS} characters of A-Z a-z 0-9 . _ @ -)`;
  return { jti, user };
}

export async function postRevokeToken(ctx: RequestContext): Promise<void> {
  const m = mutation(ctx);
  const asked = revokeTokenRequest(m.values);
  if (typeof asked === 'string') return sendError(ctx.req, ctx.res, 400, asked);
  let revoked: { jti: string; user: string };
  if ('token' in asked) {
    const known = ctx.deps.sessions.revokeTokenValue(asked.token);
    if (known === undefined) return sendError(ctx.req, ctx.res, 400, 'token is not a bearer token of this server');
    revoked = known;
  } else {
    ctx.deps.sessions.revokeToken(asked.jti, asked.user);
    revoked = asked;
  }
  await ctx.deps.sessions.revocationsSettled();
  ctx.deps.log.info('token_revoked', { by: m.session.user, user: revoked.user, jti: revoked.jti });
  done(ctx, false, { revoked: true });
}
