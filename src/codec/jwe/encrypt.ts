/**
 * JWE compact encryption, `alg: "dir"` + `enc: "A256GCM"` (RFC 7516 §5.1, RFC 7518 §4.5,
 * §5.3), with the ring's issuing key. The encrypted-key segment is empty (direct
 * encryption); the AAD is the ASCII of the encoded protected header, pre-encoded per key.
 */
import { ConfigError } from '../../errors.js';
import { fillRandom } from '../../util/random-pool.js';
import { aesGcmEncrypt, GCM_IV_BYTES } from '../jose/primitives.js';
import type { KeyRing } from '../jwk/key-ring.js';

/** Reused for every seal: the cipher copies the IV, and the string is built from it before return. */
const ivScratch = Buffer.alloc(GCM_IV_BYTES);

/**
 * Encrypt `plaintext` (a string is taken as UTF-8) into a compact JWE. Never compressed
 * (no `zip`): compressing secrets next to attacker-influenced data leaks them (CRIME).
 * @throws ConfigError when the ring has no A256GCM key.
 */
export function encryptCompactJwe(plaintext: string | Uint8Array, ring: KeyRing): string {
  const encodedHeader = ring.sealHeader;
  const key = ring.encryptionKey;
  if (encodedHeader === undefined || key === undefined) throw new ConfigError('ring', 'has no A256GCM key to seal with');
  const issued = ring.issuedJweHeaders.get(encodedHeader);
  if (issued === undefined) throw new Error('key ring invariant: issuing header not indexed');
  // RFC 7518 §5.3: a fresh random 96-bit IV per message, drawn from the pooled CSPRNG.
  fillRandom(ivScratch);
  const { ciphertext, tag } = aesGcmEncrypt(key.cipher, key.key, ivScratch, plaintext, issued.aad);
  return `${encodedHeader}..${ivScratch.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`;
}
