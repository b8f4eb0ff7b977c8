/**
 * JWE compact decryption (RFC 7516 §5.2) for `alg: "dir"` with A256GCM (and A128GCM, for
 * RFC 7520 §5.6 and other writers): the layer below {@link openJwe}.
 *
 * Order: size; exactly five segments; empty encrypted key; protected header (a header
 * this ring wrote is recognised by its exact encoding, anything else is decoded,
 * checked for duplicate names and held to the policy); IV exactly 12 bytes and tag
 * exactly 16 bytes (node would accept a truncated tag); decryption.
 *
 * `zip` (RFC 7516 §4.1.3) is refused with ERR_UNSUPPORTED_ALG before any decryption:
 * compressing secrets next to attacker-influenced data leaks them through the length
 * (CRIME), ringlet never writes it, and refusing it leaves no inflation to bound.
 */
import { decodeBase64urlInto } from '../base64url.js';
import { joseFailure } from '../jose/failures.js';
import { checkCommonHeaderPolicy, decodeProtectedHeader } from '../jose/header.js';
import type { ProtectedHeader } from '../jose/header.js';
import { checkTokenSize, type TokenSizeOptions } from '../jose/limits.js';
import { aesGcmDecrypt, GCM_IV_BYTES, GCM_TAG_BYTES } from '../jose/primitives.js';
import { ivScratch, segmentBuffer, tagScratch } from '../jose/scratch.js';
import type { EncryptionKey, KeyRing } from '../jwk/key-ring.js';

/** 12-byte IV → 16 base64url characters; 16-byte tag → 22. */
const IV_CHARS = 16;
const TAG_CHARS = 22;

export type DecryptJweOptions = TokenSizeOptions;

export interface DecryptedJwe {
  plaintext: Buffer;
  header: ProtectedHeader;
  kid: string;
  /** False when a non-issuing (older) key decrypted it: the caller should re-seal. */
  keyIsCurrent: boolean;
}

/**
 * Decrypt a compact JWE with the ring.
 * @throws RingletError ERR_TOKEN_TOO_LARGE, ERR_TOKEN_MALFORMED, ERR_UNSUPPORTED_ALG, ERR_UNKNOWN_KEY,
 *   ERR_DECRYPTION_FAILED
 */
export function decryptCompactJwe(token: string, ring: KeyRing, options?: DecryptJweOptions): DecryptedJwe {
  checkTokenSize(token, options);
  const dot1 = token.indexOf('.');
  const dot2 = dot1 === -1 ? -1 : token.indexOf('.', dot1 + 1);
  const dot3 = dot2 === -1 ? -1 : token.indexOf('.', dot2 + 1);
  const dot4 = dot3 === -1 ? -1 : token.indexOf('.', dot3 + 1);
  if (dot4 === -1 || token.indexOf('.', dot4 + 1) !== -1) throw joseFailure('ERR_TOKEN_MALFORMED');
  // RFC 7518 §4.5: with direct encryption the JWE Encrypted Key is the empty octet sequence.
  if (dot2 !== dot1 + 1) throw joseFailure('ERR_TOKEN_MALFORMED');

  const encodedHeader = token.slice(0, dot1);
  const issued = ring.issuedJweHeaders.get(encodedHeader);
  let header: ProtectedHeader;
  let key: EncryptionKey;
  let aad: Buffer;
  if (issued !== undefined) {
    ({ header, key, aad } = issued);
  } else {
    header = decodeProtectedHeader(encodedHeader);
    key = keyForHeader(header, ring);
    aad = Buffer.from(encodedHeader, 'ascii');
  }

  if (dot3 - dot2 - 1 !== IV_CHARS || token.length - dot4 - 1 !== TAG_CHARS) throw joseFailure('ERR_TOKEN_MALFORMED');
  // Decoded straight from the token into reusable buffers: no segment strings, no allocation.
  const ciphertext = segmentBuffer(dot4 - dot3 - 1);
  const ciphertextBytes = decodeBase64urlInto(token, dot3 + 1, dot4, ciphertext, 0);
  if (
    decodeBase64urlInto(token, dot2 + 1, dot3, ivScratch, 0) !== GCM_IV_BYTES ||
    decodeBase64urlInto(token, dot4 + 1, token.length, tagScratch, 0) !== GCM_TAG_BYTES ||
    ciphertextBytes < 0
  ) {
    throw joseFailure('ERR_TOKEN_MALFORMED');
  }

  const decrypted = aesGcmDecrypt(key.cipher, key.key, ivScratch, ciphertext.subarray(0, ciphertextBytes), tagScratch, aad);
  if (decrypted === undefined) throw joseFailure('ERR_DECRYPTION_FAILED');
  return { plaintext: decrypted, header, kid: key.kid, keyIsCurrent: key === ring.encryptionKey };
}

/** Header policy for tokens we did not write (other JOSE libraries, older headers). */
function keyForHeader(header: ProtectedHeader, ring: KeyRing): EncryptionKey {
  if (header['alg'] !== 'dir') throw joseFailure('ERR_UNSUPPORTED_ALG');
  const enc = header['enc'];
  if (enc !== 'A256GCM' && enc !== 'A128GCM') throw joseFailure('ERR_UNSUPPORTED_ALG');
  if (header['zip'] !== undefined) throw joseFailure('ERR_UNSUPPORTED_ALG');
  checkCommonHeaderPolicy(header);
  const kid = header['kid'];
  if (typeof kid !== 'string') throw joseFailure('ERR_TOKEN_MALFORMED');
  const key = ring.findEncryptionKey(kid);
  if (key === undefined) throw joseFailure('ERR_UNKNOWN_KEY');
  // The algorithm is bound to the key: an A128GCM header cannot select an A256GCM key.
  if (key.enc !== enc) throw joseFailure('ERR_UNSUPPORTED_ALG');
  return key;
}
