/**
 * The standard codecs: strict base64url, Cookie / Set-Cookie, JWKS key ring, JWT HS256 and
 * JWE dir + A256GCM. Pure code: nothing here imports node:http.
 */
export { decodeBase64url, encodeBase64url, encodeBase64urlText, isBase64url, tryDecodeBase64url } from './base64url.js';
export { timingSafeEqualBytes } from './timing-safe.js';
export {
  DEFAULT_MAX_COOKIE_HEADER_BYTES,
  DEFAULT_MAX_COOKIE_VALUES,
  getCookieValues,
  parseCookieHeader,
} from './cookie-parse.js';
export type { CookieValuesOptions, ParseCookieOptions } from './cookie-parse.js';
export { DEFAULT_MAX_SET_COOKIE_BYTES, serializeSetCookie } from './set-cookie.js';
export type { SameSite, SetCookieOptions } from './set-cookie.js';
