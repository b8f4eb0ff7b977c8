/**
 * The page shell shared by every page: document head (viewport, the one hashed style),
 * an account bar with a logout form on authenticated pages, and small form helpers.
 * Page modules pass already-escaped HTML as `body`; every value they interpolate goes
 * through {@link escapeHtml}.
 */
import { escapeHtml } from './escape.js';
import { PAGE_STYLE } from './style.js';

/** Who is signed in, for the account bar (and its logout form) on authenticated pages. */
export interface PageAccount {
  username: string;
  csrfToken: string;
}

export interface LayoutOptions {
  /** Plain text; escaped here. */
  title: string;
  /** Trusted HTML for `<main>`, built from escaped values. */
  body: string;
  /** Present on authenticated pages: shows the user and a logout form. */
  account?: PageAccount | undefined;
  /** Adds a link back to the landing page in the account bar. */
  homeLink?: boolean;
}

/** `<input type="hidden">` with an escaped value. */
export function hiddenInput(name: string, value: string, extra = ''): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}"${extra}>`;
}

/** The logout form (POST /logout with the session's CSRF token); on every authenticated page. */
export function logoutForm(csrfToken: string): string {
  return `<form class="inline" method="post" action="/logout">${hiddenInput('csrf', csrfToken)}<button class="secondary" type="submit">Sign out</button></form>`;
}

/** Id of the element holding a form error; inputs reference it with `aria-describedby`. */
export const FORM_ERROR_ID = 'form-error';

/** An error message announced to assistive technology (`role="alert"`), or '' for none. */
export function errorBlock(message: string | undefined): string {
  if (message === undefined || message === '') return '';
  return `<p id="${FORM_ERROR_ID}" role="alert">${escapeHtml(message)}</p>`;
}

/** A non-error message (`role="status"`), or '' for none. */
export function noticeBlock(message: string | undefined): string {
  if (message === undefined || message === '') return '';
  return `<p role="status">${escapeHtml(message)}</p>`;
}

/** Attributes tying an input to the form error when there is one. */
export function describedByError(hasError: boolean): string {
  return hasError ? ` aria-describedby="${FORM_ERROR_ID}" aria-invalid="true"` : '';
}

function accountBar(account: PageAccount, homeLink: boolean): string {
  const home = homeLink ? '<a href="/">Home</a>' : '';
  return `<header><nav aria-label="Account">${home}<span class="muted"> Signed in as <strong>${escapeHtml(account.username)}</strong></span></nav>${logoutForm(account.csrfToken)}</header>`;
}

/** A complete HTML document: no script, one inline style covered by `PAGE_CSP`. */
export function renderLayout(options: LayoutOptions): string {
  const header = options.account === undefined ? '' : accountBar(options.account, options.homeLink ?? false);
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    + '<meta name="viewport" content="width=device-width, initial-scale=1">'
    // Not no-referrer: that makes form POSTs carry `Origin: null` (see REFERRER_POLICY).
    + '<meta name="referrer" content="same-origin"><meta name="robots" content="noindex, nofollow">'
    + `<title>${escapeHtml(options.title)}</title><style>${PAGE_STYLE}</style></head>`
    + `<body>${header}<main id="main">${options.body}</main></body></html>`;
}
