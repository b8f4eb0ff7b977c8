/** The post-login redirect target: a path on this origin, never an open redirect. */

/** Longest `next` accepted, in characters. */
export const MAX_NEXT_PATH_CHARS = 2048;

// One '/', then anything visible in ASCII except a second '/' or '\' right after it.
// Visible ASCII only: no control characters (browsers strip tab/CR/LF, turning "/\t/x"
// into "//x"), no spaces, nothing Node would refuse in a Location header.
const safePathRegExp = /^\/(?![/\\])[\x21-\x7e]*$/;

/** Percent-encoded '/' or '\': harmless to the browser, but a server that decodes them before redirecting makes `//host`. */
const encodedSlashRegExp = /%(?:2f|5c)/i;

/**
 * `next` when it is a safe same-origin path, normalised; otherwise '/'.
 * Accepted: a string of at most 2048 visible ASCII characters that starts with exactly one
 * '/' and contains no backslash (WHATWG URL parsing treats '\' as '/' in http URLs) and no
 * percent-encoded slash or backslash. Dot segments (also `%2e`) are resolved the way the
 * browser resolves them, and the result must still be a single-'/' path on this origin.
 *
 * @example
 * safeNextPath('/sessions?x=1') // '/sessions?x=1'
 * safeNextPath('/a/b/../c') // '/a/c'
 * safeNextPath('//evil.example') // '/'
 * safeNextPath('/a/..//evil.example') // '/'
 * safeNextPath('https://evil.example') // '/'
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length > MAX_NEXT_PATH_CHARS) return '/';
  if (!safePathRegExp.test(next) || next.includes('\\') || encodedSlashRegExp.test(next)) return '/';
  // Resolve with the real parser: the result must stay on the origin it is resolved against,
  // and after dot segments are gone it must still be a path with one leading '/'.
  let resolved: URL;
  const base = 'http://ringlet.invalid';
  try {
    resolved = new URL(next, base);
  } catch {
    return '/';
  }
  if (resolved.origin !== base) return '/';
  const normalised = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  if (!safePathRegExp.test(normalised) || normalised.length > MAX_NEXT_PATH_CHARS) return '/';
  return normalised;
}
