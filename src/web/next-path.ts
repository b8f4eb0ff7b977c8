/** The post-login redirect target: a path on this origin, never an open redirect. */

/** Longest `next` accepted, in characters. */
export const MAX_NEXT_PATH_CHARS = 2048;

// One '/', then anything visible in ASCII except a second '/' or '\' right after it.
// Visible ASCII only: no control characters (browsers strip tab/CR/LF, turning "/\t/x"
// into "//x"), no spaces, nothing Node would refuse in a Location header.
const safePathRegExp = /^\/(?![/\\])[\x21-\x7e]*$/;

/**
 * `next` when it is a safe same-origin path, otherwise '/'.
 * Accepted: a string of at most 2048 visible ASCII characters that starts with exactly one
 * '/' and contains no backslash (WHATWG URL parsing treats '\' as '/' in http URLs).
 *
 * @example
 * safeNextPath('/sessions?x=1') // '/sessions?x=1'
 * safeNextPath('//evil.example') // '/'
 * safeNextPath('https://evil.example') // '/'
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length > MAX_NEXT_PATH_CHARS) return '/';
  if (!safePathRegExp.test(next) || next.includes('\\')) return '/';
  // Last check with the real parser: the result must stay on the origin it is resolved against.
  try {
    const base = 'http://ringlet.invalid';
    if (new URL(next, base).origin !== base) return '/';
  } catch {
    return '/';
  }
  return next;
}
