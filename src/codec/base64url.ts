/**
 * Strict base64url (RFC 4648 §5, unpadded, as RFC 7515 §2 requires for JOSE).
 *
 * Node's decoder is lenient: it accepts `+`, `/`, `=`, whitespace, stray characters and
 * non-canonical final characters, so two different strings can decode to the same bytes
 * (a "different" token that verifies). We accept exactly the strings our encoder can
 * produce: decode leniently, re-encode, and compare. That one comparison rejects every
 * character outside the alphabet, padding, whitespace, lengths ≡ 1 (mod 4) and
 * non-canonical last characters, and measured faster here than a validating regex.
 */
import { RingletError } from '../errors.js';

/** Encode bytes as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString('base64url');
}

/** Encode a string's UTF-8 bytes as unpadded base64url. */
export function encodeBase64urlText(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/**
 * Decode canonical unpadded base64url, or return `undefined` for anything else.
 * Never throws; the hot paths use this to avoid exception cost on bad input.
 */
export function tryDecodeBase64url(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/**
 * Decode canonical unpadded base64url.
 *
 * @throws RingletError `ERR_MALFORMED` for any other input (the message never echoes it).
 * @example decodeBase64url('aGk') // <Buffer 68 69>
 */
export function decodeBase64url(text: string): Buffer {
  const bytes = tryDecodeBase64url(text);
  if (bytes === undefined) throw new RingletError('ERR_MALFORMED', 'invalid base64url');
  return bytes;
}

/** True when `text` is canonical unpadded base64url. */
export function isBase64url(text: string): boolean {
  return tryDecodeBase64url(text) !== undefined;
}
