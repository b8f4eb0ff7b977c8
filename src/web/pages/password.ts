/** The change-password form (GET /password, and again after a refused POST /password). */
import { escapeHtml } from './escape.js';
import { describedByError, errorBlock, hiddenInput, renderLayout, type PageFrame } from './layout.js';

export interface PasswordPageOptions extends PageFrame {
  csrfToken: string;
  /** Where to go afterwards; pass it through `safeNextPath` first. */
  next: string;
  /** The user must change a generated password before doing anything else. */
  forced: boolean;
  error?: string | undefined;
  /** The signed-in user: a hidden `username` field lets password managers file the new password. */
  username: string;
  /** `minlength` of the new-password fields (default 8); keep it equal to the server's policy. */
  minLength?: number | undefined;
}

const DEFAULT_MIN_LENGTH = 8;

/** Render the change-password page. */
export function renderPasswordPage(options: PasswordPageOptions): string {
  const min = options.minLength !== undefined && Number.isSafeInteger(options.minLength) && options.minLength > 0
    ? options.minLength
    : DEFAULT_MIN_LENGTH;
  const hasError = options.error !== undefined && options.error !== '';
  const described = describedByError(hasError);
  const hintId = 'new-password-hint';
  const forced = options.forced
    ? '<p role="status">You must choose a new password before continuing.</p>'
    : '';
  const body = `<h1>Change password</h1>${forced}${errorBlock(options.error)}`
    + '<form method="post" action="/password">'
    + hiddenInput('csrf', options.csrfToken) + hiddenInput('next', options.next)
    // A text input made invisible with the `hidden` attribute (not type=hidden) is what the
    // Chromium "password forms" guide describes: password managers file the new password
    // under this user name; users and assistive technology never see it.
    + `<input type="text" name="username" value="${escapeHtml(options.username)}" autocomplete="username" readonly hidden>`
    + '<label for="current_password">Current password</label>'
    + `<input id="current_password" name="current_password" type="password" autocomplete="current-password" required autofocus${described}>`
    + '<label for="new_password">New password</label>'
    + `<input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="${min}" required aria-describedby="${hintId}${hasError ? ' form-error' : ''}"${hasError ? ' aria-invalid="true"' : ''}>`
    + `<p id="${hintId}" class="muted">At least ${min} characters.</p>`
    + '<label for="confirm_password">Repeat the new password</label>'
    + `<input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" minlength="${min}" required${described}>`
    + '<label class="check"><input type="checkbox" name="end_other_sessions" value="on" checked> Sign out my other sessions</label>'
    + '<button type="submit">Change password</button></form>';
  return renderLayout({
    title: `${hasError ? 'Error: ' : ''}Change password`,
    site: options.site,
    body,
    account: { username: options.username, csrfToken: options.csrfToken },
    homeLink: !options.forced,
  });
}
