/**
 * JOSE protected headers: decoding with duplicate detection, and the header policy both
 * token kinds share.
 *
 * RFC 7515 §4 / RFC 7516 §4: header parameter names must be unique; a parser must reject
 * duplicates or keep the lexically last. `JSON.parse` keeps the last, so a header with
 * two `alg` members would be read differently by a parser that keeps the first. We reject
 * any duplicate top-level name.
 */
import { tryDecodeBase64url } from '../base64url.js';
import { joseFailure } from './failures.js';

export type ProtectedHeader = Readonly<Record<string, unknown>>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Header members that point at keys somewhere else (a URL, an embedded key). We never
 * use them, and a token carrying one is asking to be verified with an attacker's key.
 */
const foreignKeyMembers = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/**
 * Decode a protected-header segment into a JSON object.
 * @throws RingletError ERR_TOKEN_MALFORMED (bad base64url, UTF-8 or JSON; not an object; duplicate names)
 */
export function decodeProtectedHeader(segment: string): ProtectedHeader {
  const bytes = tryDecodeBase64url(segment);
  if (bytes === undefined) throw joseFailure('ERR_TOKEN_MALFORMED');
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw joseFailure('ERR_TOKEN_MALFORMED');
  }
  if (!isJsonObject(value) || hasDuplicateTopLevelName(text)) throw joseFailure('ERR_TOKEN_MALFORMED');
  return value;
}

/**
 * Policy shared by JWS and JWE: we understand no `crit` extension and accept no header
 * that names a key location. `typ` is not checked: the two token kinds cannot be confused
 * (a bearer JWS has three segments, a cookie JWE five, each with its own keys).
 * @throws RingletError ERR_UNSUPPORTED_ALG
 */
export function checkCommonHeaderPolicy(header: ProtectedHeader): void {
  // RFC 7515 §4.1.11: a recipient must reject a `crit` it does not understand; we understand none.
  if (header['crit'] !== undefined) throw joseFailure('ERR_UNSUPPORTED_ALG');
  for (const name of foreignKeyMembers) {
    if (header[name] !== undefined) throw joseFailure('ERR_UNSUPPORTED_ALG');
  }
}

/** A JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * True when the top-level object in `json` (already known to be a valid JSON object)
 * names a member twice. Names are compared after unescaping, so `"\u0061lg"` and `"alg"`
 * count as the same name.
 */
export function hasDuplicateTopLevelName(json: string): boolean {
  const seen = new Set<string>();
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (code === 0x22 /* " */) {
      const start = i;
      for (i++; i < json.length; i++) {
        const c = json.charCodeAt(i);
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x22) break;
      }
      if (depth === 1 && expectName) {
        const name = JSON.parse(json.slice(start, i + 1)) as string;
        if (seen.has(name)) return true;
        seen.add(name);
        expectName = false;
      }
    } else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectName = true;
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      depth--;
    } else if (code === 0x2c /* , */ && depth === 1) {
      expectName = true;
    }
  }
  return false;
}
