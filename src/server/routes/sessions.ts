/**
 * Sessions admin: admins list every live session and revoke any (one by `ref`, or all of a
 * user); everyone else sees and revokes only their own. Never shows ids or CSRF secrets.
 * Cookie mode cannot list (nothing is stored) and says so; revoke-all works through the
 * per-user not-before table. Also revokes one bearer token by `jti`.
 */
import { renderSessionsPage, sendError, sendHtml, sendJson, sendRedirect, wantsHtml } from '../../web/index.js';
import { holds } from '../gate.js';
import { sessionOf } from '../guards.js';
import { stringField, type Fields } from '../request-body.js';
import { CLEAR_CACHE } from './logout.js';
import type { RequestContext } from '../context.js';
import type { Session } from '../../session/types.js';

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
      csrfToken: session.csrfToken ?? '',
      sessions: rows.map((r) => ({ ref: r.ref, user: r.user, role: r.role, createdIso: r.createdAt, lastSeenIso: r.lastSeenAt, clientAddress: r.clientAddress, current: r.current })),
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

export function postRevokeSession(ctx: RequestContext): void {
  const m = mutation(ctx);
  const ref = m.values['ref'];
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 64) return sendError(ctx.req, ctx.res, 400, 'ref is required');
  if (ref === m.session.ref) {
    ctx.deps.sessions.revoke(m.session);
    return done(ctx, m.html, { revoked: 1 });
  }
  if (ctx.deps.sessions.mode === 'cookie') return sendError(ctx.req, ctx.res, 409, 'cookie mode can only revoke the current session or all of a user');
  const others = ctx.deps.sessions.list(holds(ctx, m.session, 'sessions:write') ? undefined : m.session.user) ?? [];
  if (!others.some((s) => s.ref === ref)) return sendError(ctx.req, ctx.res, 404, 'no such session');
  const revoked = ctx.deps.sessions.revokeRef(ref);
  ctx.deps.log.info('session_revoked', { by: m.session.user, user: revoked?.user, ref });
  done(ctx, m.html, { revoked: revoked ? 1 : 0 });
}

export function postRevokeUser(ctx: RequestContext): void {
  const m = mutation(ctx);
  const user = stringField({ kind: 'json', values: m.values }, 'user') ?? m.session.user;
  if (user !== m.session.user && !holds(ctx, m.session, 'sessions:write')) return sendError(ctx.req, ctx.res, 403, 'sessions:write permission required to end other users\' sessions');
  const count = ctx.deps.sessions.revokeUser(user);
  ctx.deps.log.info('user_sessions_revoked', { by: m.session.user, user, count: count ?? 'all' });
  if (m.html && user === m.session.user) return sendRedirect(ctx.res, 303, '/login?loggedout=1', { 'Clear-Site-Data': CLEAR_CACHE });
  done(ctx, m.html, { revoked: count ?? null, user });
}

export function postRevokeToken(ctx: RequestContext): void {
  const m = mutation(ctx);
  const jti = m.values['jti'];
  const user = m.values['user'];
  const expiresIn = m.values['expiresInSeconds'];
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 64 || typeof user !== 'string') {
    return sendError(ctx.req, ctx.res, 400, 'jti and user are required');
  }
  const ttlMs = ctx.deps.profile.bearerTokenTtlMs;
  const ms = typeof expiresIn === 'number' && expiresIn >= 0 ? Math.min(expiresIn * 1000, ttlMs) : ttlMs;
  ctx.deps.sessions.revokeToken(jti, user, ms);
  ctx.deps.log.info('token_revoked', { by: m.session.user, user, jti });
  done(ctx, false, { revoked: true });
}
