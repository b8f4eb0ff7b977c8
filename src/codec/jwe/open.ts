/** Opening a cookie JWE: decryption first, then the payload must be a JSON object, then the claims. */
import { parseClaims } from '../jose/claims.js';
import type { ClaimsOptions } from '../jose/claims.js';
import type { KeyRing } from '../jwk/key-ring.js';
import { decryptCompactJwe } from './decrypt.js';
import type { DecryptJweOptions } from './decrypt.js';

export interface OpenJweOptions extends ClaimsOptions, DecryptJweOptions {}

export interface OpenedJwe {
  claims: Record<string, unknown>;
  kid: string;
  /** False when an older (non-issuing) key opened it: re-seal with the current key. */
  keyIsCurrent: boolean;
}

/**
 * Decrypt a compact JWE and check its claims with the same time rules as JWT.
 *
 * @throws RingletError with a stable code: ERR_TOKEN_TOO_LARGE, ERR_TOKEN_MALFORMED,
 *   ERR_UNSUPPORTED_ALG, ERR_UNKNOWN_KEY, ERR_DECRYPTION_FAILED, ERR_EXPIRED,
 *   ERR_NOT_YET_VALID, ERR_CLAIM_INVALID.
 * @example const { claims, keyIsCurrent } = openJwe(cookieValue, ring, { clock })
 */
export function openJwe(token: string, ring: KeyRing, options?: OpenJweOptions): OpenedJwe {
  const { plaintext, kid, keyIsCurrent } = decryptCompactJwe(token, ring, options);
  return { claims: parseClaims(plaintext.toString('utf8'), options), kid, keyIsCurrent };
}
