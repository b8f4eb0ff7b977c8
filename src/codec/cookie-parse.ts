/**
 * Cookie request-header parsing (RFC 6265 §5.4 / §4.2.1, server side): lenient, never
 * throws, first occurrence wins, bounded.
 *
 * Agrees with jshttp/cookie 2.x `parseCookie` on its test suite and its corpus of real
 * headers (test/fixtures/cookie-parse-cases.json): pairs are split on `;`, a pair without
 * `=` is skipped, names and values are trimmed of spaces and tabs, DQUOTEs are kept, and a
 * value with `%` is percent-decoded unless the escape is invalid (then kept verbatim).
 *
 * The scan is linear in the header length even for hostile input such as 100k `;` or a
 * header of `a;a;a;...` with one `=` at the end: the position of the next `=` is cached
 * and only searched for again once the scan has passed it.
 */
import { integerOption } from '../util/options.js';

/**
 * Headers longer than this are ignored (treated as carrying no cookies). Node's default
 * limit for all request headers together is 16 KiB, so this never bites first unless an
 * operator raises that limit.
 */
export const DEFAULT_MAX_COOKIE_HEADER_BYTES = 16_384;
/** Values of one name returned by getCookieValues: bounds work on a header of duplicates. */
export const DEFAULT_MAX_COOKIE_VALUES = 8;

export interface ParseCookieOptions {
  /** Headers longer than this (in bytes: Node decodes header bytes as latin1) yield nothing. */
  maxBytes?: number;
}

export interface CookieValuesOptions extends ParseCookieOptions {
  /** Stop after this many values of the name. Default {@link DEFAULT_MAX_COOKIE_VALUES}. */
  maxValues?: number;
}

const SPACE = 0x20;
const TAB = 0x09;

/**
 * Parse a `Cookie` request header into a null-prototype record; the first value of each
 * name wins (RFC 6265 §5.4 orders longer paths and older cookies first).
 *
 * Never throws: a malformed pair is skipped, a header over `maxBytes` yields `{}`.
 *
 * @example parseCookieHeader('sid=abc; theme=dark') // { sid: 'abc', theme: 'dark' }
 */
export function parseCookieHeader(header: string | undefined, options?: ParseCookieOptions): Record<string, string> {
  const record = Object.create(null) as Record<string, string>;
  const maxBytes = resolveMaxBytes(options);
  if (typeof header !== 'string' || header.length < 2 || header.length > maxBytes) return record;
  const len = header.length;
  let index = 0;
  let eqIdx = -1;
  while (index < len) {
    let end = header.indexOf(';', index);
    if (end === -1) end = len;
    if (eqIdx < index) {
      eqIdx = header.indexOf('=', index);
      if (eqIdx === -1) break; // no `=` left: no more pairs
    }
    if (eqIdx > end) {
      index = end + 1; // this pair has no `=`: skipped
      continue;
    }
    const nameStart = skipWhitespace(header, index, eqIdx);
    const name = header.slice(nameStart, trimEnd(header, eqIdx, nameStart));
    if (record[name] === undefined) {
      const valueStart = skipWhitespace(header, eqIdx + 1, end);
      record[name] = decodeCookieValue(header.slice(valueStart, trimEnd(header, end, valueStart)));
    }
    index = end + 1;
  }
  return record;
}

/**
 * Every value of cookie `name` in header order (decoded as {@link parseCookieHeader}
 * does), at most `maxValues` of them, without building the whole record. The session
 * layer tries each: a planted cookie with a longer Path can shadow the real one.
 *
 * Never throws.
 *
 * @example getCookieValues('sid=a; x=1; sid=b', 'sid') // ['a', 'b']
 */
export function getCookieValues(header: string | undefined, name: string, options?: CookieValuesOptions): string[] {
  const values: string[] = [];
  const maxBytes = resolveMaxBytes(options);
  const maxValues = resolveMaxValues(options);
  if (typeof header !== 'string' || header.length < 2 || header.length > maxBytes) return values;
  const len = header.length;
  const nameLength = name.length;
  let index = 0;
  let eqIdx = -1;
  while (index < len) {
    let end = header.indexOf(';', index);
    if (end === -1) end = len;
    if (eqIdx < index) {
      eqIdx = header.indexOf('=', index);
      if (eqIdx === -1) break;
    }
    if (eqIdx > end) {
      index = end + 1;
      continue;
    }
    const nameStart = skipWhitespace(header, index, eqIdx);
    const nameEnd = trimEnd(header, eqIdx, nameStart);
    if (nameEnd - nameStart === nameLength && header.startsWith(name, nameStart)) {
      const valueStart = skipWhitespace(header, eqIdx + 1, end);
      values.push(decodeCookieValue(header.slice(valueStart, trimEnd(header, end, valueStart))));
      if (values.length >= maxValues) break;
    }
    index = end + 1;
  }
  return values;
}

function skipWhitespace(text: string, index: number, max: number): number {
  while (index < max) {
    const code = text.charCodeAt(index);
    if (code !== SPACE && code !== TAB) return index;
    index++;
  }
  return max;
}

function trimEnd(text: string, index: number, min: number): number {
  while (index > min) {
    const code = text.charCodeAt(index - 1);
    if (code !== SPACE && code !== TAB) return index;
    index--;
  }
  return min;
}

/** Percent-decoding as browsers' `document.cookie` writers expect; bad escapes stay verbatim. */
function decodeCookieValue(value: string): string {
  if (value.indexOf('%') === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// Built once: parsing runs on every request, and an options object per call is garbage.
const MAX_BYTES_DEFAULT = { fallback: DEFAULT_MAX_COOKIE_HEADER_BYTES } as const;
const MAX_VALUES_DEFAULT = { fallback: DEFAULT_MAX_COOKIE_VALUES } as const;

function resolveMaxBytes(options: ParseCookieOptions | undefined): number {
  return integerOption(options?.maxBytes, 'maxBytes', 1, Number.MAX_SAFE_INTEGER, MAX_BYTES_DEFAULT);
}

function resolveMaxValues(options: CookieValuesOptions | undefined): number {
  return integerOption(options?.maxValues, 'maxValues', 1, Number.MAX_SAFE_INTEGER, MAX_VALUES_DEFAULT);
}
