/** The signed-in landing page (GET / when no upstream UI is configured). */
import { escapeHtml } from './escape.js';
import { renderLayout } from './layout.js';

export interface HomeLink {
  href: string;
  label: string;
}

export interface HomePageOptions {
  username: string;
  role: string;
  csrfToken: string;
  /** When the session began ('' or undefined when unknown). */
  createdIso?: string | undefined;
  /** When the session ends at the latest. */
  expiresIso?: string | undefined;
  /** Links listed on the page; only same-origin paths and http(s) URLs are rendered. */
  links: readonly HomeLink[];
}

// A link is rendered only when its target cannot run script (`javascript:`) or leave the
// http(s) world; anything else is dropped rather than escaped into a live href.
const safeHrefRegExp = /^(?:\/(?![/\\])[\x21-\x7e]*|https?:\/\/[\x21-\x7e]+)$/i;

function dd(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '<dd class="muted">unknown</dd>';
  return `<dd><time datetime="${escapeHtml(iso)}">${escapeHtml(iso)}</time></dd>`;
}

/** Render the landing page: who you are, the session's times, links, logout. */
export function renderHomePage(options: HomePageOptions): string {
  const links = options.links
    .filter((link) => safeHrefRegExp.test(link.href) && !link.href.includes('\\'))
    .map((link) => `<li><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></li>`)
    .join('');
  const body = '<h1>Signed in</h1><dl>'
    + `<dt>User</dt><dd>${escapeHtml(options.username)}</dd>`
    + `<dt>Role</dt><dd>${escapeHtml(options.role)}</dd>`
    + `<dt>Session started</dt>${dd(options.createdIso)}`
    + `<dt>Session ends at the latest</dt>${dd(options.expiresIso)}</dl>`
    + (links === '' ? '' : `<ul class="links">${links}</ul>`);
  return renderLayout({
    title: 'Signed in — ringlet',
    body,
    account: { username: options.username, csrfToken: options.csrfToken },
  });
}
