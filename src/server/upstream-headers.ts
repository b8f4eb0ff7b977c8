/**
 * What crosses the reverse proxy, header by header. The upstream trusts the identity
 * headers completely, so the request toward it is built by ringlet: a client header passes
 * only when nothing below forbids it, and the headers ringlet owns (framing, Host, identity,
 * X-Forwarded-*, Cookie, Authorization) are set afterwards, so nothing a client writes —
 * `Connection` included — can remove or replace them.
 *
 * Names are compared after lowercasing and treating every character but a letter or a digit
 * as `-`: CGI gateways name a header's variable that way (lighttpd, running LuCI, PHP and
 * many embedded UIs, upper-cases letters and maps every other character to `_`:
 * `http_cgi_encode_varname`), so `Remote_User`, `Remote.User` and `Remote~User` reach a CGI
 * script as the same `HTTP_REMOTE_USER` as `Remote-User`, and `Transfer_Encoding` as the
 * same variable as `Transfer-Encoding`. HTTP allows all of them in a field name (RFC 9110
 * §5.1 tchar).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/**
 * RFC 9110 §7.6.1 hop-by-hop fields, plus the framing fields ringlet writes itself
 * (RFC 9112 §6), plus `Expect` (node:http already answered `100 Continue`) and
 * `HTTP2-Settings` (an h2c upgrade is never passed on).
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'content-length', 'expect', 'http2-settings',
]);

/**
 * Client headers that could pass for an identity or a client address, or that tell a
 * server which path it is really serving; never forwarded, in any spelling. Prefixes cover
 * Authelia/Caddy (`Remote-*`), oauth2-proxy (`X-Auth-Request-*`, `X-Forwarded-User|Email|
 * Groups|Preferred-Username`), Apache-style `X-Remote-*`, Grafana (`X-WEBAUTH-*`); every
 * `X-Forwarded-*` is ringlet's to set.
 */
export const IDENTITY_HEADER_PREFIXES: readonly string[] = ['remote-', 'x-remote-', 'x-auth-request-', 'x-forwarded-', 'x-webauth-'];
export const IDENTITY_HEADER_NAMES: readonly string[] = [
  'forwarded', 'x-real-ip', 'x-client-ip', 'x-original-uri', 'x-original-url', 'x-rewrite-url', 'x-ringlet-no-touch',
];
const IDENTITY_NAMES: ReadonlySet<string> = new Set(IDENTITY_HEADER_NAMES);

/**
 * Headers that make a framework treat a request as another method (Slim and Google's APIs:
 * `X-HTTP-Method-Override`; OData, ASP.NET: `X-HTTP-Method`; `X-Method-Override`). A read
 * (GET, HEAD) is all `ui:read` admits, so on a read they are dropped: a viewer's GET must
 * not become a DELETE. A write keeps them (its caller may send any method).
 */
export const METHOD_OVERRIDE_HEADER_NAMES: readonly string[] = ['x-http-method-override', 'x-http-method', 'x-method-override'];
const METHOD_OVERRIDE_NAMES: ReadonlySet<string> = new Set(METHOD_OVERRIDE_HEADER_NAMES);

/** Headers ringlet always sets itself toward the upstream. */
const SET_BY_RINGLET: ReadonlySet<string> = new Set(['host', 'cookie', 'authorization']);

/** Any character a CGI gateway maps to `_` (all but letters and digits; names are lowercased first). */
const CGI_SEPARATOR_RegExp = /[^a-z0-9]/g;

/** `Remote_User`, `Remote.User`, `REMOTE-USER` → `remote-user`. node:http already lowercases names. */
export function normaliseHeaderName(name: string): string {
  return name.toLowerCase().replace(CGI_SEPARATOR_RegExp, '-');
}

function isIdentityHeader(normalised: string, configured: readonly string[]): boolean {
  if (configured.includes(normalised) || IDENTITY_NAMES.has(normalised)) return true;
  for (const prefix of IDENTITY_HEADER_PREFIXES) if (normalised.startsWith(prefix)) return true;
  return false;
}

const NO_TOKENS: ReadonlySet<string> = new Set();

/** The field names a `Connection` header lists, normalised. */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // The common values name no other field: nothing to build.
  if (value === undefined || value === 'keep-alive' || value === 'close') return NO_TOKENS;
  const out = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const token = normaliseHeaderName(part.trim());
    if (token.length > 0) out.add(token);
  }
  return out;
}

/** How ringlet frames the request body toward the upstream. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; bytes: number } | { kind: 'chunked' };

export interface UpstreamRequestFacts {
  /** The signed-in user and role, sent in the configured identity headers. */
  user: string;
  role: string;
  /** Configured identity header names (`Remote-User`, `Remote-Groups` by default). */
  userHeader: string;
  groupsHeader: string;
  host: string;
  forwardedFor: string;
  forwardedProto: 'http' | 'https';
  forwardedHost: string;
  /** The Cookie header without ringlet's cookies, or undefined. */
  cookie: string | undefined;
  /** True when Authorization carried the credential ringlet consumed (then it is dropped). */
  authorizationConsumed: boolean;
  /** True for GET and HEAD (what `ui:read` admits): method-override headers are dropped. */
  methodIsRead: boolean;
  framing: BodyFraming;
}

/**
 * The header block toward the upstream: the client's end-to-end headers minus everything
 * this module forbids, then ringlet's own.
 */
export function upstreamRequestHeaders(clientHeaders: IncomingHttpHeaders, facts: UpstreamRequestFacts): OutgoingHttpHeaders {
  const configured = [normaliseHeaderName(facts.userHeader), normaliseHeaderName(facts.groupsHeader)];
  const listed = connectionTokens(clientHeaders.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(clientHeaders)) {
    const value = clientHeaders[name];
    if (value === undefined) continue;
    const n = normaliseHeaderName(name);
    if (HOP_BY_HOP.has(n) || SET_BY_RINGLET.has(n) || listed.has(n) || isIdentityHeader(n, configured)) continue;
    if (facts.methodIsRead && METHOD_OVERRIDE_NAMES.has(n)) continue;
    out[name] = value;
  }
  if (!facts.authorizationConsumed && clientHeaders.authorization !== undefined && !listed.has('authorization')) {
    out['authorization'] = clientHeaders.authorization;
  }
  out['host'] = facts.host;
  if (facts.cookie !== undefined) out['cookie'] = facts.cookie;
  out[facts.userHeader] = facts.user;
  out[facts.groupsHeader] = facts.role;
  out['x-forwarded-for'] = facts.forwardedFor;
  out['x-forwarded-proto'] = facts.forwardedProto;
  out['x-forwarded-host'] = facts.forwardedHost;
  if (facts.framing.kind === 'length') out['content-length'] = String(facts.framing.bytes);
  else if (facts.framing.kind === 'chunked') out['transfer-encoding'] = 'chunked';
  return out;
}

/** A cookie name without a `__Host-`/`__Secure-` prefix, lowercased: the form names are compared in. */
function baseName(name: string): string {
  return name.trim().toLowerCase().replace(/^__(host|secure)-/, '');
}

/** True when `text` may mention one of `baseNames` (a cheap test before parsing). */
function mayMention(text: string, baseNames: readonly string[]): boolean {
  const lower = text.toLowerCase();
  return baseNames.some((n) => lower.includes(n));
}

/** The name of a Set-Cookie line's cookie, without a `__Host-`/`__Secure-` prefix, lowercased. */
function baseCookieName(setCookie: string): string {
  const pair = setCookie.split(';', 1)[0] ?? '';
  const eq = pair.indexOf('=');
  return baseName(eq === -1 ? '' : pair.slice(0, eq));
}

/**
 * The upstream's Set-Cookie lines minus any that would set one of ringlet's cookies, in any
 * case and with or without the `__Host-`/`__Secure-` prefix: an upstream (or a script that
 * can make it echo a header) must not be able to fix or replace the session.
 */
export function withoutOwnSetCookies(lines: readonly string[] | undefined, ownNames: readonly string[]): string[] {
  if (lines === undefined) return [];
  const own = ownNames.map(baseName);
  return lines.filter((line) => !own.includes(baseCookieName(line)));
}

/**
 * The Cookie header without ringlet's own cookies (any prefix variant): the upstream never
 * sees the session.
 */
export function withoutOwnCookies(header: string | undefined, ownNames: readonly string[]): string | undefined {
  if (header === undefined) return undefined;
  const own = ownNames.map(baseName);
  if (!mayMention(header, own)) return header;
  const kept = header.split(';').map((p) => p.trim()).filter((p) => {
    if (p.length === 0) return false;
    const eq = p.indexOf('=');
    return !own.includes(baseName(eq === -1 ? p : p.slice(0, eq)));
  });
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/**
 * The upstream's response headers for the client: hop-by-hop and `Connection`-listed ones
 * removed (node:http frames the response to the client itself), `Cache-Control: no-store`
 * (authenticated pages are never stored), ringlet's cookies filtered out and its own
 * re-issued cookie, if any, first.
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders, ownNames: readonly string[], ownSetCookie: readonly string[]): OutgoingHttpHeaders {
  const listed = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(upstream)) {
    const value = upstream[name];
    if (value === undefined || name === 'set-cookie') continue;
    const n = normaliseHeaderName(name);
    // Content-Length stays: node:http delivered exactly that many bytes, and they are relayed as they are.
    if ((HOP_BY_HOP.has(n) && n !== 'content-length') || (listed.has(n) && n !== 'content-length')) continue;
    out[name] = value;
  }
  out['cache-control'] = 'no-store';
  const cookies = [...ownSetCookie, ...withoutOwnSetCookies(upstream['set-cookie'], ownNames)];
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/** Longest incoming X-Forwarded-For considered from a trusted proxy. */
const MAX_FORWARDED_FOR_CHARS = 1024;
// RFC 9110 §7.2 uri-host [ ":" port ], restricted to what a real Host header holds.
const HOST_VALUE_RE = /^(?:\[[0-9a-f:.]+\]|[a-z0-9._~-]+)(?::\d{1,5})?$/i;

/**
 * X-Forwarded-For/Proto/Host toward the upstream. From a trusted proxy its values are kept
 * (For: its valid addresses, then the proxy itself appended); from anyone else they are
 * what ringlet saw: the socket peer, its own scheme and the Host it checked.
 */
export function forwardedFacts(
  headers: IncomingHttpHeaders, peer: string, trusted: boolean, ownProto: 'http' | 'https', host: string,
): { forwardedFor: string; forwardedProto: 'http' | 'https'; forwardedHost: string } {
  if (!trusted) return { forwardedFor: peer, forwardedProto: ownProto, forwardedHost: host };
  const chain = headers['x-forwarded-for'];
  const hops = typeof chain === 'string' && chain.length <= MAX_FORWARDED_FOR_CHARS
    ? chain.split(',').map((s) => s.trim()).filter((s) => isIP(s) !== 0)
    : [];
  const proto = headers['x-forwarded-proto'];
  const fwdHost = headers['x-forwarded-host'];
  return {
    forwardedFor: [...hops, peer].join(', '),
    forwardedProto: proto === 'https' || proto === 'http' ? proto : ownProto,
    forwardedHost: typeof fwdHost === 'string' && HOST_VALUE_RE.test(fwdHost) ? fwdHost : host,
  };
}
