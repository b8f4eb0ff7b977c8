/**
 * POST /token (RFC 6749-shaped): credentials (JSON or the password grant's form) or a live
 * cookie session → `{access_token, token_type: "Bearer", expires_in, scope}`. A token may be
 * narrowed to a subset of the role's permissions, never widened.
 */
import { retryAfterSeconds, sendJson } from '../../web/index.js';
import { grantsOf } from '../gate.js';
import { stringField, type Fields } from '../request-body.js';
import type { RequestContext } from '../context.js';
import type { Role } from '../../access/roles.js';

/** RFC 6749 §5.2 error bodies; never cached (§5.1). */
function oauthError(ctx: RequestContext, status: number, error: string, description: string, headers: Record<string, string> = {}): void {
  sendJson(ctx.res, status, { error, error_description: description }, { Pragma: 'no-cache', ...headers });
}

/** Requested scope → granted list, or undefined when it asks for more than the role has. */
export function narrowScope(requested: unknown, granted: readonly string[]): string[] | undefined {
  if (requested === undefined || requested === '') return [...granted];
  const items = Array.isArray(requested) ? requested : typeof requested === 'string' ? requested.split(' ').filter(Boolean) : undefined;
  if (items === undefined || items.length > 32 || !items.every((s) => typeof s === 'string' && granted.includes(s))) return undefined;
  return [...new Set(items as string[])];
}

/**
 * The gate has judged a request that carries a session (it needs tokens:mint, which no token
 * carries, and its CSRF proof); credentials in the body are checked here like a login.
 */
export async function postToken(ctx: RequestContext): Promise<void> {
  const fields = ctx.fields as Fields;
  const username = stringField(fields, 'username');
  const password = stringField(fields, 'password');
  const grantType = stringField(fields, 'grant_type');
  let user: string;
  let role: Role;
  if (username !== undefined || password !== undefined || grantType !== undefined) {
    if (grantType !== undefined && grantType !== 'password') return oauthError(ctx, 400, 'unsupported_grant_type', 'only the password grant is supported');
    if (username === undefined || password === undefined || username.length > 64 || Buffer.byteLength(password) > 1024) {
      return oauthError(ctx, 400, 'invalid_request', 'username and password are required');
    }
    // Confirmed against the users table as it is now, in the same turn as the issue below.
    const outcome = ctx.deps.login.confirm(await ctx.deps.login.authenticate(username, password, ctx.clientAddress));
    ctx.deps.metrics.inc('logins_total', { result: outcome.result });
    if (outcome.result === 'throttled' || outcome.result === 'busy') {
      const retry = retryAfterSeconds(outcome.retryAfterMs);
      return oauthError(ctx, outcome.result === 'throttled' ? 429 : 503, outcome.result === 'throttled' ? 'slow_down' : 'temporarily_unavailable', `try again in ${retry} seconds`, { 'Retry-After': retry });
    }
    if (outcome.result !== 'success') {
      const known = ctx.deps.users.current().get(username) !== undefined;
      ctx.deps.log.warn('token_refused', { user: known ? username : '[unknown]', client: ctx.clientAddress });
      return oauthError(ctx, 400, 'invalid_grant', 'wrong user name or password');
    }
    if (outcome.mustChangePassword) return oauthError(ctx, 403, 'password_change_required', 'change the generated password first');
    user = outcome.user;
    role = outcome.role;
  } else {
    const session = ctx.resolution?.session;
    if (session === undefined) return oauthError(ctx, 401, 'invalid_client', 'credentials or a session are required', { 'WWW-Authenticate': 'Bearer realm="ringlet"' });
    user = session.user;
    role = session.role;
  }
  const mintable = grantsOf(ctx).tokenScope(role);
  const scope = narrowScope(fields.values['scope'], mintable);
  if (scope === undefined) return oauthError(ctx, 400, 'invalid_scope', `scope must be a subset of: ${mintable.join(' ')}`);
  // Per user, after authentication: a wrong password must not spend the real user's allowance.
  const allowance = ctx.deps.tokenRate.take(user);
  if (!allowance.ok) {
    const retry = retryAfterSeconds(allowance.retryAfterMs);
    ctx.deps.metrics.inc('tokens_refused_total', { reason: 'rate' });
    ctx.deps.log.warn('token_rate_limited', { user, client: ctx.clientAddress, retryAfterSeconds: Number(retry) });
    return oauthError(ctx, 429, 'slow_down', `at most ${ctx.deps.profile.tokenMintsPerUserPerMinute} tokens a minute; try again in ${retry} seconds`, { 'Retry-After': retry });
  }
  const issued = ctx.deps.sessions.issueToken(user, role, scope);
  ctx.deps.metrics.inc('tokens_issued_total');
  ctx.deps.log.info('token_issued', { user, jti: issued.jti, scope: scope.join(' '), client: ctx.clientAddress });
  sendJson(ctx.res, 200, {
    access_token: issued.token,
    token_type: 'Bearer',
    expires_in: issued.expiresInSeconds,
    scope: scope.join(' '),
  }, { Pragma: 'no-cache' });
}
