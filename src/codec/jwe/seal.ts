/** Sealing claims into a cookie JWE. */
import { ConfigError } from '../../errors.js';
import { isJsonObject } from '../jose/header.js';
import type { KeyRing } from '../jwk/key-ring.js';
import { encryptCompactJwe } from './encrypt.js';

/**
 * Encrypt `claims` (a JSON object) as a compact JWE with the ring's issuing A256GCM key:
 * header `{"alg":"dir","enc":"A256GCM","kid":...}`, fresh 96-bit IV, 128-bit tag.
 *
 * @throws ConfigError when the ring has no A256GCM key or `claims` is not a plain object.
 * @example const cookieValue = sealJwe({ sub: 'admin', role: 'admin', iat, exp }, ring)
 */
export function sealJwe(claims: object, ring: KeyRing): string {
  if (!isJsonObject(claims)) throw new ConfigError('claims', 'must be a JSON object');
  return encryptCompactJwe(JSON.stringify(claims), ring);
}
