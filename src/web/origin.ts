/**
 * Same-origin check for state-changing requests (CSRF defence in depth, next to the CSRF
 * token). Fetch Metadata first (`Sec-Fetch-Site`, sent by every current browser), then
 * `Origin`, then `Referer`.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What `isSameOrigin` reads from a request. `socket.encrypted` is true on a TLS socket. */
export interface OriginRequest {
  headers: Pick<IncomingHttpHeaders, 'host' | 'origin' | 'referer' | 'sec-fetch-site'>;
  /** A TLS socket has `encrypted: true` (typed loosely: plain sockets lack the property). */
  socket?: object | undefined;
}

export interface SameOriginOptions {
  /** Other origins allowed to make state-changing requests, serialized (`https://app.example:8443`). */
  allowedOrigins: ReadonlySet<string>;
  /** This server's public origin when it sits behind a proxy (`https://router.example`). */
  publicOrigin?: string | undefined;
}

// RFC 9110 §7.2 uri-host [ ":" port ], restricted to what a real Host header holds.
const hostHeaderRegExp = /^(?:\[[0-9a-f:.]+\]|[a-z0-9._~-]+)(?::\d{1,5})?$/i;

/** The serialized origin of an absolute http(s) URL, or undefined. */
function originOf(url: string): string | undefined {
  if (url.length > 4096) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    return parsed.origin;
  } catch {
    return undefined;
  }
}

/** The origins this request may come from when it comes from our own pages. */
function ownOrigins(req: OriginRequest, publicOrigin: string | undefined): string[] {
  const out: string[] = [];
  if (publicOrigin !== undefined) {
    const pub = originOf(publicOrigin);
    if (pub !== undefined) out.push(pub);
  }
  const host = req.headers.host;
  if (typeof host === 'string' && hostHeaderRegExp.test(host)) {
    const tls = (req.socket as { encrypted?: unknown } | undefined)?.encrypted === true;
    // On a TLS socket only https is ours. On a plain socket we may be behind a TLS proxy
    // (the browser then says https), or served directly over http.
    for (const scheme of tls ? ['https'] : ['http', 'https']) {
      const o = originOf(`${scheme}://${host}`);
      if (o !== undefined) out.push(o);
    }
  }
  return out;
}

function originAllowed(origin: string, req: OriginRequest, options: SameOriginOptions): boolean {
  if (origin === 'null') return false;
  const normalized = originOf(origin);
  if (normalized === undefined) return false;
  if (options.allowedOrigins.has(origin) || options.allowedOrigins.has(normalized)) return true;
  return ownOrigins(req, options.publicOrigin).includes(normalized);
}

/**
 * Whether a state-changing request comes from this origin (or an allowed one).
 *
 * 1. `Sec-Fetch-Site: same-origin` or `none` (typed by the user) → accepted.
 *    `cross-site` / `same-site` → refused unless `Origin` is in `allowedOrigins`.
 * 2. Otherwise (older browsers, other clients) the `Origin` header, or failing that the
 *    origin of `Referer`, must equal this request's own origin (scheme + `Host`, or
 *    `publicOrigin`) or be in `allowedOrigins`.
 * 3. Neither header → refused: a browser always sends one of them on a form POST, and a
 *    non-browser client should use a bearer token (which needs no CSRF check).
 *
 * `Origin: null` (sandboxed frames, `file:`, some redirects) is always refused.
 *
 * @example
 * if (!isSameOrigin(req, { allowedOrigins: new Set() })) return sendError(req, res, 403, 'cross-origin request refused');
 */
export function isSameOrigin(req: OriginRequest, options: SameOriginOptions): boolean {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (site === 'same-origin' || site === 'none') return true;
  if (site === 'cross-site' || site === 'same-site') {
    // Only an explicitly configured origin (a CORS front-end) may cross sites.
    if (typeof origin !== 'string' || origin === 'null') return false;
    const normalized = originOf(origin);
    return options.allowedOrigins.has(origin) || (normalized !== undefined && options.allowedOrigins.has(normalized));
  }
  if (typeof origin === 'string') return originAllowed(origin, req, options);
  const referer = req.headers.referer;
  if (typeof referer === 'string') {
    const from = originOf(referer);
    return from !== undefined && originAllowed(from, req, options);
  }
  return false;
}
