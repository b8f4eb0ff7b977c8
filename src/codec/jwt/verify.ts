/**
 * JWT verification (RFC 7519 §7.2) on top of the HS256 JWS layer: MAC and header policy
 * first, then the payload must be a JSON object, then the claims.
 */
import { joseFailure } from '../jose/failures.js';
import { parseClaims } from '../jose/claims.js';
import type { ClaimsOptions } from '../jose/claims.js';
import type { ProtectedHeader } from '../jose/header.js';
import { decodeBase64urlInto } from '../base64url.js';
import { segmentBuffer } from '../jose/scratch.js';
import { verifyJwsRange } from '../jws/verify.js';
import type { VerifyJwsOptions } from '../jws/verify.js';
import type { KeyRing } from '../jwk/key-ring.js';

export interface VerifyJwtOptions extends ClaimsOptions, VerifyJwsOptions {}

export interface VerifiedJwt {
  claims: Record<string, unknown>;
  kid: string;
  header: ProtectedHeader;
}

/**
 * Verify a compact HS256 JWT and its claims.
 *
 * @throws RingletError with a stable code: ERR_TOKEN_TOO_LARGE, ERR_TOKEN_MALFORMED, ERR_UNKNOWN_KEY,
 *   ERR_BAD_SIGNATURE, ERR_UNSUPPORTED_ALG, ERR_EXPIRED, ERR_NOT_YET_VALID, ERR_CLAIM_INVALID.
 * @example const { claims } = verifyJwt(bearer, ring, { audience: 'ringlet' })
 */
export function verifyJwt(token: string, ring: KeyRing, options?: VerifyJwtOptions): VerifiedJwt {
  const { header, kid, payloadStart, payloadEnd } = verifyJwsRange(token, ring, options);
  const payload = segmentBuffer(payloadEnd - payloadStart);
  const payloadBytes = decodeBase64urlInto(token, payloadStart, payloadEnd, payload, 0);
  if (payloadBytes < 0) throw joseFailure('ERR_TOKEN_MALFORMED');
  return { claims: parseClaims(payload.toString('utf8', 0, payloadBytes), options), kid, header };
}
