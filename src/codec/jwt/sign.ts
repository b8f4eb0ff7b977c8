/**
 * JWT signing: HS256 (RFC 7519 §7.1, RFC 7515 §5.1) with the ring's issuing key.
 * The protected header `{"alg":"HS256","typ":"JWT","kid":...}` is pre-encoded per key at
 * load, so signing is one JSON.stringify, one base64url and one HMAC.
 */
import { ConfigError } from '../../errors.js';
import { isJsonObject } from '../jose/header.js';
import { hmacSha256 } from '../jose/primitives.js';
import type { KeyRing } from '../jwk/key-ring.js';

/** Holds only the (public) claims JSON while it is encoded; sized for a default-limit token. */
const signScratch = Buffer.alloc(3072);

/**
 * Sign `claims` as a compact JWT. The caller supplies the claims (`sub`, `iat`, `exp`,
 * `jti`, ...); {@link verifyJwt} requires `exp` by default.
 *
 * @throws ConfigError when the ring has no HS256 key or `claims` is not a plain object.
 * @example signJwt({ sub: 'admin', iat: now, exp: now + 900 }, ring)
 */
export function signJwt(claims: object, ring: KeyRing): string {
  const prefix = ring.signingPrefix;
  const key = ring.signingKey;
  if (prefix === undefined || key === undefined) throw new ConfigError('ring', 'has no HS256 key to sign with');
  if (!isJsonObject(claims)) throw new ConfigError('claims', 'must be a JSON object');
  const json = JSON.stringify(claims);
  // Encode through a reusable buffer when the JSON fits (it always does for sessions).
  const utf8Bytes = Buffer.byteLength(json, 'utf8');
  const bytes = utf8Bytes <= signScratch.length ? signScratch : Buffer.allocUnsafe(utf8Bytes);
  bytes.write(json, 0, 'utf8');
  const signingInput = prefix + bytes.toString('base64url', 0, utf8Bytes);
  return `${signingInput}.${hmacSha256(key.key, signingInput).toString('base64url')}`;
}
