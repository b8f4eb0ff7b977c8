/**
 * JWS compact verification for HS256 (RFC 7515 §5.2), the layer below JWT.
 *
 * Order, as the contract fixes it: structure and size; the protected header decoded (only
 * to find the key by `kid`); the MAC, compared in constant time after a length check;
 * then the header policy (`alg` exactly HS256, bound to the key; no `crit`; no key
 * locations). The MAC is always HS256 whatever the header says, so
 * no header can choose the algorithm.
 */
import { timingSafeEqualBytes } from '../timing-safe.js';
import { decodeBase64urlInto } from '../base64url.js';
import { macScratch } from '../jose/scratch.js';
import { joseFailure } from '../jose/failures.js';
import { checkCommonHeaderPolicy, decodeProtectedHeader } from '../jose/header.js';
import type { ProtectedHeader } from '../jose/header.js';
import { checkTokenSize, type TokenSizeOptions } from '../jose/limits.js';
import { hmacSha256 } from '../jose/primitives.js';
import type { KeyRing, SigningKey } from '../jwk/key-ring.js';

/** HS256 MAC length: 32 bytes, 43 base64url characters. */
const HS256_MAC_BYTES = 32;
const HS256_MAC_CHARS = 43;

export interface VerifyJwsOptions extends TokenSizeOptions {
  /**
   * Accept a token without `kid` by trying the issuing signing key (some JOSE writers
   * omit it, e.g. RFC 7515 A.1). Default false: `kid` is required.
   */
  allowMissingKid?: boolean;
}

/** A verified JWS whose payload is still encoded in `token[payloadStart, payloadEnd)`. */
export interface VerifiedJwsRange {
  header: ProtectedHeader;
  kid: string;
  payloadStart: number;
  payloadEnd: number;
}

/**
 * Verify an HS256 compact JWS against the ring, leaving the payload undecoded: verifyJwt
 * decodes it into a reused buffer, so a verified token costs no payload copy.
 * @throws RingletError ERR_TOKEN_TOO_LARGE, ERR_TOKEN_MALFORMED, ERR_UNKNOWN_KEY, ERR_BAD_SIGNATURE,
 *   ERR_UNSUPPORTED_ALG
 */
export function verifyJwsRange(token: string, ring: KeyRing, options?: VerifyJwsOptions): VerifiedJwsRange {
  checkTokenSize(token, options);
  const dot1 = token.indexOf('.');
  const dot2 = dot1 === -1 ? -1 : token.indexOf('.', dot1 + 1);
  if (dot2 === -1 || token.indexOf('.', dot2 + 1) !== -1) throw joseFailure('ERR_TOKEN_MALFORMED');
  if (token.length - dot2 - 1 !== HS256_MAC_CHARS) throw joseFailure('ERR_BAD_SIGNATURE');

  // Fast path: a header this ring wrote itself is already known to pass the policy.
  const encodedHeader = token.slice(0, dot1);
  const issued = ring.issuedJwsHeaders.get(encodedHeader);
  let header: ProtectedHeader;
  let key: SigningKey;
  if (issued !== undefined) {
    header = issued.header;
    key = issued.key;
  } else {
    header = decodeProtectedHeader(encodedHeader);
    key = keyForHeader(header, ring, options?.allowMissingKid === true);
  }

  // Length is fixed (checked above), then a constant-time comparison.
  if (
    decodeBase64urlInto(token, dot2 + 1, token.length, macScratch, 0) !== HS256_MAC_BYTES ||
    !timingSafeEqualBytes(macScratch, hmacSha256(key.key, token.slice(0, dot2)))
  ) {
    throw joseFailure('ERR_BAD_SIGNATURE');
  }

  if (issued === undefined) checkJwsHeaderPolicy(header);
  return { header, kid: key.kid, payloadStart: dot1 + 1, payloadEnd: dot2 };
}

function keyForHeader(header: ProtectedHeader, ring: KeyRing, allowMissingKid: boolean): SigningKey {
  const kid = header['kid'];
  if (kid === undefined && allowMissingKid) {
    if (ring.signingKey === undefined) throw joseFailure('ERR_UNKNOWN_KEY');
    return ring.signingKey;
  }
  if (typeof kid !== 'string') throw joseFailure('ERR_TOKEN_MALFORMED');
  const key = ring.findSigningKey(kid);
  if (key === undefined) throw joseFailure('ERR_UNKNOWN_KEY');
  return key;
}

/**
 * RFC 8725 §3.1: the verifier allows exactly the algorithm it issues. `b64` (RFC 7797)
 * and `zip` change how the payload is read and are not JWS features we support.
 */
function checkJwsHeaderPolicy(header: ProtectedHeader): void {
  if (header['alg'] !== 'HS256') throw joseFailure('ERR_UNSUPPORTED_ALG');
  if (header['b64'] !== undefined || header['zip'] !== undefined) throw joseFailure('ERR_UNSUPPORTED_ALG');
  checkCommonHeaderPolicy(header);
}
