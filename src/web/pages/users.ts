/**
 * The users page for admins (GET /users): who may sign in, with what role, whether they
 * must still change a generated password, their live sessions and last sign-in; and the
 * operations on them — add, change role, reset the password, remove — as plain form POSTs.
 *
 * Bytes: the CSRF token is written once per operation, not once per row. Each operation
 * has one empty form (its CSRF token, and for a role change the role) outside the table;
 * a row's buttons name it with the `form` attribute and submit their own `user`. Works
 * without JavaScript; a 20-user table stays a few KB.
 *
 * A destructive operation from a form first shows {@link renderUserConfirmPage}: a stray
 * tap on a phone must not remove a user. Its result is a short status message, or, when a
 * one-time password was made, {@link renderOneTimePasswordPage}, which shows it once.
 */
import { escapeHtml } from './escape.js';
import { describedByError, errorBlock, hiddenInput, noticeBlock, renderLayout, type PageFrame } from './layout.js';
import { tableStart, USERS_TABLE } from './table.js';
import { timeHtml, type PageClock } from './time.js';

export interface UserRow {
  name: string;
  role: string;
  /** A generated password that must be changed at the next sign-in. */
  mustChangePassword: boolean;
  /** Live sessions; undefined where the mode cannot count them (cookie mode). */
  activeSessions: number | undefined;
  /** Last sign-in (wall-clock estimate, ms), known since the server started; undefined = none known. */
  lastSignInAtMs: number | undefined;
}

/** The operations a row offers, each posting to its own route. */
export type UserOperation = 'role' | 'reset' | 'remove';

export interface UsersPageOptions extends PageFrame {
  clock: PageClock;
  csrfToken: string;
  /** The signed-in admin. */
  username: string;
  users: readonly UserRow[];
  /** Every role, in the order offered. */
  roles: readonly string[];
  /** The caller may change users (`users:write`); otherwise the page only lists. */
  canWrite: boolean;
  /** Outcome of the last operation (`role="status"`). */
  notice?: string | undefined;
  /** Why an operation on a listed user was refused (`role="alert"`, at the top). */
  alert?: string | undefined;
  /** Why the add form was refused (`role="alert"` by the form, referenced by its inputs). */
  error?: string | undefined;
  /** The add form's values to show again after a refusal. */
  addName?: string | undefined;
  addRole?: string | undefined;
}

/** `id` of the empty form that carries one operation's CSRF token (and a role change's role). */
export function operationFormId(operation: UserOperation, role?: string): string {
  return role === undefined ? `op-${operation}` : `op-${operation}-${role}`;
}

const ROUTE: Readonly<Record<UserOperation, string>> = { role: '/users/role', reset: '/users/reset', remove: '/users/remove' };

function operationForm(csrfToken: string, operation: UserOperation, role?: string): string {
  return `<form id="${escapeHtml(operationFormId(operation, role))}" method="post" action="${ROUTE[operation]}">${hiddenInput('csrf', csrfToken)}`
    + `${role === undefined ? '' : hiddenInput('role', role)}</form>`;
}

function rowButton(form: string, user: string, label: string): string {
  // A button submits by default; its look comes from `td button` (bytes per row).
  return `<button form="${escapeHtml(form)}" name="user" value="${escapeHtml(user)}">${label}<span class="vh"> ${escapeHtml(user)}</span></button>`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function rowActions(options: UsersPageOptions, row: UserRow, admins: number): string {
  const lastAdmin = row.role === 'admin' && admins <= 1;
  const buttons: string[] = [];
  // The only admin is neither demoted nor removed (the server refuses it too, whatever the page showed).
  if (!lastAdmin) {
    for (const role of options.roles) {
      if (role !== row.role) buttons.push(rowButton(operationFormId('role', role), row.name, `Make ${escapeHtml(role)}`));
    }
  }
  // One's own password is changed, not reset: a reset would end this very session.
  if (row.name === options.username) buttons.push('<a href="/password">Change password</a>');
  else buttons.push(rowButton(operationFormId('reset'), row.name, 'Reset password'));
  if (!lastAdmin) buttons.push(rowButton(operationFormId('remove'), row.name, 'Remove'));
  else buttons.push('<span class="muted">The only admin</span>');
  return `<div class="actions">${buttons.join('')}</div>`;
}

function usersTable(options: UsersPageOptions): string {
  const admins = options.users.filter((u) => u.role === 'admin').length;
  const rows = options.users.map((row) => '<tr>'
    + `<th scope="row">${escapeHtml(row.name)}${row.name === options.username ? ' <span class="muted">(you)</span>' : ''}</th>`
    + `<td>${escapeHtml(row.role)}</td>`
    + `<td>${row.mustChangePassword ? 'must change' : 'set'}</td>`
    + `<td>${row.activeSessions === undefined ? '<span class="muted">not counted</span>' : row.activeSessions === 0 ? 'none' : `${row.activeSessions} active`}</td>`
    + `<td>${timeHtml(row.lastSignInAtMs, options.clock)}</td>`
    + `<td>${options.canWrite ? rowActions(options, row, admins) : ''}</td></tr>`).join('');
  return `${tableStart(USERS_TABLE, `Users (${options.users.length})`)}<tbody>${rows}</tbody></table>`;
}

/** The add form: a name, a role (viewer first: the least a new user needs), one button. */
function addForm(options: UsersPageOptions): string {
  const hasError = options.error !== undefined && options.error !== '';
  const described = describedByError(hasError);
  const chosen = options.addRole ?? (options.roles.includes('viewer') ? 'viewer' : options.roles[0]);
  const choices = options.roles.map((role) => `<option value="${escapeHtml(role)}"${role === chosen ? ' selected' : ''}>${escapeHtml(role)}</option>`).join('');
  return `<h2 id="add-heading">Add a user</h2>${errorBlock(options.error)}`
    + `<form class="fields" method="post" action="/users/add" aria-labelledby="add-heading">${hiddenInput('csrf', options.csrfToken)}`
    + '<div><label for="new-name">User name</label>'
    + `<input id="new-name" name="user" type="text" value="${escapeHtml(options.addName ?? '')}" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="64" pattern="[A-Za-z0-9._@\\-]{1,64}" required aria-describedby="new-name-hint${hasError ? ' form-error' : ''}"${hasError ? ' aria-invalid="true"' : ''}></div>`
    + `<div><label for="new-role">Role</label><select id="new-role" name="role"${described}>${choices}</select></div>`
    + '<div><button type="submit">Add user</button></div></form>'
    + '<p id="new-name-hint" class="muted">Letters, digits and . _ @ - (up to 64). A one-time password is made for them and shown once; they choose their own at the first sign-in.</p>';
}

/** Render the users page. */
export function renderUsersPage(options: UsersPageOptions): string {
  const alert = options.alert !== undefined && options.alert !== '' ? `<p role="alert">${escapeHtml(options.alert)}</p>` : '';
  let body = `<h1>Users</h1>${alert}${noticeBlock(options.notice)}`;
  if (options.canWrite) {
    body += options.roles.map((role) => operationForm(options.csrfToken, 'role', role)).join('')
      + operationForm(options.csrfToken, 'reset') + operationForm(options.csrfToken, 'remove');
  }
  body += usersTable(options);
  if (options.users.some((u) => u.activeSessions === undefined)) {
    body += '<p class="muted">Cookie mode keeps no list of sessions, so they are not counted; removing a user or changing their role still ends them all.</p>';
  }
  if (options.canWrite) body += addForm(options);
  return renderLayout({
    title: `${options.error || options.alert ? 'Error: ' : ''}Users`,
    site: options.site,
    body,
    account: { username: options.username, csrfToken: options.csrfToken },
    homeLink: true,
    wide: true,
  });
}

export interface UserConfirmPageOptions extends PageFrame {
  csrfToken: string;
  username: string;
  operation: UserOperation;
  /** The user the operation is about. */
  user: string;
  /** For a role change: the new role. */
  role?: string | undefined;
  /** Their live sessions, when known: said in the question so the admin knows what ends. */
  activeSessions: number | undefined;
}

function endsSessions(user: string, sessions: number | undefined): string {
  if (sessions === 0) return '';
  const what = sessions === undefined ? 'Their sessions end' : `Their ${count(sessions, 'session')} end${sessions === 1 ? 's' : ''}`;
  return ` ${what} at once.`;
}

/**
 * "Remove alice?": what will happen, and two buttons — the operation (posting the same
 * fields with `confirm=yes`) and a way back that changes nothing.
 */
export function renderUserConfirmPage(options: UserConfirmPageOptions): string {
  const user = escapeHtml(options.user);
  const ends = endsSessions(options.user, options.activeSessions);
  const copy: Record<UserOperation, [string, string, string]> = {
    role: [`Make ${user} ${escapeHtml(options.role ?? '')}?`, `${user} will sign in as ${escapeHtml(options.role ?? '')} from now on.${ends}`, `Make ${user} ${escapeHtml(options.role ?? '')}`],
    reset: [`Reset the password of ${user}?`, `Their password stops working and a one-time password is shown once, for you to give them; they choose a new one when they next sign in.${ends}`, 'Reset password'],
    remove: [`Remove ${user}?`, `${user} can no longer sign in.${ends}`, `Remove ${user}`],
  };
  const [question, consequence, action] = copy[options.operation];
  const body = `<h1>${question}</h1><p>${consequence}</p>`
    + `<form class="actions" method="post" action="${ROUTE[options.operation]}">${hiddenInput('csrf', options.csrfToken)}${hiddenInput('user', options.user)}`
    + `${options.role === undefined ? '' : hiddenInput('role', options.role)}${hiddenInput('confirm', 'yes')}`
    + `<button type="submit">${action}</button><a class="button" href="/users">Cancel</a></form>`;
  return renderLayout({
    title: options.operation === 'remove' ? `Remove ${options.user}?` : options.operation === 'reset' ? `Reset password of ${options.user}?` : `Change role of ${options.user}?`,
    site: options.site,
    body,
    account: { username: options.username, csrfToken: options.csrfToken },
    homeLink: true,
  });
}

export interface OneTimePasswordPageOptions extends PageFrame {
  csrfToken: string;
  username: string;
  /** What happened, said first ("alice was added as viewer."). */
  notice: string;
  /** The user the password is for. */
  user: string;
  /** The generated password: on this page once, nowhere else (not in a URL, a log or the file). */
  password: string;
}

/** The one page that ever shows a generated password, right after it was made. */
export function renderOneTimePasswordPage(options: OneTimePasswordPageOptions): string {
  const user = escapeHtml(options.user);
  const body = `<h1>One-time password for ${user}</h1>${noticeBlock(options.notice)}`
    + `<dl><dt>User</dt><dd>${user}</dd><dt>One-time password</dt><dd class="otp">${escapeHtml(options.password)}</dd></dl>`
    + `<p>Shown only this once: give it to ${user} by hand or over a channel you trust. They must choose their own password when they first sign in with it.</p>`
    + '<p><a href="/users">Back to users</a></p>';
  return renderLayout({
    title: `One-time password for ${options.user}`,
    site: options.site,
    body,
    account: { username: options.username, csrfToken: options.csrfToken },
    homeLink: true,
  });
}
