/**
 * The sessions page: a table of live sessions with a revoke button per row, per-user
 * "sign out all" forms for admins, and "sign out everywhere" for the signed-in user.
 * Never shows a session id or CSRF secret: rows carry only the non-secret `ref`.
 */
import { escapeHtml } from './escape.js';
import { hiddenInput, noticeBlock, renderLayout, type PageFrame } from './layout.js';
import { SESSIONS_TABLE, tableStart } from './table.js';
import { timeHtml, type PageClock } from './time.js';

export interface SessionRow {
  /** Non-secret handle the revoke form posts back. */
  ref: string;
  user: string;
  role: string;
  /** Wall-clock estimates (ms); undefined or NaN when unknown. */
  createdAtMs?: number | undefined;
  lastSeenAtMs?: number | undefined;
  clientAddress?: string | undefined;
  /** The session viewing the page. */
  current: boolean;
}

export interface SessionsPageOptions extends PageFrame {
  csrfToken: string;
  /** Now, and whether dates may be shown (see time.ts). */
  clock: PageClock;
  sessions: readonly SessionRow[];
  isAdmin: boolean;
  /** The signed-in user. */
  username: string;
  /** False in cookie mode: nothing is stored, so there is no list to show. */
  listAvailable: boolean;
  /** Shown as a status message (e.g. why there is no list). */
  note?: string | undefined;
  /** Rows rendered at most (default 100), so the page stays bounded on a full store. */
  maxRows?: number | undefined;
}

const DEFAULT_MAX_ROWS = 100;

/**
 * A row's revoke button. All rows share one form (its `csrf` field once, not per row: a
 * third of the page on a busy table); the pressed button submits its own `ref`.
 */
function revokeButton(row: SessionRow): string {
  const label = row.current ? 'Sign out' : 'Revoke';
  const context = row.current ? ' this session' : ` session of ${escapeHtml(row.user)}${row.clientAddress ? ` from ${escapeHtml(row.clientAddress)}` : ''}`;
  return `<button name="ref" value="${escapeHtml(row.ref)}">${label}<span class="vh">${context}</span></button>`;
}

function revokeUserForm(csrfToken: string, user: string, label: string, secondary = false): string {
  return `<form method="post" action="/sessions/revoke-user">${hiddenInput('csrf', csrfToken)}${hiddenInput('user', user)}`
    + `<button${secondary ? ' class="secondary"' : ''} type="submit">${label}</button></form>`;
}

function sessionTable(options: SessionsPageOptions, maxRows: number): string {
  const shown = options.sessions.slice(0, maxRows);
  const rows = shown.map((row) => '<tr>'
    + `<th scope="row">${escapeHtml(row.user)}${row.current ? ' <span class="muted">(this session)</span>' : ''}</th>`
    + `<td>${escapeHtml(row.role)}</td><td>${timeHtml(row.createdAtMs, options.clock)}</td><td>${timeHtml(row.lastSeenAtMs, options.clock)}</td>`
    + `<td>${row.clientAddress ? escapeHtml(row.clientAddress) : '<span class="muted">unknown</span>'}</td>`
    + `<td>${revokeButton(row)}</td></tr>`).join('');
  const total = options.sessions.length;
  const caption = total === 0
    ? 'No active sessions'
    : total > shown.length ? `Active sessions (showing ${shown.length} of ${total})` : `Active sessions (${total})`;
  // No scroll region: the table fits a desktop and stacks on a phone (table.ts).
  return `<form method="post" action="/sessions/revoke">${hiddenInput('csrf', options.csrfToken)}`
    + `${tableStart(SESSIONS_TABLE, caption)}<tbody>${rows}</tbody></table></form>`;
}

/** Distinct users in first-seen order, the signed-in user excluded (they get their own form). */
function otherUsers(options: SessionsPageOptions): string[] {
  const seen = new Set<string>();
  for (const row of options.sessions) if (row.user !== options.username) seen.add(row.user);
  return [...seen];
}

/** Render the sessions page. */
export function renderSessionsPage(options: SessionsPageOptions): string {
  const maxRows = options.maxRows !== undefined && Number.isSafeInteger(options.maxRows) && options.maxRows >= 0
    ? options.maxRows
    : DEFAULT_MAX_ROWS;
  let body = `<h1>Sessions</h1>${noticeBlock(options.note)}`;
  if (options.listAvailable) {
    body += sessionTable(options, maxRows);
    if (options.isAdmin) {
      const users = otherUsers(options);
      if (users.length > 0) {
        body += '<h2>Other users</h2><div class="actions">'
          + users.map((user) => revokeUserForm(options.csrfToken, user, `Sign out all of ${escapeHtml(user)}`, true)).join('') + '</div>';
      }
    }
  }
  body += '<h2>Everywhere</h2><p>Ends all of your sessions, this one included.</p>'
    + revokeUserForm(options.csrfToken, options.username, 'Sign out everywhere');
  return renderLayout({
    title: 'Sessions',
    site: options.site,
    body,
    account: { username: options.username, csrfToken: options.csrfToken },
    homeLink: true,
    wide: true,
  });
}
