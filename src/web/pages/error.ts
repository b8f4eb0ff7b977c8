/** A short error page for browsers (API clients get JSON from `sendError`). */
import { escapeHtml } from './escape.js';
import { renderLayout, type PageFrame } from './layout.js';
import { errorStatus, reasonPhrase } from '../status.js';

/** Render an error page: the status, its reason phrase, the message, a way back. */
export function renderErrorPage(statusCode: number, message: string, frame: PageFrame = {}): string {
  const status = errorStatus(statusCode);
  const phrase = reasonPhrase(status);
  const next = status === 401 ? '<p><a href="/login">Sign in</a></p>' : '<p><a href="/">Go to the start page</a></p>';
  const body = `<h1>${status} ${escapeHtml(phrase)}</h1><p role="alert">${escapeHtml(message)}</p>${next}`;
  return renderLayout({ title: `${status} ${phrase}`, site: frame.site, body });
}
