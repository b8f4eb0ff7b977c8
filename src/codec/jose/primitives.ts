/**
 * The two cryptographic primitives the JOSE codecs use, exposed so their known-answer
 * vectors (RFC 4231, the GCM specification) can be run against exactly this code.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** GCM tag length in bytes. Always passed to node:crypto, which otherwise accepts truncated tags. */
export const GCM_TAG_BYTES = 16;
/** GCM IV length in bytes (RFC 7518 §5.3: 96 bits). */
export const GCM_IV_BYTES = 12;

export type GcmCipherName = 'aes-128-gcm' | 'aes-256-gcm';

/** HMAC-SHA-256 of `data` (strings are hashed as UTF-8). */
export function hmacSha256(key: KeyObject | Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** The GCM cipher for a 16- or 32-byte key. */
export function gcmCipherFor(keyBytes: number): GcmCipherName {
  if (keyBytes === 32) return 'aes-256-gcm';
  if (keyBytes === 16) return 'aes-128-gcm';
  throw new TypeError(`key: AES-GCM needs 16 or 32 bytes, got ${keyBytes}`);
}

export interface GcmSealed {
  ciphertext: Buffer;
  tag: Buffer;
}

/** AES-GCM encryption with a 16-byte tag. `key` must be 16 or 32 bytes, `iv` 12 bytes. */
export function aesGcmEncrypt(
  cipherName: GcmCipherName,
  key: KeyObject | Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array | string,
  aad: Uint8Array,
): GcmSealed {
  const cipher = createCipheriv(cipherName, key, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  cipher.final(); // GCM is a stream mode: final() yields no bytes, it computes the tag
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * AES-GCM decryption; `undefined` when authentication fails or the IV/tag have the wrong
 * length (checked here as well, so no caller can reach node's truncated-tag acceptance).
 */
export function aesGcmDecrypt(
  cipherName: GcmCipherName,
  key: KeyObject | Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Buffer | undefined {
  if (iv.byteLength !== GCM_IV_BYTES || tag.byteLength !== GCM_TAG_BYTES) return undefined;
  const decipher = createDecipheriv(cipherName, key, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plaintext;
}
