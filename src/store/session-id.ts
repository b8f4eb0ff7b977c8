/**
 * Session ids and refs.
 *
 * id  = base64url(slot u32 BE | generation u32 BE | secret 16 bytes): 24 bytes, exactly
 *       32 characters, no padding, every character significant (24 is a multiple of 3,
 *       so there is no non-canonical last character). 128 bits come from the CSPRNG.
 * ref = 6 hex digits of slot + 8 hex digits of generation: non-secret, stable for the
 *       session's life, different after the slot is reused.
 *
 * Parsing is a charCodeAt loop into a scratch array: nothing is allocated for a hostile
 * or stale id, and length and alphabet are checked before any byte is used (rpcd does the
 * same for its ids).
 */

export const ID_CHARS = 32;
export const REF_CHARS = 14;

/** base64url alphabet value of each ASCII code, -1 outside the alphabet (RFC 4648 §5). */
const BASE64URL_VALUE = new Int8Array(128).fill(-1);
{
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) BASE64URL_VALUE[alphabet.charCodeAt(i)] = i;
}

function value(text: string, index: number): number {
  const code = text.charCodeAt(index);
  // Non-ASCII maps outside the table: -1, never an exception.
  return code < 128 ? BASE64URL_VALUE[code]! : -1;
}

/**
 * Decode a 32-character id into `out[0..24)`. Returns false for anything that is not a
 * string of exactly 32 base64url characters. Never throws, never allocates.
 */
export function decodeId(id: unknown, out: Uint8Array): boolean {
  if (typeof id !== 'string' || id.length !== ID_CHARS) return false;
  for (let group = 0, o = 0; group < ID_CHARS; group += 4, o += 3) {
    const a = value(id, group), b = value(id, group + 1), c = value(id, group + 2), d = value(id, group + 3);
    if ((a | b | c | d) < 0) return false;
    const bits = (a << 18) | (b << 12) | (c << 6) | d;
    out[o] = bits >>> 16;
    out[o + 1] = (bits >>> 8) & 0xff;
    out[o + 2] = bits & 0xff;
  }
  return true;
}

/** Read a big-endian u32 from `bytes` at `offset`. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Write a big-endian u32 into `bytes` at `offset`. */
export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** The non-secret handle for slot + generation. */
export function encodeRef(slot: number, generation: number): string {
  return slot.toString(16).padStart(6, '0') + generation.toString(16).padStart(8, '0');
}

/** The ref of a view's numeric handle (slot · 2^32 + generation). */
export function refOfHandle(handle: number): string {
  return encodeRef(Math.floor(handle / 2 ** 32), handle % 2 ** 32);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Parse a ref into `[slot, generation]` packed as `slot * 2^32 + generation`, or -1 for
 * anything that is not exactly 14 lowercase hex digits. Never throws.
 */
export function decodeRef(ref: unknown): number {
  if (typeof ref !== 'string' || ref.length !== REF_CHARS) return -1;
  let slot = 0;
  let generation = 0;
  for (let i = 0; i < REF_CHARS; i++) {
    const v = hexValue(ref.charCodeAt(i));
    if (v < 0) return -1;
    if (i < 6) slot = slot * 16 + v;
    else generation = generation * 16 + v;
  }
  return slot * 2 ** 32 + generation;
}
