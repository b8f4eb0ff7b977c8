/**
 * Constant-time comparison for MACs, tags and secret handles.
 *
 * `crypto.timingSafeEqual` throws when lengths differ, and the length of a MAC is public
 * anyway, so the length is checked first and only equal-length inputs reach the
 * constant-time compare.
 */
import { timingSafeEqual } from 'node:crypto';

/** True when `a` and `b` hold the same bytes; time depends only on the length. */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return timingSafeEqual(a, b);
}

/**
 * True when two secret strings (a CSRF token and the one it must equal) are the same UTF-8
 * bytes. Never throws: a string of the right length in characters but not in bytes (one
 * non-ASCII character) is simply unequal.
 */
export function timingSafeEqualText(given: string, expected: string): boolean {
  return timingSafeEqualBytes(Buffer.from(given, 'utf8'), Buffer.from(expected, 'utf8'));
}
