/** The signed-in landing page (GET / when no upstream UI is configured). */
import { escapeHtml } from './escape.js';
import { renderLayout, type PageFrame } from './layout.js';
import { timeHtml, type PageClock } from './time.js';

export interface HomeLink {
  href: string;
  label: string;
}

export interface HomePageOptions extends PageFrame {
  username: string;
  role: string;
  csrfToken: string;
  /** Now, and whether dates may be shown (see time.ts). */
  clock: PageClock;
  /** When the session began (wall-clock estimate, ms; undefined or NaN when unknown). */
  createdAtMs?: number | undefined;
  /** When the session ends at the latest. */
  expiresAtMs?: number | undefined;
  /** Links listed on the page; only same-origin paths and http(s) URLs are rendered. */
  links: readonly HomeLink[];
}

// A link is rendered only when its target cannot run script (`javascript:`) or leave the
// http(s) world; anything else is dropped rather than escaped into a live href.
const safeHrefRegExp = /^(?:\/(?![/\\])[\x21-\x7e]*|https?:\/\/[\x21-\x7e]+)$/i;

/** Render the landing page: who you are, the session's times, links, logout. */
export function renderHomePage(options: HomePageOptions): string {
  const links = options.links
    .filter((link) => safeHrefRegExp.test(link.href) && !link.href.includes('\\'))
    .map((link) => `<li><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></li>`)
    .join('');
  const body = '<h1>Signed in</h1><dl>'
    + `<dt>User</dt><dd>${escapeHtml(options.username)}</dd>`
    + `<dt>Role</dt><dd>${escapeHtml(options.role)}</dd>`
    + `<dt>Signed in</dt><dd>${timeHtml(options.createdAtMs, options.clock)}</dd>`
    + `<dt>Session ends at the latest</dt><dd>${timeHtml(options.expiresAtMs, options.clock)}</dd></dl>`
    + (links === '' ? '' : `<ul class="links">${links}</ul>`);
  return renderLayout({
    title: 'Signed in',
    site: options.site,
    body,
    account: { username: options.username, csrfToken: options.csrfToken },
  });
}
