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

/** The device's name when none is configured (the server defaults it to the host name). */
export const DEFAULT_SITE_NAME = 'ringlet';

/** What every page may be told besides its own content. */
export interface PageFrame {
  /**
   * The device's name (`--device-name`, default the host name): heads every page and ends
   * every title, so a person with five routers open knows which one they are signing in to.
   * Plain text; escaped here. Default {@link DEFAULT_SITE_NAME}.
   */
  site?: string | undefined;
}

export interface LayoutOptions extends PageFrame {
  /** The page's own part of the title, plain text ("Sessions"); the device's name is added. */
  title: string;
  /** Trusted HTML for `<main>`, built from escaped values. */
  body: string;
  /** Present on authenticated pages: shows the user and a logout form. */
  account?: PageAccount | undefined;
  /** Adds a link back to the landing page in the account bar. */
  homeLink?: boolean;
  /** A page whose table needs the room: wider at desktop widths (still one column on a phone). */
  wide?: boolean;
}

/** The device's name to show: the given one, or the default when none or an empty one is given. */
export function siteName(frame: PageFrame): string {
  return frame.site !== undefined && frame.site !== '' ? frame.site : DEFAULT_SITE_NAME;
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

/**
 * The banner on every page: the device's name, and on authenticated pages who is signed in
 * with a sign-out button (and a way home where the page allows one).
 */
function banner(site: string, account: PageAccount | undefined, homeLink: boolean): string {
  const name = `<span class="site">${escapeHtml(site)}</span>`;
  if (account === undefined) return `<header>${name}</header>`;
  const home = homeLink ? '<a href="/">Home</a> ' : '';
  return `<header>${name}<nav aria-label="Account">${home}<span class="muted">Signed in as <strong>${escapeHtml(account.username)}</strong></span> ${logoutForm(account.csrfToken)}</nav></header>`;
}

/** A complete HTML document: no script, one inline style covered by `PAGE_CSP`. */
export function renderLayout(options: LayoutOptions): string {
  const site = siteName(options);
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    + '<meta name="viewport" content="width=device-width, initial-scale=1">'
    // Not no-referrer: that makes form POSTs carry `Origin: null` (see REFERRER_POLICY).
    + '<meta name="referrer" content="same-origin"><meta name="robots" content="noindex, nofollow">'
    + `<title>${escapeHtml(`${options.title} — ${site}`)}</title><style>${PAGE_STYLE}</style></head>`
    + `<body${options.wide === true ? ' class="wide"' : ''}>${banner(site, options.account, options.homeLink ?? false)}`
    + `<main id="main">${options.body}</main></body></html>`;
}
