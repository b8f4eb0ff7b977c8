/**
 * Writing responses. Every response carries `Cache-Control: no-store` (this is an auth
 * server: nothing it says should be kept by a cache); every response with a body also
 * `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, `X-Frame-Options` and a
 * CSP. Callers cannot override these.
 */

/**
 * `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` with
 * every form POST (Fetch, "serializing a request origin"), and over plain HTTP on a LAN
 * address it sends no Sec-Fetch-Site either, so the same-origin check refused our own login
 * form on http://192.168.1.1 (test/browser/lan-http.test.ts). Other sites still get no Referer.
 */
export const REFERRER_POLICY = 'same-origin';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { wantsHtml } from './accept.js';
import { PAGE_CSP } from './pages/style.js';
import { renderErrorPage } from './pages/error.js';
import { errorCodeForStatus, errorStatus } from './status.js';

/** Extra headers for one response (Set-Cookie, Retry-After, WWW-Authenticate, Location...). */
export type ExtraHeaders = OutgoingHttpHeaders;

/** The part of a request `sendError` reads: its Accept header. */
export interface AcceptSource {
  headers: Pick<IncomingHttpHeaders, 'accept'>;
}

const PAGE_SITE = Symbol('ringlet.pageSite');

interface SiteCarrier {
  [PAGE_SITE]?: string;
}

/**
 * Names the device on the error pages `sendError` writes for this request. The server does
 * this once per request (context.ts); every `sendError(req, …)` then finds it, including
 * those in modules that know nothing of the server's options, and a library embedding the
 * pages without it gets the default name.
 */
export function setPageSite(request: object, site: string): void {
  (request as SiteCarrier)[PAGE_SITE] = site;
}

/** For non-HTML answers: nothing may load, nothing may frame it. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

function appendSetCookie(res: ServerResponse, value: number | string | readonly string[]): void {
  // A route may already have set a cookie (a re-issued session) before it chose its answer:
  // keep both rather than silently dropping one.
  const existing = res.getHeader('Set-Cookie');
  const before = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  const added = typeof value === 'object' ? [...value] : [String(value)];
  res.setHeader('Set-Cookie', [...before, ...added]);
}

function send(res: ServerResponse, status: number, contentType: string, csp: string, text: string, headers: ExtraHeaders | undefined): void {
  if (res.writableEnded) return;
  if (res.headersSent) {
    // A started response cannot change status or headers; finish it instead of throwing.
    res.end();
    return;
  }
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined) continue;
      if (name.toLowerCase() === 'set-cookie') appendSetCookie(res, value);
      else res.setHeader(name, value);
    }
  }
  const payload = Buffer.from(text, 'utf8');
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', payload.length);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', REFERRER_POLICY);
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Frame-Options', 'DENY');
  res.statusCode = status;
  res.end(payload);
}

/**
 * Send `body` as JSON (`application/json; charset=utf-8`) with the standard headers.
 *
 * @example
 * sendJson(res, 200, { status: 'ok' });
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: ExtraHeaders): void {
  send(res, status, 'application/json; charset=utf-8', API_CSP, JSON.stringify(body) ?? 'null', headers);
}

/** Send a rendered page (`text/html; charset=utf-8`) with `PAGE_CSP` and the standard headers. */
export function sendHtml(res: ServerResponse, status: number, html: string, headers?: ExtraHeaders): void {
  send(res, status, 'text/html; charset=utf-8', PAGE_CSP, html, headers);
}

/**
 * Send plain text (default `text/plain; charset=utf-8`), e.g. the metrics exposition with
 * `METRICS_CONTENT_TYPE`, with the standard headers.
 */
export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8', headers?: ExtraHeaders): void {
  send(res, status, contentType, API_CSP, text, headers);
}

/** What `sendEmpty` writes itself: a caller's value for these is dropped. */
const OWN_EMPTY_HEADERS = new Set(['cache-control', 'content-length']);

/**
 * An answer without a body — forward-auth's 200, whose meaning is in its headers, or a 204
 * (OPTIONS, a CORS preflight) — with `Cache-Control: no-store`. The other standard headers
 * guard a body a browser renders (sniffing, framing, scripts, where links lead): there is
 * none here. Written in one `writeHead` of a flat list: `GET /auth` is the hot path, and a
 * header object spread together per request cost about a third of a bare node:http
 * answer's throughput (measured while writing this; a list costs what a literal did).
 *
 * @example
 * sendEmpty(res, 200, { 'Remote-User': session.user, 'Remote-Groups': session.role });
 */
export function sendEmpty(res: ServerResponse, status: 200 | 204, headers: ExtraHeaders): void {
  if (res.writableEnded) return;
  if (res.headersSent) {
    res.end();
    return;
  }
  const head: Array<string | number | readonly string[]> = [];
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !OWN_EMPTY_HEADERS.has(name.toLowerCase())) head.push(name, value);
  }
  head.push('Cache-Control', 'no-store');
  // RFC 9110 §8.6: a 204 carries no Content-Length.
  if (status !== 204) head.push('Content-Length', '0');
  res.writeHead(status, head as unknown as OutgoingHttpHeaders);
  res.end();
}

/** `Retry-After` in whole seconds (RFC 9110 §10.2.3), at least 1, from a wait in ms. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/**
 * Redirect to `location` (a path on this origin, or an already validated URL) with the
 * standard headers and an empty body. 303 after a form POST (the browser follows with GET);
 * 302 where a proxy expects it (forward-auth).
 *
 * @example
 * sendRedirect(res, 303, '/login?loggedout=1', { 'Set-Cookie': clear });
 */
export function sendRedirect(res: ServerResponse, status: 302 | 303, location: string, headers?: ExtraHeaders): void {
  send(res, status, 'text/plain; charset=utf-8', API_CSP, '', { ...headers, Location: location });
}

/**
 * Answer with an error: the HTML error page when the request's Accept prefers HTML
 * (`wantsHtml`), otherwise `{"error": code, "message": message}` with the stable code for
 * the status (`errorCodeForStatus`). A status outside 400..599 is sent as 500.
 * `message` is shown to the client: never put a token, cookie, id or password in it.
 *
 * @param request the request (its Accept header is read) or the Accept header itself
 * @example
 * sendError(req, res, 429, 'too many attempts', { 'Retry-After': '30' });
 */
export function sendError(request: AcceptSource | string | undefined, res: ServerResponse, status: number, message: string, headers?: ExtraHeaders): void {
  const accept = typeof request === 'object' ? request.headers.accept : request;
  const code = errorStatus(status);
  if (wantsHtml(accept)) {
    const site = typeof request === 'object' ? (request as SiteCarrier)[PAGE_SITE] : undefined;
    sendHtml(res, code, renderErrorPage(code, message, { site }), headers);
  } else {
    sendJson(res, code, { error: errorCodeForStatus(code), message }, headers);
  }
}
