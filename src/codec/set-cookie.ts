/**
 * Set-Cookie serialization (RFC 6265 §4.1, RFC 6265bis prefixes, SameSite and CHIPS):
 * strict. Anything that would let a value break out of its attribute (`;`, CTLs) or that
 * a browser would silently drop (a `__Host-` cookie with a Domain) throws a ConfigError
 * naming the attribute. Values are written as given, never encoded: our values are
 * base64url tokens, and silently encoding would hide a caller's mistake.
 */
import { ConfigError, RingletError } from '../errors.js';
import { MAX_CREDENTIAL_LIFETIME_MS, SECOND_MS } from '../util/durations.js';
import { integerOption } from '../util/options.js';

/** RFC 6265 §4.1.1 / RFC 7230 §3.2.6: cookie-name = token. */
const cookieNameRegExp = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
 * cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
 */
const cookieValueRegExp = /^("?)[\u0021\u0023-\u002B\u002D-\u003A\u003C-\u005B\u005D-\u007E]*\1$/;
/** path-value = <any CHAR except CTLs or ";">; we also require it to start with "/". */
const pathValueRegExp = /^\/[\u0020-\u003A\u003C-\u007E]*$/;
/** domain-value = <subdomain> (RFC 1034 §3.5), optionally with a leading dot (ignored by browsers). */
const domainValueRegExp = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Browsers drop cookies whose name plus value exceed 4096 bytes (RFC 6265bis §5.7); the
 * default `maxBytes`, which ringlet's own session cookies keep to for the whole line.
 */
export const MAX_SET_COOKIE_BYTES = 4096;
/** RFC 6265bis §5.6.2: user agents cap Max-Age at 400 days. */
const MAX_AGE_CAP_SECONDS = MAX_CREDENTIAL_LIFETIME_MS / SECOND_MS;
const IN_SECONDS = { unit: 'seconds' } as const;

export type SameSite = 'Strict' | 'Lax' | 'None';

export interface SetCookieOptions {
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: SameSite;
  /** Must start with "/". Required to be "/" for `__Host-` names. */
  path?: string;
  /** Forbidden for `__Host-` names. */
  domain?: string;
  /** Max-Age in whole seconds (0 or negative deletes the cookie). */
  maxAgeSeconds?: number;
  /** Alias of `maxAgeSeconds` (the name jshttp/cookie uses); seconds. */
  maxAge?: number;
  expires?: Date;
  /** CHIPS (partitioned cookies); requires Secure. */
  partitioned?: boolean;
  /** The whole serialized string may not exceed this. Default {@link MAX_SET_COOKIE_BYTES}. */
  maxBytes?: number;
}

/**
 * Serialize one Set-Cookie header value.
 *
 * @throws ConfigError naming the attribute (`name`, `value`, `path`, `domain`,
 *   `sameSite`, `maxAgeSeconds`, `expires`, `secure`, ...) when it is invalid or breaks a
 *   prefix/SameSite rule. The message never contains the value.
 * @throws RingletError `ERR_COOKIE_TOO_LARGE` when the result exceeds `maxBytes`.
 * @example
 * serializeSetCookie('__Host-sid', token, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })
 * // '__Host-sid=...; Path=/; HttpOnly; Secure; SameSite=Strict'
 */
export function serializeSetCookie(name: string, value: string, options: SetCookieOptions = {}): string {
  if (typeof name !== 'string' || !cookieNameRegExp.test(name)) {
    throw new ConfigError('name', 'must be an RFC 6265 token (no CTLs, spaces, "=", ";" or other separators)');
  }
  if (typeof value !== 'string' || !cookieValueRegExp.test(value)) {
    throw new ConfigError('value', 'must be RFC 6265 cookie-octets (no CTLs, spaces, DQUOTE, ",", ";" or "\\")');
  }
  let out = `${name}=${value}`;

  const { path, domain, expires, sameSite } = options;
  if (path !== undefined) {
    if (typeof path !== 'string' || !pathValueRegExp.test(path)) {
      throw new ConfigError('path', 'must start with "/" and contain no CTLs or ";"');
    }
    out += `; Path=${path}`;
  }
  if (domain !== undefined) {
    if (typeof domain !== 'string' || !domainValueRegExp.test(domain)) {
      throw new ConfigError('domain', 'must be a host name (letters, digits, "-", ".")');
    }
    out += `; Domain=${domain}`;
  }
  const maxAgeSeconds = resolveMaxAge(options);
  if (maxAgeSeconds !== undefined) out += `; Max-Age=${maxAgeSeconds}`;
  if (expires !== undefined) {
    if (!(expires instanceof Date) || !Number.isFinite(expires.getTime())) {
      throw new ConfigError('expires', 'must be a valid Date');
    }
    out += `; Expires=${expires.toUTCString()}`;
  }
  if (options.httpOnly === true) out += '; HttpOnly';
  const secure = options.secure === true;
  if (secure) out += '; Secure';
  if (sameSite !== undefined) {
    if (sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') {
      throw new ConfigError('sameSite', 'must be "Strict", "Lax" or "None"');
    }
    // RFC 6265bis §5.6.7: browsers reject SameSite=None without Secure.
    if (sameSite === 'None' && !secure) throw new ConfigError('secure', 'SameSite=None requires Secure');
    out += `; SameSite=${sameSite}`;
  }
  if (options.partitioned === true) {
    if (!secure) throw new ConfigError('secure', 'Partitioned requires Secure');
    out += '; Partitioned';
  }
  checkPrefixRules(name, secure, path, domain);

  const maxBytes = integerOption(options.maxBytes ?? MAX_SET_COOKIE_BYTES, 'maxBytes', 1, Number.MAX_SAFE_INTEGER);
  if (Buffer.byteLength(out, 'latin1') > maxBytes) {
    throw new RingletError('ERR_COOKIE_TOO_LARGE', `Set-Cookie would exceed ${maxBytes} bytes`);
  }
  return out;
}

/**
 * RFC 6265bis §4.1.3: `__Secure-` needs Secure; `__Host-` needs Secure, Path=/ and no
 * Domain. Browsers now match the prefixes case-insensitively, so we do too.
 */
function checkPrefixRules(name: string, secure: boolean, path: string | undefined, domain: string | undefined): void {
  const lower = name.slice(0, 9).toLowerCase();
  if (lower.startsWith('__host-')) {
    if (!secure) throw new ConfigError('secure', 'a __Host- cookie requires Secure');
    if (path !== '/') throw new ConfigError('path', 'a __Host- cookie requires Path=/');
    if (domain !== undefined) throw new ConfigError('domain', 'a __Host- cookie must not have a Domain');
  } else if (lower === '__secure-' && !secure) {
    throw new ConfigError('secure', 'a __Secure- cookie requires Secure');
  }
}

function resolveMaxAge(options: SetCookieOptions): number | undefined {
  const { maxAgeSeconds, maxAge } = options;
  if (maxAgeSeconds !== undefined && maxAge !== undefined && maxAgeSeconds !== maxAge) {
    throw new ConfigError('maxAgeSeconds', 'given twice (maxAge is its alias) with different values');
  }
  const seconds = maxAgeSeconds ?? maxAge;
  if (seconds === undefined) return undefined;
  // Negative or zero: the cookie is deleted at once (RFC 6265bis section 5.6.2).
  integerOption(seconds, 'maxAgeSeconds', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, IN_SECONDS);
  // Browsers clamp to 400 days anyway; writing the clamp keeps the header honest.
  return Math.min(seconds, MAX_AGE_CAP_SECONDS);
}
