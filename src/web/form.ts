/**
 * application/x-www-form-urlencoded parsing (WHATWG URL §5.1), strict where the standard
 * parser is lenient: an invalid percent-escape or invalid UTF-8 is an error, not a
 * U+FFFD substitution, so what a route sees is exactly what the form sent.
 */
import { RingletError } from '../errors.js';
import { bodyText } from './body-text.js';

/** Field count bound: a login or revoke form has under ten; the body size bounds the rest. */
export const MAX_FORM_FIELDS = 256;

// A '%' not followed by two hex digits.
const badEscapeRegExp = /%(?![0-9a-fA-F]{2})/;

function decodeComponent(raw: string): string {
  const spaced = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!spaced.includes('%')) return spaced;
  if (badEscapeRegExp.test(spaced)) throw new RingletError('ERR_BODY_MALFORMED', 'invalid percent-escape in form body');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // URIError: the escapes decode to invalid UTF-8.
    throw new RingletError('ERR_BODY_MALFORMED', 'invalid UTF-8 in form body');
  }
}

/**
 * Parse a urlencoded body into a null-prototype record. The first occurrence of a name
 * wins (a later duplicate cannot override what a check already looked at); `+` is a space.
 * Throws `RingletError('ERR_BODY_MALFORMED')` for invalid escapes, invalid UTF-8 or more than
 * {@link MAX_FORM_FIELDS} fields; never a `URIError`.
 *
 * @example
 * parseForm(Buffer.from('username=ann&next=%2Fsessions'))['next'] // '/sessions'
 */
export function parseForm(body: Uint8Array): Record<string, string> {
  const text = bodyText(body, 'form');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (text.length === 0) return out;
  let fields = 0;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    if (++fields > MAX_FORM_FIELDS) throw new RingletError('ERR_BODY_MALFORMED', `more than ${MAX_FORM_FIELDS} form fields`);
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1));
    if (!(name in out)) out[name] = value;
  }
  return out;
}
