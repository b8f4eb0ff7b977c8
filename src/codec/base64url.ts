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

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** ASCII code → 6-bit value, -1 for anything outside the base64url alphabet. */
const decodeTable = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) decodeTable[alphabet.charCodeAt(i)] = i;

/** Room needed to decode `chars` base64url characters. */
export function decodedLengthBound(chars: number): number {
  return Math.ceil(chars / 4) * 3;
}

/**
 * Strictly decode `text[start, end)` into `target` at `offset`, without slicing the
 * string or allocating: the token hot paths decode IV, tag, MAC and payload segments
 * straight into reusable buffers. Returns the number of bytes written, or -1 for any
 * input {@link tryDecodeBase64url} would reject (the same canonical-form rule, checked
 * character by character). `target` must have {@link decodedLengthBound} bytes free.
 */
export function decodeBase64urlInto(text: string, start: number, end: number, target: Uint8Array, offset: number): number {
  const remainder = (end - start) & 3;
  if (remainder === 1) return -1;
  const fullEnd = end - remainder;
  let out = offset;
  let i = start;
  for (; i < fullEnd; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 127) return -1;
    const a = decodeTable[c0] as number;
    const b = decodeTable[c1] as number;
    const c = decodeTable[c2] as number;
    const d = decodeTable[c3] as number;
    if ((a | b | c | d) < 0) return -1;
    const bits = (a << 18) | (b << 12) | (c << 6) | d;
    target[out] = bits >>> 16;
    target[out + 1] = (bits >>> 8) & 0xff;
    target[out + 2] = bits & 0xff;
    out += 3;
  }
  if (remainder !== 0) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = remainder === 3 ? text.charCodeAt(i + 2) : 0x41; // 'A' (0) pads the 2-char case
    if ((c0 | c1 | c2) > 127) return -1;
    const a = decodeTable[c0] as number;
    const b = decodeTable[c1] as number;
    const c = decodeTable[c2] as number;
    if ((a | b | c) < 0) return -1;
    // Canonical form (RFC 4648 §3.5): the unused low bits of the last character are zero.
    if (remainder === 2 ? (b & 0x0f) !== 0 : (c & 0x03) !== 0) return -1;
    target[out++] = (a << 2) | (b >>> 4);
    if (remainder === 3) target[out++] = ((b & 0x0f) << 4) | (c >>> 2);
  }
  return out - offset;
}

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
 * @throws RingletError `ERR_BASE64URL_MALFORMED` for any other input (the message never echoes it).
 * @example decodeBase64url('aGk') // <Buffer 68 69>
 */
export function decodeBase64url(text: string): Buffer {
  const bytes = tryDecodeBase64url(text);
  if (bytes === undefined) throw new RingletError('ERR_BASE64URL_MALFORMED', 'invalid base64url');
  return bytes;
}

/** True when `text` is canonical unpadded base64url. */
export function isBase64url(text: string): boolean {
  return tryDecodeBase64url(text) !== undefined;
}
