/**
 * GET/POST /password: change the signed-in user's password. The current password is checked
 * through the login service (throttled, bounded hashing); afterwards the browser gets a
 * fresh session, and the user's other sessions end when asked (the default).
 */
import { checkNewPassword, hashPassword, MIN_NEW_PASSWORD_CHARS, setUserHash } from '../../users/index.js';
import { ConfigError, RingletError } from '../../errors.js';
import { renderPasswordPage, retryAfterSeconds, safeNextPath, sendError, sendHtml, sendJson, sendRedirect } from '../../web/index.js';
import { sessionCookie } from '../cookies.js';
import { passwordChangeRequired, sessionOf } from '../guards.js';
import { stringField, type Fields } from '../request-body.js';
import type { RequestContext } from '../context.js';
import { siteOf } from '../page-frame.js';
import type { Session } from '../../session/types.js';

function page(ctx: RequestContext, session: Session, status: number, next: string, error?: string): void {
  sendHtml(ctx.res, status, renderPasswordPage({
    site: siteOf(ctx),
    csrfToken: session.csrfToken ?? '',
    next,
    forced: passwordChangeRequired(ctx, session),
    error,
    username: session.user,
    // The form's hint must match the rule the server enforces, or the browser accepts what we refuse.
    minLength: MIN_NEW_PASSWORD_CHARS,
  }));
}

export function getPassword(ctx: RequestContext): void {
  page(ctx, sessionOf(ctx), 200, safeNextPath(ctx.query.get('next')));
}

export async function postPassword(ctx: RequestContext): Promise<void> {
  const session = sessionOf(ctx);
  const fields = ctx.fields as Fields;
  const html = fields.kind === 'form';
  const next = safeNextPath(fields.values['next']);
  const current = stringField(fields, html ? 'current_password' : 'currentPassword');
  const fresh = stringField(fields, html ? 'new_password' : 'newPassword');
  const confirm = html ? stringField(fields, 'confirm_password') : fresh;
  const endOthersRaw = fields.values[html ? 'end_other_sessions' : 'endOtherSessions'];
  const endOthers = html ? endOthersRaw === 'on' || endOthersRaw === '1' : endOthersRaw !== false;
  const refuse = (status: number, message: string, headers?: Record<string, string>) =>
    html ? page(ctx, session, status, next, message) : sendError(ctx.req, ctx.res, status, message, headers);

  if (current === undefined || fresh === undefined || confirm === undefined) return refuse(400, 'current and new password are required');
  if (fresh !== confirm) return refuse(400, 'the new passwords do not match');
  // No hash upgrade: the new password's hash, at the profile's cost, is written below.
  // Confirmed against the table as it is now: a password reset meanwhile wins.
  const outcome = ctx.deps.login.confirm(await ctx.deps.login.authenticate(session.user, current, ctx.clientAddress, { upgradeHash: false }));
  if (outcome.result === 'throttled' || outcome.result === 'busy') {
    const retry = retryAfterSeconds(outcome.retryAfterMs);
    return refuse(outcome.result === 'throttled' ? 429 : 503, `try again in ${retry} seconds`, { 'Retry-After': retry });
  }
  if (outcome.result !== 'success') return refuse(403, 'the current password is wrong');
  // The hash the current password was just verified against: written over only if it is still the user's.
  const verifiedHash = ctx.deps.users.current().get(session.user)?.hash;
  const weakness = checkNewPassword(fresh, { username: session.user, previous: current });
  if (weakness !== undefined) return refuse(400, weakness);

  let hash: string;
  try {
    hash = await ctx.deps.hashLimiter.run(() => hashPassword(fresh, ctx.deps.scryptCost));
  } catch (err) {
    if (err instanceof RingletError && err.code === 'ERR_HASHING_BUSY') return refuse(503, 'the device is busy; try again', { 'Retry-After': '2' });
    throw err;
  }
  try {
    // Applied to the file as it is now (locked read-modify-write): others' changes stay,
    // and a user removed meanwhile is not brought back.
    const write = (expectedHash: string | undefined) =>
      ctx.deps.users.update((db) => setUserHash(db, session.user, hash, { mustChangePassword: false, expectedHash }));
    try {
      await write(verifiedHash);
    } catch (err) {
      // The hash moved while the new one was computed: the same password re-hashed (a hash
      // upgrade at another login) keeps this change; a new password set by someone else wins.
      if (!(err instanceof ConfigError && err.field === 'hash' && verifiedHash !== undefined)) throw err;
      const now = await ctx.deps.login.reverify(session.user, verifiedHash, current);
      if (now === undefined) throw err;
      await write(now);
    }
  } catch (err) {
    if (err instanceof RingletError && err.code === 'ERR_HASHING_BUSY') return refuse(503, 'the device is busy; try again', { 'Retry-After': '2' });
    if (err instanceof RingletError && err.code === 'ERR_FILE_LOCKED') return refuse(503, 'the users file is busy; try again', { 'Retry-After': '2' });
    // Removed, or the password set by someone else meanwhile (whose change revoked this session).
    if (err instanceof ConfigError && (err.field === 'name' || err.field === 'hash')) return refuse(401, 'sign in required');
    if (err instanceof ConfigError) {
      ctx.deps.log.error('users_file_write_refused', { route: ctx.route, reason: err.message });
      return refuse(503, 'the users file cannot be written now; try again later', { 'Retry-After': '60' });
    }
    throw err;
  }
  if (endOthers) ctx.deps.sessions.revokeUser(session.user);
  else ctx.deps.sessions.revoke(session);
  await ctx.deps.sessions.revocationsSettled();
  const issued = ctx.deps.sessions.issue(session.user, session.role, ctx.clientAddress);
  ctx.deps.log.info('password_changed', { user: session.user, endedOtherSessions: endOthers, client: ctx.clientAddress });
  const cookie = sessionCookie(ctx.deps.cookies, issued.cookieValue);
  if (html) return sendRedirect(ctx.res, 303, next, { 'Set-Cookie': cookie });
  sendJson(ctx.res, 200, { changed: true, endedOtherSessions: endOthers, csrfToken: issued.session.csrfToken }, { 'Set-Cookie': cookie });
}
