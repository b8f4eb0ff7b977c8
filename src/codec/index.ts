/**
 * The standard codecs: strict base64url, Cookie / Set-Cookie, JWKS key ring, JWT HS256 and
 * JWE dir + A256GCM. Pure code: nothing here imports node:http.
 */
export { decodeBase64url, decodeBase64urlInto, decodedLengthBound, encodeBase64url, encodeBase64urlText, isBase64url, tryDecodeBase64url } from './base64url.js';
export { timingSafeEqualBytes, timingSafeEqualText } from './timing-safe.js';
export {
  DEFAULT_MAX_COOKIE_HEADER_BYTES,
  DEFAULT_MAX_COOKIE_VALUES,
  getCookieValues,
  parseCookieHeader,
} from './cookie-parse.js';
export type { CookieValuesOptions, ParseCookieOptions } from './cookie-parse.js';
export { MAX_SET_COOKIE_BYTES, serializeSetCookie } from './set-cookie.js';
export type { SameSite, SetCookieOptions } from './set-cookie.js';
export { KeyRing, loadKeyRing, MAX_JWKS_KEYS, MAX_KID_CHARS } from './jwk/key-ring.js';
export type { ContentEncryption, EncryptionKey, JwkSet, LoadKeyRingOptions, OctJwk, SigningKey } from './jwk/key-ring.js';
export { generateJwks, rotateJwks } from './jwk/generate.js';
export { CRYPTO_FAILURE_MESSAGE } from './jose/failures.js';
export { DEFAULT_LEEWAY_SECONDS } from './jose/claims.js';
export type { ClaimsOptions } from './jose/claims.js';
export type { ProtectedHeader } from './jose/header.js';
export { DEFAULT_MAX_TOKEN_BYTES } from './jose/limits.js';
export { aesGcmDecrypt, aesGcmEncrypt, hmacSha256 } from './jose/primitives.js';
export type { VerifyJwsOptions } from './jws/verify.js';
export { signJwt } from './jwt/sign.js';
export { verifyJwt } from './jwt/verify.js';
export type { VerifiedJwt, VerifyJwtOptions } from './jwt/verify.js';
export { encryptCompactJwe } from './jwe/encrypt.js';
export { decryptCompactJwe } from './jwe/decrypt.js';
export type { DecryptedJwe, DecryptJweOptions } from './jwe/decrypt.js';
export { sealJwe } from './jwe/seal.js';
export { openJwe } from './jwe/open.js';
export type { OpenedJwe, OpenJweOptions } from './jwe/open.js';
