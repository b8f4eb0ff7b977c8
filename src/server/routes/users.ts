/**
 * Users admin (the route-policy table admits admins holding `users:read` / `users:write`):
 * list, add with a one-time password, change role, reset the password, remove. Each is a
 * form POST from the users page (confirmed first, see web/pages/users.ts) and the same
 * operation as JSON for API clients.
 *
 * Every change goes through the users store's locked read-modify-write, so a change made
 * meanwhile by `ringlet users` on the device is neither lost nor undone, and the last admin
 * is never removed or demoted (user-changes.ts checks it against the file as it is now).
 * Removing a user or changing their role ends their sessions at once: the server revokes
 * every user a change removes or re-roles (start.ts, on the store's `onChange`, whoever
 * wrote the change), and `update()` resolves once that revocation is durable. A password
 * reset is no such change (same user, same role), so its route revokes the sessions itself.
 * A one-time password is shown once, in the answer to the request that made it: never in
 * a URL, a log line or the page a redirect leads to.
 */
import { ConfigError, RingletError } from '../../errors.js';
import { isRole, ROLES, type Role } from '../../access/roles.js';
import {
  addUser, generatePassword, hashPassword, isValidUserName, MAX_USER_NAME_CHARS, removeUser, setUserHash, setUserRole, type UsersDb,
} from '../../users/index.js';
import {
  renderOneTimePasswordPage, renderUserConfirmPage, renderUsersPage, sendError, sendHtml, sendJson, sendRedirect, wantsHtml, type UserOperation, type UserRow,
} from '../../web/index.js';
import { holds } from '../gate.js';
import { sessionOf } from '../guards.js';
import { pageClock, siteOf } from '../page-frame.js';
import { stringField, type Fields } from '../request-body.js';
import { CLEAR_CACHE } from './logout.js';
import type { RequestContext } from '../context.js';
import type { Session } from '../../session/types.js';

const NAME_RULE = `user must be 1 to ${MAX_USER_NAME_CHARS} characters of A-Z a-z 0-9 . _ @ -`;
const ROLE_RULE = `role must be one of ${ROLES.join(', ')}`;

/** Live sessions per user (RAM mode), or undefined where the mode keeps no list (cookie mode). */
function sessionCounts(ctx: RequestContext): Map<string, number> | undefined {
  const listing = ctx.deps.sessions.list();
  if (listing === undefined) return undefined;
  const counts = new Map<string, number>();
  for (const s of listing) counts.set(s.user, (counts.get(s.user) ?? 0) + 1);
  return counts;
}

function rows(ctx: RequestContext): UserRow[] {
  const counts = sessionCounts(ctx);
  const nowMs = ctx.deps.clocks.wall.now();
  return ctx.deps.users.current().records().map((r) => {
    const ago = ctx.deps.signIns.agoMs(r.name);
    return {
      name: r.name,
      role: r.role,
      mustChangePassword: r.mustChangePassword,
      activeSessions: counts === undefined ? undefined : counts.get(r.name) ?? 0,
      lastSignInAtMs: ago === undefined ? undefined : nowMs - ago,
    };
  });
}

interface PageState {
  status?: number;
  notice?: string | undefined;
  alert?: string | undefined;
  error?: string | undefined;
  addName?: string | undefined;
  addRole?: string | undefined;
}

function usersPage(ctx: RequestContext, session: Session, state: PageState = {}): void {
  sendHtml(ctx.res, state.status ?? 200, renderUsersPage({
    site: siteOf(ctx),
    clock: pageClock(ctx),
    csrfToken: session.csrfToken ?? '',
    username: session.user,
    users: rows(ctx),
    roles: ROLES,
    canWrite: holds(ctx, session, 'users:write'),
    notice: state.notice,
    alert: state.alert,
    error: state.error,
    addName: state.addName,
    addRole: state.addRole,
  }));
}

/**
 * The message after a redirect (`/users?done=…&user=…`). Only fixed sentences, and only
 * when they are true of the table now: a crafted link cannot make the page claim that a
 * user who exists was removed.
 */
function doneNotice(ctx: RequestContext): string | undefined {
  const done = ctx.query.get('done');
  const user = ctx.query.get('user');
  if (done === null || !isValidUserName(user)) return undefined;
  const record = ctx.deps.users.current().get(user);
  if (done === 'removed' && record === undefined) return `${user} was removed; their sessions have ended.`;
  if (done === 'role' && record !== undefined) return `${user} is now ${record.role}; their sessions have ended.`;
  if (done === 'same' && record !== undefined) return `${user} already is ${record.role}; nothing changed.`;
  return undefined;
}

export function getUsers(ctx: RequestContext): void {
  const session = sessionOf(ctx);
  if (wantsHtml(ctx.req.headers.accept)) return usersPage(ctx, session, { notice: doneNotice(ctx) });
  const counts = sessionCounts(ctx);
  const clock = pageClock(ctx);
  sendJson(ctx.res, 200, {
    sessionsCounted: counts !== undefined,
    users: ctx.deps.users.current().records().map((r) => {
      const ago = ctx.deps.signIns.agoMs(r.name);
      const at = ago === undefined ? undefined : clock.nowMs - ago;
      return {
        name: r.name,
        role: r.role,
        mustChangePassword: r.mustChangePassword,
        activeSessions: counts === undefined ? null : counts.get(r.name) ?? 0,
        // Since this start only. A date only from a trusted wall clock (never "1970").
        lastSignInSecondsAgo: ago === undefined ? null : Math.floor(ago / 1000),
        lastSignInAt: at !== undefined && clock.wallTrusted && at >= clock.trustedFloorMs ? new Date(at).toISOString() : null,
      };
    }),
  });
}

/** A state change the gate has admitted (admin, `users:write`, CSRF) with its fields. */
interface Change {
  session: Session;
  fields: Fields;
  html: boolean;
}

function change(ctx: RequestContext): Change {
  const fields = ctx.fields as Fields;
  return { session: sessionOf(ctx), fields, html: fields.kind === 'form' };
}

/** A refusal: the users page with the reason on top (forms), or the JSON error. */
function refuse(ctx: RequestContext, c: Change, status: number, message: string, headers?: Record<string, string>): void {
  if (c.html) return usersPage(ctx, c.session, { status, alert: message });
  sendError(ctx.req, ctx.res, status, message, headers);
}

/** The named user, checked: undefined when the request was answered (400 or 404). */
function namedUser(ctx: RequestContext, c: Change): string | undefined {
  const user = stringField(c.fields, 'user');
  if (!isValidUserName(user)) {
    refuse(ctx, c, 400, NAME_RULE);
    return undefined;
  }
  if (ctx.deps.users.current().get(user) === undefined) {
    refuse(ctx, c, 404, `no user "${user}"`);
    return undefined;
  }
  return user;
}

/** Forms ask first (a stray tap must not remove a user); JSON clients have decided. */
function confirmed(ctx: RequestContext, c: Change, operation: UserOperation, user: string, role?: Role): boolean {
  if (!c.html || c.fields.values['confirm'] === 'yes') return true;
  const counts = sessionCounts(ctx);
  sendHtml(ctx.res, 200, renderUserConfirmPage({
    site: siteOf(ctx),
    csrfToken: c.session.csrfToken ?? '',
    username: c.session.user,
    operation,
    user,
    role,
    activeSessions: counts === undefined ? undefined : counts.get(user) ?? 0,
  }));
  return false;
}

/**
 * Applies one change under the users file's lock. Answers the request itself and returns
 * undefined when the change was refused: by the rule (409: the last admin, a taken name;
 * 404: the user went meanwhile), by a busy lock (503) or an unwritable file (503).
 */
async function applied(ctx: RequestContext, c: Change, user: string, apply: (db: UsersDb) => UsersDb): Promise<UsersDb | undefined> {
  try {
    return await ctx.deps.users.update(apply);
  } catch (err) {
    if (err instanceof RingletError && err.code === 'ERR_FILE_LOCKED') {
      refuse(ctx, c, 503, 'the users file is busy; try again', { 'Retry-After': '2' });
      return undefined;
    }
    if (err instanceof ConfigError && (err.field === 'name' || err.field === 'role')) {
      // The rule's own words ("\"admin\" is the last admin; add another admin first").
      const reason = err.message.slice(err.field.length + 2);
      const gone = ctx.deps.users.current().get(user) === undefined;
      refuse(ctx, c, gone ? 404 : 409, reason);
      return undefined;
    }
    if (err instanceof ConfigError) {
      ctx.deps.log.error('users_file_write_refused', { route: ctx.route, reason: err.message });
      refuse(ctx, c, 503, 'the users file cannot be written now; try again later', { 'Retry-After': '60' });
      return undefined;
    }
    throw err;
  }
}

/** A fresh one-time password and its hash, within the hashing bound; undefined when busy (answered). */
async function oneTimePassword(ctx: RequestContext, c: Change): Promise<{ password: string; hash: string } | undefined> {
  const password = generatePassword();
  try {
    return { password, hash: await ctx.deps.hashLimiter.run(() => hashPassword(password, ctx.deps.scryptCost)) };
  } catch (err) {
    if (err instanceof RingletError && err.code === 'ERR_HASHING_BUSY') {
      refuse(ctx, c, 503, 'the device is busy; try again', { 'Retry-After': '2' });
      return undefined;
    }
    throw err;
  }
}

/**
 * Ends every session of `user` issued up to now, this millisecond included (nothing is
 * issued to them after it), and waits until that is durable. The count in RAM mode,
 * undefined in cookie mode.
 */
async function endSessions(ctx: RequestContext, user: string): Promise<number | undefined> {
  const count = ctx.deps.sessions.revokeUser(user, { includeThisMillisecond: true });
  await ctx.deps.sessions.revocationsSettled();
  return count;
}

/** The user's live sessions before a change ends them (RAM mode), for the answer. */
function liveSessions(ctx: RequestContext, user: string): number | undefined {
  return sessionCounts(ctx)?.get(user) ?? (ctx.deps.sessions.mode === 'ram' ? 0 : undefined);
}

/** After a change that ended the caller's own session: the browser goes to the sign-in page. */
function signedOut(ctx: RequestContext): void {
  sendRedirect(ctx.res, 303, '/login?loggedout=1', { 'Clear-Site-Data': CLEAR_CACHE });
}

export async function postAddUser(ctx: RequestContext): Promise<void> {
  const c = change(ctx);
  const user = stringField(c.fields, 'user');
  const roleField = c.fields.values['role'];
  const role = roleField === undefined ? 'viewer' : roleField;
  const refuseAdd = (status: number, message: string, headers?: Record<string, string>) => {
    if (c.html) return usersPage(ctx, c.session, { status, error: message, addName: user?.slice(0, MAX_USER_NAME_CHARS), addRole: isRole(role) ? role : undefined });
    sendError(ctx.req, ctx.res, status, message, headers);
  };
  if (!isValidUserName(user)) return refuseAdd(400, NAME_RULE);
  if (!isRole(role)) return refuseAdd(400, ROLE_RULE);
  const taken = ctx.deps.users.current().canonicalName(user);
  if (taken !== undefined) return refuseAdd(409, `user "${taken}" already exists`);
  const made = await oneTimePassword(ctx, c);
  if (made === undefined) return;
  let added: UsersDb;
  try {
    added = await ctx.deps.users.update((db) => addUser(db, { name: user, role, hash: made.hash, mustChangePassword: true }));
  } catch (err) {
    if (err instanceof ConfigError && (err.field === 'name' || err.field === 'role')) return refuseAdd(409, err.message.slice(err.field.length + 2));
    if (err instanceof RingletError && err.code === 'ERR_FILE_LOCKED') return refuseAdd(503, 'the users file is busy; try again', { 'Retry-After': '2' });
    if (err instanceof ConfigError) {
      ctx.deps.log.error('users_file_write_refused', { route: ctx.route, reason: err.message });
      return refuseAdd(503, 'the users file cannot be written now; try again later', { 'Retry-After': '60' });
    }
    throw err;
  }
  // A user once removed under this name never signed in as this user.
  ctx.deps.signIns.forget(user);
  // Credentials of an earlier user of this name stay dead even if that user was removed
  // while the server was not running (a file edited offline: no change event saw it).
  await endSessions(ctx, user);
  ctx.deps.log.info('user_added', { by: c.session.user, user, role, users: added.size });
  if (c.html) {
    return sendHtml(ctx.res, 201, renderOneTimePasswordPage({
      site: siteOf(ctx), csrfToken: c.session.csrfToken ?? '', username: c.session.user,
      notice: `${user} was added as ${role}.`, user, password: made.password,
    }));
  }
  sendJson(ctx.res, 201, { user, role, mustChangePassword: true, oneTimePassword: made.password });
}

export async function postUserRole(ctx: RequestContext): Promise<void> {
  const c = change(ctx);
  const role = c.fields.values['role'];
  if (!isRole(role)) return refuse(ctx, c, 400, ROLE_RULE);
  const user = namedUser(ctx, c);
  if (user === undefined || !confirmed(ctx, c, 'role', user, role)) return;
  if (ctx.deps.users.current().get(user)?.role === role) {
    if (c.html) return sendRedirect(ctx.res, 303, `/users?done=same&user=${encodeURIComponent(user)}`);
    return sendJson(ctx.res, 200, { user, role, changed: false, endedSessions: 0 });
  }
  const ended = liveSessions(ctx, user);
  // The store's change listener revokes a re-roled user's sessions before update() resolves.
  if ((await applied(ctx, c, user, (db) => setUserRole(db, user, role))) === undefined) return;
  ctx.deps.log.info('user_role_changed', { by: c.session.user, user, role, endedSessions: ended ?? 'all' });
  if (c.html) return user === c.session.user ? signedOut(ctx) : sendRedirect(ctx.res, 303, `/users?done=role&user=${encodeURIComponent(user)}`);
  sendJson(ctx.res, 200, { user, role, changed: true, endedSessions: ended ?? null });
}

export async function postResetUser(ctx: RequestContext): Promise<void> {
  const c = change(ctx);
  const user = namedUser(ctx, c);
  if (user === undefined || !confirmed(ctx, c, 'reset', user)) return;
  const made = await oneTimePassword(ctx, c);
  if (made === undefined) return;
  if ((await applied(ctx, c, user, (db) => setUserHash(db, user, made.hash, { mustChangePassword: true }))) === undefined) return;
  // Whoever holds the old password (or a session made with it) is out at once.
  const ended = await endSessions(ctx, user);
  ctx.deps.log.info('user_password_reset', { by: c.session.user, user, endedSessions: ended ?? 'all' });
  if (c.html) {
    if (user === c.session.user) return signedOut(ctx);
    return sendHtml(ctx.res, 200, renderOneTimePasswordPage({
      site: siteOf(ctx), csrfToken: c.session.csrfToken ?? '', username: c.session.user,
      notice: `The password of ${user} was reset; their sessions have ended.`, user, password: made.password,
    }));
  }
  sendJson(ctx.res, 200, { user, mustChangePassword: true, oneTimePassword: made.password, endedSessions: ended ?? null });
}

export async function postRemoveUser(ctx: RequestContext): Promise<void> {
  const c = change(ctx);
  const user = namedUser(ctx, c);
  if (user === undefined || !confirmed(ctx, c, 'remove', user)) return;
  const ended = liveSessions(ctx, user);
  // The store's change listener revokes a removed user's sessions before update() resolves.
  const left = await applied(ctx, c, user, (db) => removeUser(db, user));
  if (left === undefined) return;
  ctx.deps.signIns.forget(user);
  ctx.deps.log.info('user_removed', { by: c.session.user, user, endedSessions: ended ?? 'all', users: left.size });
  if (c.html) return user === c.session.user ? signedOut(ctx) : sendRedirect(ctx.res, 303, `/users?done=removed&user=${encodeURIComponent(user)}`);
  sendJson(ctx.res, 200, { user, removed: true, endedSessions: ended ?? null });
}
