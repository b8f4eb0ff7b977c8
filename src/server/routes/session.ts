/** GET /session: who am I. The gate answers 401 without a session. */
import { sendJson } from '../../web/index.js';
import { passwordChangeRequired, sessionOf } from '../guards.js';
import type { RequestContext } from '../context.js';

const iso = (ms: number): string | null => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);

export function getSession(ctx: RequestContext): void {
  const session = sessionOf(ctx);
  sendJson(ctx.res, 200, {
    user: session.user,
    role: session.role,
    mode: ctx.deps.sessions.mode,
    via: session.via,
    ref: session.ref,
    createdAt: iso(session.createdAtMs),
    idleExpiresAt: iso(session.idleExpiresAtMs),
    absoluteExpiresAt: iso(session.absoluteExpiresAtMs),
    csrfToken: session.csrfToken ?? null,
    scope: session.scope ?? null,
    mustChangePassword: passwordChangeRequired(ctx, session),
  });
}
