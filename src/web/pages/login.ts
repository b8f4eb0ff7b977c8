/** The sign-in form (GET /login, and again after a refused POST /login). */
import { escapeHtml } from './escape.js';
import { describedByError, errorBlock, hiddenInput, noticeBlock, renderLayout, type PageFrame } from './layout.js';

export interface LoginPageOptions extends PageFrame {
  /** Where to go after signing in; pass it through `safeNextPath` first. */
  next: string;
  /** The signed double-submit token for the form's `csrf` field. */
  csrfToken: string;
  /** Pre-fills the user name (kept after a wrong password). */
  username?: string | undefined;
  /** Shown with `role="alert"` and referenced by the inputs' `aria-describedby`. */
  error?: string | undefined;
  /** A non-error message, such as "You have been signed out." */
  notice?: string | undefined;
}

/**
 * Render the login page. Focus starts on the first empty field.
 *
 * @example
 * sendHtml(res, 200, renderLoginPage({ next: '/', csrfToken: token }));
 */
export function renderLoginPage(options: LoginPageOptions): string {
  const username = options.username ?? '';
  const hasError = options.error !== undefined && options.error !== '';
  const described = describedByError(hasError);
  const body = `<h1>Sign in</h1>${errorBlock(options.error)}${noticeBlock(options.notice)}`
    + '<form method="post" action="/login">'
    + hiddenInput('csrf', options.csrfToken) + hiddenInput('next', options.next)
    + '<label for="username">User name</label>'
    + `<input id="username" name="username" type="text" value="${escapeHtml(username)}" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="64" required${username === '' ? ' autofocus' : ''}${described}>`
    + '<label for="password">Password</label>'
    + `<input id="password" name="password" type="password" autocomplete="current-password" required${username === '' ? '' : ' autofocus'}${described}>`
    + '<button type="submit">Sign in</button></form>';
  return renderLayout({ title: `${hasError ? 'Error: ' : ''}Sign in`, site: options.site, body });
}
