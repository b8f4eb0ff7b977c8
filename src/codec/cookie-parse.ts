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
  const pair = newCursor();
  while (nextPair(header, pair)) {
    const name = header.slice(pair.nameStart, pair.nameEnd);
    if (record[name] === undefined) record[name] = pairValue(header, pair);
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
  const pair = newCursor();
  while (nextPair(header, pair)) {
    if (pair.nameEnd - pair.nameStart === name.length && header.startsWith(name, pair.nameStart)) {
      values.push(pairValue(header, pair));
      if (values.length >= maxValues) break;
    }
  }
  return values;
}

/** Where the scan is, and the pair it stopped at (indexes into the header). */
interface PairCursor {
  /** Where the next pair starts. */
  index: number;
  /** The next `=` at or after `index` (cached: searched again only once the scan passes it). */
  eqIdx: number;
  nameStart: number;
  nameEnd: number;
  /** The pair's end: its `;` or the header's end. */
  end: number;
}

function newCursor(): PairCursor {
  return { index: 0, eqIdx: -1, nameStart: 0, nameEnd: 0, end: 0 };
}

/** Moves `c` to the next pair that has a `=` (its name trimmed); false when none is left. */
function nextPair(header: string, c: PairCursor): boolean {
  const len = header.length;
  while (c.index < len) {
    let end = header.indexOf(';', c.index);
    if (end === -1) end = len;
    if (c.eqIdx < c.index) {
      c.eqIdx = header.indexOf('=', c.index);
      if (c.eqIdx === -1) return false; // no `=` left: no more pairs
    }
    if (c.eqIdx > end) {
      c.index = end + 1; // this pair has no `=`: skipped
      continue;
    }
    c.nameStart = skipWhitespace(header, c.index, c.eqIdx);
    c.nameEnd = trimEnd(header, c.eqIdx, c.nameStart);
    c.end = end;
    c.index = end + 1;
    return true;
  }
  return false;
}

/** The value of the pair `c` stopped at: trimmed, then percent-decoded. */
function pairValue(header: string, c: PairCursor): string {
  const valueStart = skipWhitespace(header, c.eqIdx + 1, c.end);
  return decodeCookieValue(header.slice(valueStart, trimEnd(header, c.end, valueStart)));
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
