/**
 * A request body as text: invalid UTF-8 is refused, never replaced with U+FFFD, so what a
 * route sees is exactly what was sent.
 */
import { RingletError } from '../errors.js';

// urlencoded: "UTF-8 decode without BOM" (WHATWG URL §5.1), so a leading U+FEFF stays part of
// the first name. JSON: RFC 8259 §8.1 lets a parser ignore a BOM, and JSON.parse would not.
const formDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const jsonDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** `body` decoded as strict UTF-8 for a form or a JSON body; RingletError `ERR_BODY_MALFORMED` when it is not UTF-8. */
export function bodyText(body: Uint8Array, kind: 'form' | 'JSON'): string {
  try {
    return (kind === 'form' ? formDecoder : jsonDecoder).decode(body);
  } catch {
    throw new RingletError('ERR_BODY_MALFORMED', `invalid UTF-8 in ${kind} body`);
  }
}
