/**
 * Seeded generators of hostile input for the hostile suite (test/hostile/) and the soak
 * benchmark. Every generator takes a SeededRandom, so a failing case is replayed from its
 * seed and index; each returns the value and the name of the mutation that made it.
 *
 * Header values stay within what node:http lets a client send and a server receive as a
 * header (tab, 0x20-0x7e, 0x80-0xff as latin1); bytes outside that set are a parser
 * question answered by llhttp before ringlet sees anything (the raw-socket sample in
 * test/hostile/fuzz-http.test.ts sends them).
 */
import type { SeededRandom } from './seeded-random.js';

export interface Mutant {
  value: string;
  /** Which mutation made it: printed when an assertion fails. */
  kind: string;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

/** A string of `length` characters drawn from `alphabet`. */
export function randomString(rng: SeededRandom, length: number, alphabet = PRINTABLE): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(alphabet.length)];
  return out;
}

/** Characters a client may put in a header value: tab, 0x20-0x7e, 0x80-0xff (latin1). */
export function headerSafeChars(rng: SeededRandom, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = rng.int(10);
    const code = r < 6 ? 0x20 + rng.int(0x5f) : r < 9 ? 0x80 + rng.int(0x80) : 0x09;
    out += String.fromCharCode(code);
  }
  return out;
}

function replaceAt(s: string, index: number, insert: string, deleteCount = 1): string {
  return s.slice(0, index) + insert + s.slice(index + deleteCount);
}

function flipBitInBase64url(rng: SeededRandom, segment: string): string {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.length === 0) return `${segment}A`;
  const i = rng.int(bytes.length);
  bytes[i] = bytes[i]! ^ (1 << rng.int(8));
  return bytes.toString('base64url');
}

function b64jsonEncode(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

function decodeHeader(segment: string): Record<string, unknown> {
  try {
    const v = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Protected-header rewrites an attacker tries on JWS/JWE (RFC 7515/7516 §4.1, RFC 8725 §2). */
const HEADER_VARIANTS: ReadonlyArray<[string, (h: Record<string, unknown>) => unknown]> = [
  ['alg none', (h) => ({ ...h, alg: 'none' })],
  ['alg None', (h) => ({ ...h, alg: 'None' })],
  ['alg HS512', (h) => ({ ...h, alg: 'HS512' })],
  ['alg RS256', (h) => ({ ...h, alg: 'RS256' })],
  ['alg dir on a JWS', (h) => ({ ...h, alg: 'dir' })],
  ['alg A256KW', (h) => ({ ...h, alg: 'A256KW' })],
  ['enc A128GCM', (h) => ({ ...h, enc: 'A128GCM' })],
  ['enc A256CBC-HS512', (h) => ({ ...h, enc: 'A256CBC-HS512' })],
  ['no alg', (h) => { const c = { ...h }; delete c['alg']; return c; }],
  ['no kid', (h) => { const c = { ...h }; delete c['kid']; return c; }],
  ['unknown kid', (h) => ({ ...h, kid: 'not-a-key' })],
  ['kid path traversal', (h) => ({ ...h, kid: '../../etc/passwd' })],
  ['kid number', (h) => ({ ...h, kid: 7 })],
  ['crit exp', (h) => ({ ...h, crit: ['exp'], exp: 1 })],
  ['crit empty', (h) => ({ ...h, crit: [] })],
  ['zip DEF', (h) => ({ ...h, zip: 'DEF' })],
  ['zip GZIP', (h) => ({ ...h, zip: 'GZIP' })],
  ['b64 false', (h) => ({ ...h, b64: false, crit: ['b64'] })],
  ['jku', (h) => ({ ...h, jku: 'http://evil.example/jwks' })],
  ['jwk embedded', (h) => ({ ...h, jwk: { kty: 'oct', k: 'AAAA' } })],
  ['typ changed', (h) => ({ ...h, typ: 'at+jwt' })],
  ['extra field', (h) => ({ ...h, x: 1 })],
  ['header is array', (h) => [h]],
  ['header is null', () => null],
  ['header is string', () => '"x"'],
  ['duplicate alg key', (h) => `{"alg":"none",${JSON.stringify(h).slice(1)}`],
  ['__proto__ key', (h) => `{"__proto__":{"alg":"none"},${JSON.stringify(h).slice(1)}`],
  ['huge header', (h) => ({ ...h, pad: 'x'.repeat(3000) })],
  ['header not JSON', () => '{alg:none'],
];

/**
 * A mutation of a compact JWS/JWE serialization (segments joined by '.'): bit flips in
 * decoded bytes, segment shuffles, truncation, base64 variants (padding, '+/', spaces,
 * non-canonical last characters) and protected-header variants. The result always
 * differs from `token`.
 */
export function mutateCompactToken(rng: SeededRandom, token: string): Mutant {
  for (;;) {
    const m = mutateCompactTokenOnce(rng, token);
    if (m.value !== token) return m;
  }
}

function mutateCompactTokenOnce(rng: SeededRandom, token: string): Mutant {
  const parts = token.split('.');
  const pick = () => rng.int(parts.length);
  switch (rng.int(16)) {
    case 0: {
      const i = pick();
      parts[i] = flipBitInBase64url(rng, parts[i]!);
      return { value: parts.join('.'), kind: `bit flip in segment ${i}` };
    }
    case 1: {
      const i = pick();
      const j = pick();
      [parts[i], parts[j]] = [parts[j]!, parts[i]!];
      return { value: parts.join('.'), kind: `swap segments ${i}/${j}` };
    }
    case 2: {
      const cut = rng.int(token.length);
      return { value: token.slice(0, cut), kind: `truncate at ${cut}` };
    }
    case 3: {
      const i = pick();
      return { value: parts.filter((_, k) => k !== i).join('.'), kind: `drop segment ${i}` };
    }
    case 4: {
      const i = pick();
      parts.splice(i, 0, parts[i]!);
      return { value: parts.join('.'), kind: `duplicate segment ${i}` };
    }
    case 5: {
      const i = pick();
      parts[i] = '';
      return { value: parts.join('.'), kind: `empty segment ${i}` };
    }
    case 6: {
      const i = pick();
      const pad = '='.repeat(1 + rng.int(2));
      parts[i] = parts[i] + pad;
      return { value: parts.join('.'), kind: `padding on segment ${i}` };
    }
    case 7: {
      const value = token.replaceAll('-', '+').replaceAll('_', '/');
      return { value: value === token ? `${token}+` : value, kind: 'standard base64 alphabet' };
    }
    case 8: {
      const at = 1 + rng.int(token.length - 1);
      return { value: replaceAt(token, at, rng.pick([' ', '\t', '%20', '\u00a0', '=']), 0), kind: `junk inside at ${at}` };
    }
    case 9: {
      // Non-canonical last character: same bytes to a lenient decoder, refused by ours.
      const i = pick();
      const seg = parts[i]!;
      if (seg.length % 4 === 0 || seg.length === 0) return { value: `${token}.`, kind: 'trailing dot' };
      const last = BASE64URL.indexOf(seg[seg.length - 1]!);
      const spare = seg.length % 4 === 2 ? 4 : 2; // low bits a strict decoder requires to be zero
      parts[i] = seg.slice(0, -1) + BASE64URL[(last ^ (1 + rng.int(spare - 1))) & 63];
      return { value: parts.join('.'), kind: `non-canonical last char of segment ${i}` };
    }
    case 10:
    case 11: {
      const [name, rewrite] = rng.pick(HEADER_VARIANTS);
      parts[0] = b64jsonEncode(rewrite(decodeHeader(parts[0] ?? '')));
      return { value: parts.join('.'), kind: `header: ${name}` };
    }
    case 12: {
      const at = rng.int(token.length);
      return { value: replaceAt(token, at, rng.pick([...BASE64URL])), kind: `replace char ${at}` };
    }
    case 13:
      return { value: token + token.slice(0, 1 + rng.int(40)), kind: 'appended bytes' };
    case 14:
      return { value: rng.int(2) === 0 ? token.toUpperCase() : token.toLowerCase(), kind: 'case changed' };
    default: {
      const n = rng.pick([0, 1, 2, 3, 4, 6, 7]);
      const segs = Array.from({ length: n }, () => randomString(rng, rng.int(60), BASE64URL));
      return { value: segs.join('.'), kind: `random ${n}-segment token` };
    }
  }
}

/**
 * Session-id-like strings around a valid RAM-store id (32 base64url characters): random
 * ids, one character changed, lengths 31/33, characters outside the alphabet, slot or
 * generation rewritten with the secret kept. Never equal to `validId`.
 */
export function mutateSessionId(rng: SeededRandom, validId: string): Mutant {
  for (;;) {
    const m = mutateSessionIdOnce(rng, validId);
    if (m.value !== validId) return m;
  }
}

function mutateSessionIdOnce(rng: SeededRandom, id: string): Mutant {
  switch (rng.int(8)) {
    case 0:
      return { value: randomString(rng, 32, BASE64URL), kind: 'random 32-char id' };
    case 1: {
      const at = rng.int(id.length);
      return { value: replaceAt(id, at, rng.pick([...BASE64URL])), kind: `char ${at} changed` };
    }
    case 2:
      return { value: id.slice(0, 31), kind: 'length 31' };
    case 3:
      return { value: id + rng.pick([...BASE64URL]), kind: 'length 33' };
    case 4: {
      const at = rng.int(id.length);
      return { value: replaceAt(id, at, rng.pick(['+', '/', '=', '.', '\u00e9', '\u00ff', '!'])), kind: `non-alphabet char at ${at}` };
    }
    case 5: {
      const bytes = Buffer.from(id, 'base64url');
      bytes.writeUInt32BE(rng.int(2) === 0 ? rng.int(64) : rng.int(2 ** 32), 0);
      return { value: bytes.toString('base64url'), kind: 'slot rewritten, secret kept' };
    }
    case 6: {
      const bytes = Buffer.from(id, 'base64url');
      bytes.writeUInt32BE((bytes.readUInt32BE(4) + 1 + rng.int(3)) >>> 0, 4);
      return { value: bytes.toString('base64url'), kind: 'generation rewritten, secret kept' };
    }
    default:
      return { value: flipBitInBase64url(rng, id), kind: 'bit flip' };
  }
}

/**
 * A Cookie header value without any valid session: random header bytes, huge headers,
 * many pairs, duplicate session cookies carrying bogus values, bad percent-escapes,
 * quotes, pairs without '='. `name` is the session cookie's name.
 */
export function hostileCookieHeader(rng: SeededRandom, name: string, maxChars = 7000): Mutant {
  switch (rng.int(10)) {
    case 0:
      return { value: headerSafeChars(rng, 1 + rng.int(400)), kind: 'random header bytes' };
    case 1:
      return { value: `${name}=${randomString(rng, 2000 + rng.int(maxChars - 2100), BASE64URL)}`, kind: 'huge value' };
    case 2: {
      const pairs = Array.from({ length: 50 + rng.int(600) }, (_, i) => `c${i}=${randomString(rng, rng.int(6), BASE64URL)}`);
      return { value: pairs.join('; ').slice(0, maxChars), kind: 'many pairs' };
    }
    case 3: {
      const dups = Array.from({ length: 2 + rng.int(12) }, () => `${name}=${randomString(rng, rng.pick([32, 32, 20, 200]), BASE64URL)}`);
      return { value: dups.join(rng.pick(['; ', ';', ' ; '])), kind: 'duplicate session cookies' };
    }
    case 4: {
      const escapes = ['%', '%z', '%zz', '%E0%A4%A', '%00', '%C0%80', '%ED%A0%80', '%FF', '%%', '%2', '%3B'];
      const value = Array.from({ length: 1 + rng.int(6) }, () => rng.pick(escapes) + randomString(rng, rng.int(8), BASE64URL)).join('');
      return { value: `${name}=${value}`, kind: 'bad escapes' };
    }
    case 5:
      return { value: ';'.repeat(1 + rng.int(maxChars - 1)), kind: 'semicolons' };
    case 6:
      return { value: `${name}="${randomString(rng, rng.int(40), BASE64URL)}"`, kind: 'quoted value' };
    case 7:
      return { value: Array.from({ length: 1 + rng.int(50) }, () => rng.pick([name, '=', ' ', ';', `${name}=`, '=='])).join(''), kind: 'names and separators' };
    case 8:
      return { value: `${rng.pick([name.toUpperCase(), ` ${name}`, `${name}\u00a0`, `${name}x`, `__Host-${name}`, `__Secure-${name}`])}=${randomString(rng, 32, BASE64URL)}`, kind: 'near-miss cookie name' };
    default:
      return { value: `${name}=${headerSafeChars(rng, rng.int(200))}`, kind: 'session cookie of random bytes' };
  }
}

const JSON_KEYS = ['username', 'password', 'next', 'csrf', 'scope', 'grant_type', 'ref', 'jti', 'user', 'currentPassword', 'newPassword', '__proto__', 'constructor', 'prototype', 'toString', '', 'a'];

function randomJsonValue(rng: SeededRandom, depth: number): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0: return null;
    case 1: return rng.int(2) === 0;
    case 2: return rng.pick([0, -1, 1e308, -0, 2 ** 53 + 1, 0.1]);
    case 3: return randomString(rng, rng.int(20));
    case 4: return rng.pick(['mallory', 'ad\u0000min', '\ud800', 'x'.repeat(70), '', ' ']);
    case 5: return randomString(rng, rng.int(1200));
    case 6: return Array.from({ length: rng.int(4) }, () => randomJsonValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) o[rng.pick(JSON_KEYS.filter((k) => k !== '__proto__'))] = randomJsonValue(rng, depth + 1);
      return o;
    }
  }
}

/** A request body sent as JSON: valid and invalid JSON, wrong top-level types, deep nesting, bad UTF-8, `__proto__`. */
export function hostileJsonBody(rng: SeededRandom): { body: Buffer; kind: string } {
  const text = (s: string, kind: string) => ({ body: Buffer.from(s, 'utf8'), kind });
  switch (rng.int(12)) {
    case 0: return text(JSON.stringify(randomJsonValue(rng, 0)), 'random JSON value');
    case 1: {
      const o: Record<string, unknown> = {};
      for (let i = 1 + rng.int(4); i > 0; i--) o[rng.pick(JSON_KEYS.filter((k) => k !== '__proto__'))] = randomJsonValue(rng, 1);
      return text(JSON.stringify(o), 'random object');
    }
    case 2: {
      const full = JSON.stringify({ username: randomString(rng, 8), password: randomString(rng, 12) });
      return text(full.slice(0, rng.int(full.length)), 'truncated JSON');
    }
    case 3: {
      const d = 1 + rng.int(3000);
      return text(`${'['.repeat(d)}${']'.repeat(rng.int(2) === 0 ? d : 0)}`, `nesting depth ${d}`);
    }
    case 4: return text(`{"__proto__":{"role":"admin"},"username":"${randomString(rng, 6, BASE64URL)}","password":"x"}`, '__proto__ key');
    case 5: return text(`{"username":"a","username":"b","password":"${randomString(rng, 8, BASE64URL)}"}`, 'duplicate keys');
    case 6: return { body: Buffer.concat([Buffer.from('{"username":"'), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), Buffer.from('","password":"x"}')]), kind: 'invalid UTF-8' };
    case 7: return text(`\ufeff{"username":"a","password":"b"}`, 'byte order mark');
    case 8: return text(rng.pick(['', ' ', 'null', '[]', '"x"', '1', 'true', '{}', '{', '}', '{"a":}', "{'a':1}", '{"a":1,}', 'NaN']), 'tiny body');
    case 9: return text(`{"username":"${'\\ud800'.repeat(1 + rng.int(5))}","password":"x"}`, 'lone surrogate escapes');
    case 10: return { body: rng.bytes(rng.int(600)), kind: 'random bytes' };
    default: return text(`{"username":${JSON.stringify(randomString(rng, rng.int(80)))},"password":${JSON.stringify(randomString(rng, rng.int(1100)))}}`, 'credential-shaped');
  }
}

/** A urlencoded body: bad escapes, '+' handling, repeated and empty names, many fields, `__proto__`. */
export function hostileFormBody(rng: SeededRandom): { body: Buffer; kind: string } {
  const text = (s: string, kind: string) => ({ body: Buffer.from(s, 'latin1'), kind });
  const field = () => `${rng.pick(JSON_KEYS)}=${encodeURIComponent(randomString(rng, rng.int(30)))}`;
  switch (rng.int(9)) {
    case 0: return text(Array.from({ length: rng.int(8) }, field).join('&'), 'random fields');
    case 1: return text(`username=${rng.pick(['%', '%z', '%zz', '%E0%A4%A', '%C0%80', '%ED%A0%80', '%FF'])}&password=x`, 'bad escape');
    case 2: return text(Array.from({ length: 200 + rng.int(200) }, (_, i) => `f${i}=1`).join('&'), 'many fields');
    case 3: return text(`__proto__=x&constructor=y&username=${randomString(rng, 5, BASE64URL)}&password=z`, 'prototype names');
    case 4: return text(rng.pick(['', '&', '&&&', '=', '==', 'username', 'username=&password=', '+=+', '%20=%20']), 'tiny form');
    case 5: return text(`username=a&username=admin&password=${randomString(rng, 8, BASE64URL)}`, 'repeated name');
    case 6: return { body: rng.bytes(rng.int(600)), kind: 'random bytes' };
    case 7: return text(`username=${'+'.repeat(rng.int(70))}&password=${'%41'.repeat(rng.int(400))}`, 'plus and escapes');
    default: return text(`username=${encodeURIComponent(randomString(rng, rng.int(80)))}&password=${encodeURIComponent(randomString(rng, rng.int(300)))}&csrf=${randomString(rng, 40, BASE64URL)}`, 'credential-shaped');
  }
}

const MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data', 'application/xml', 'application/jsonx', 'application/json-patch+json', 'application/*', '*/*', 'text/html', 'application/ld+json'];

/** A Content-Type header: case, parameters, whitespace, near misses, junk. */
export function hostileContentType(rng: SeededRandom): Mutant {
  const base = rng.pick(MEDIA_TYPES);
  switch (rng.int(8)) {
    case 0: return { value: base, kind: 'plain' };
    case 1: return { value: base.toUpperCase(), kind: 'upper case' };
    case 2: return { value: `${base}; charset=${rng.pick(['utf-8', 'UTF-16', 'latin1', '"utf-8"', '', 'x'.repeat(300)])}`, kind: 'charset parameter' };
    case 3: return { value: `${rng.pick([' ', '\t', ''])}${base}${rng.pick([' ', ';', ';;', ' ;', ','])}`, kind: 'whitespace and separators' };
    case 4: return { value: `${base}, ${rng.pick(MEDIA_TYPES)}`, kind: 'two types' };
    case 5: return { value: `${base}; boundary=${randomString(rng, rng.int(70), BASE64URL)}`, kind: 'boundary parameter' };
    case 6: return { value: headerSafeChars(rng, rng.int(120)), kind: 'random bytes' };
    default: return { value: replaceAt(base, rng.int(base.length), rng.pick(['', '/', ' ', '\u00e9', 'x'])), kind: 'near miss' };
  }
}

/** An Accept header: wildcards, q-values in and out of range, long lists, junk. */
export function hostileAccept(rng: SeededRandom): Mutant {
  const types = ['text/html', 'application/json', '*/*', 'text/*', 'application/xhtml+xml', 'image/webp', 'text/plain'];
  switch (rng.int(6)) {
    case 0: return { value: rng.pick(types), kind: 'single' };
    case 1: return { value: Array.from({ length: 1 + rng.int(6) }, () => `${rng.pick(types)};q=${rng.pick(['0', '0.5', '1', '1.0', '2', '-1', 'abc', '', '0.0001', '1e3'])}`).join(', '), kind: 'q-values' };
    case 2: return { value: Array.from({ length: 100 + rng.int(300) }, () => rng.pick(types)).join(','), kind: 'long list' };
    case 3: return { value: headerSafeChars(rng, rng.int(200)), kind: 'random bytes' };
    case 4: return { value: rng.pick(['', ',', ';;;', '*/*;q=0', 'text/html;q=0, */*', 'TEXT/HTML', 'text/html;level=1;q=0.9', '*']), kind: 'edge' };
    default: return { value: `${rng.pick(types)};${randomString(rng, rng.int(40), BASE64URL)}=${randomString(rng, rng.int(40), BASE64URL)}`, kind: 'odd parameter' };
  }
}

/** A well-formed RESP reply and the value a parser must produce for it. */
export interface RespSample {
  bytes: Buffer;
  /** Expected value: strings, numbers, bigints, booleans, null, arrays, Maps, `{ error: CODE }`. */
  value: unknown;
  /** RESP3 push frame. */
  push: boolean;
}

const RESP_TEXT = 'abcxyzABC019 :-_+$*%\u00e9\u4e2d';

function respLine(type: string, text: string): Buffer {
  return Buffer.from(`${type}${text}\r\n`, 'utf8');
}

function respBulk(type: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${type}${payload.length}\r\n`), payload, Buffer.from('\r\n')]);
}

/**
 * A random well-formed reply (RESP2, or RESP3 when `resp3`), nested at most `maxDepth`
 * aggregates deep, with the value it stands for. Bulk payloads may hold CR, LF and any
 * UTF-8; aggregates may be empty or null; RESP3 adds maps, sets, doubles, big numbers,
 * booleans, verbatim strings, blob errors and attributes (which the value omits).
 */
export function respReply(rng: SeededRandom, options: { resp3?: boolean; maxDepth?: number; maxItems?: number; top?: boolean } = {}): RespSample {
  const resp3 = options.resp3 === true;
  const maxDepth = options.maxDepth ?? 3;
  const maxItems = options.maxItems ?? 5;
  // 0-5: RESP2 scalars, 6-10: RESP3 scalars, 11: array, 12: set, 13: map, 14: attribute/push.
  const kinds = [0, 1, 2, 3, 4, 5, ...(resp3 ? [6, 7, 8, 9, 10] : []), ...(maxDepth > 0 ? (resp3 ? [11, 12, 13, 14] : [11]) : [])];
  const pick = rng.pick(kinds);
  const child = (): RespSample => respReply(rng, { resp3, maxDepth: maxDepth - 1, maxItems, top: false });
  const plain = (bytes: Buffer, value: unknown): RespSample => ({ bytes, value, push: false });
  switch (pick) {
    case 0: {
      const text = randomString(rng, rng.int(12), RESP_TEXT).replace(/[\r\n]/g, '');
      return plain(respLine('+', text), text);
    }
    case 1: {
      const code = rng.pick(['ERR', 'WRONGTYPE', 'NOAUTH', 'WRONGPASS', 'NOPERM', 'LOADING', 'err', '']);
      const text = `${code}${rng.int(2) === 0 ? ` ${randomString(rng, rng.int(20), RESP_TEXT)}` : ''}`;
      return plain(respLine('-', text), { error: /^[A-Z]/.test(code) ? code : 'ERR' });
    }
    case 2: {
      const n = rng.pick([0, 1, -1, 42, -42, 2 ** 31, -(2 ** 53) + 1, 2 ** 53 - 1]);
      return plain(respLine(':', String(n)), n);
    }
    case 3: {
      const big = rng.pick([2n ** 53n, -(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n]);
      return plain(respLine(':', big.toString()), big);
    }
    case 4: {
      const text = randomString(rng, rng.int(40), `${RESP_TEXT}\r\n`);
      return plain(respBulk('$', Buffer.from(text, 'utf8')), text);
    }
    case 5:
      return plain(Buffer.from(rng.int(2) === 0 ? '$-1\r\n' : '*-1\r\n'), null);
    case 6:
      return plain(Buffer.from('_\r\n'), null);
    case 7: {
      const b = rng.int(2) === 0;
      return plain(respLine('#', b ? 't' : 'f'), b);
    }
    case 8: {
      const [text, value] = rng.pick<[string, number]>([['1.5', 1.5], ['-0.25', -0.25], ['3', 3], ['1e10', 1e10], ['inf', Infinity], ['-inf', -Infinity], ['.5', 0.5]]);
      return plain(respLine(',', text), value);
    }
    case 9: {
      const big = BigInt(`${rng.int(2) === 0 ? '-' : ''}${randomString(rng, 1 + rng.int(40), '123456789')}`);
      return plain(respLine('(', big.toString()), big);
    }
    case 10:
      if (rng.int(2) === 0) {
        const text = randomString(rng, rng.int(30), `${RESP_TEXT}\r\n`);
        return plain(respBulk('=', Buffer.from(`${rng.pick(['txt', 'mkd'])}:${text}`, 'utf8')), text);
      } else {
        const code = rng.pick(['SYNTAX', 'ERR', 'x']);
        return plain(respBulk('!', Buffer.from(`${code} invalid syntax`)), { error: code === 'x' ? 'ERR' : code });
      }
    case 11: { // '*' array
      const items = Array.from({ length: rng.int(maxItems + 1) }, child);
      return plain(Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items.map((i) => i.bytes)]), items.map((i) => i.value));
    }
    case 12: { // '~' set
      const items = Array.from({ length: rng.int(maxItems + 1) }, child);
      return plain(Buffer.concat([Buffer.from(`~${items.length}\r\n`), ...items.map((i) => i.bytes)]), items.map((i) => i.value));
    }
    case 13: { // '%' map with distinct string keys
      const n = rng.int(maxItems + 1);
      const keys = Array.from({ length: n }, (_, i) => `k${i}${randomString(rng, rng.int(4), 'abc')}`);
      const values = keys.map(() => child());
      const bytes = Buffer.concat([Buffer.from(`%${n}\r\n`), ...keys.flatMap((k, i) => [respBulk('$', Buffer.from(k)), values[i]!.bytes])]);
      return plain(bytes, new Map(keys.map((k, i) => [k, values[i]!.value])));
    }
    default: {
      // An attribute before a value (discarded), or a push frame at the top level.
      if (options.top !== false && rng.int(2) === 0) {
        const items = [respReply(rng, { resp3, maxDepth: 0, top: false }), ...Array.from({ length: rng.int(maxItems) }, child)];
        return { bytes: Buffer.concat([Buffer.from(`>${items.length}\r\n`), ...items.map((i) => i.bytes)]), value: items.map((i) => i.value), push: true };
      }
      const inner = respReply(rng, { resp3, maxDepth: maxDepth - 1, maxItems, top: false });
      const attribute = Buffer.concat([Buffer.from('|1\r\n'), respBulk('$', Buffer.from('ttl')), respLine(':', '3600')]);
      return { ...inner, bytes: Buffer.concat([attribute, inner.bytes]) };
    }
  }
}

/** What a RESP parser has been configured to refuse. */
export interface RespLimitsForFuzz {
  maxBulkBytes: number;
  maxAggregateLength: number;
  maxNestingDepth: number;
  maxLineBytes: number;
  maxBufferedBytes: number;
}

/**
 * Hostile engine output around a valid reply: bit flips and byte swaps, lengths that lie,
 * are negative, huge (beyond 2^64) or just over a limit, wrong and unknown type bytes, bare
 * CR or LF, nesting past the limit, lines past the limit, aggregates whose total passes the
 * buffered-bytes budget, and random garbage. `limits` are the parser's, so the "just over"
 * cases are exact.
 */
export function hostileResp(rng: SeededRandom, valid: Buffer, limits: RespLimitsForFuzz): { bytes: Buffer; kind: string } {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1');
  switch (rng.int(18)) {
    case 0: {
      const out = Buffer.from(valid);
      const at = rng.int(out.length);
      out[at] = out[at]! ^ (1 << rng.int(8));
      return { bytes: out, kind: `bit flip at ${at}` };
    }
    case 1: {
      const out = Buffer.from(valid);
      const at = rng.int(out.length);
      out[at] = rng.pick([0x0d, 0x0a, 0x2d, 0x30, 0x3a, 0x24, 0x2a, 0x25, 0x00, 0xff]);
      return { bytes: out, kind: `byte ${at} replaced` };
    }
    case 2:
      return { bytes: b(`${rng.pick(['$', '!', '='])}${limits.maxBulkBytes + 1 + rng.int(1000)}\r\n`), kind: 'bulk length over the limit' };
    case 3:
      return { bytes: b(`${rng.pick(['*', '~', '%', '>', '|'])}${limits.maxAggregateLength + 1 + rng.int(1000)}\r\n`), kind: 'aggregate length over the limit' };
    case 4:
      return { bytes: b(`${rng.pick(['$', '*', '%', '~', '!', '='])}${rng.pick(['-2', '-1000', '-0', '-', '-99999999999999999999'])}\r\n`), kind: 'negative length' };
    case 5:
      return { bytes: b(`${rng.pick(['$', '*', ':', '%'])}${rng.pick(['99999999999999999999', '18446744073709551616', '1e9', '0x10', ' 1', '+1', '01', '1 ', '', '9'.repeat(200)])}\r\n`), kind: 'huge or malformed number' };
    case 6: {
      const depth = limits.maxNestingDepth + 1 + rng.int(3000);
      return { bytes: b(`${rng.pick(['*1\r\n', '%1\r\n+k\r\n', '~1\r\n'])}`.repeat(depth) + ':1\r\n'), kind: `nesting depth ${depth}` };
    }
    case 7:
      return { bytes: b(`${rng.pick(['+', '-', ':', '(', ','])}${'a'.repeat(limits.maxLineBytes + 1 + rng.int(100))}${rng.pick(['\r\n', ''])}`), kind: 'line over the limit' };
    case 8:
      return { bytes: b(`${rng.pick(['+OK\n', '+OK\rX\n', ':1\n\r', '$3\r\nabc\n', '$3\r\nabcd\r\n', '$3\r\nab\r\n\r\n', '*1\r\n\n'])}`), kind: 'bare CR or LF' };
    case 9: {
      const type = String.fromCharCode(rng.pick([0x00, 0x20, 0x30, 0x41, 0x7f, 0x80, 0xff, 0x3f, 0x2e, 0x3b]));
      return { bytes: Buffer.concat([b(`${type}1\r\n`), valid]), kind: `unknown type byte 0x${type.charCodeAt(0).toString(16)}` };
    }
    case 10:
      return { bytes: b(rng.pick(['_\r\n', '#t\r\n', ',1.5\r\n', '(1\r\n', '%1\r\n+a\r\n+b\r\n', '~0\r\n', '>1\r\n+x\r\n', '|1\r\n+a\r\n+b\r\n+OK\r\n', '=7\r\ntxt:abc\r\n', '!3\r\nERR\r\n'])), kind: 'RESP3 type (refused by a RESP2 parser)' };
    case 11:
      return { bytes: b(rng.pick(['_x\r\n', '#x\r\n', '#tt\r\n', ',abc\r\n', ',1.2.3\r\n', '(12a\r\n', '(\r\n', '=2\r\nab\r\n', '=4\r\ntxt_\r\n', '*1\r\n>0\r\n', '$?\r\n', '*?\r\n', ':\r\n', ':-\r\n', ':1.5\r\n'])), kind: 'malformed RESP3 value' };
    case 12: {
      // Many elements, each within limits, together over the buffered-bytes budget.
      const each = Math.min(limits.maxBulkBytes, 1 + rng.int(Math.max(1, Math.floor(limits.maxBufferedBytes / 8))));
      const count = Math.min(limits.maxAggregateLength, Math.ceil((limits.maxBufferedBytes * 1.2) / (each + 16)) + 1);
      const item = Buffer.concat([b(`$${each}\r\n`), Buffer.alloc(each, 0x61), b('\r\n')]);
      const nested = limits.maxNestingDepth > 1 && rng.int(2) === 0;
      const frames = nested ? [b(`*1\r\n*${count}\r\n`)] : [b(`*${count}\r\n`)];
      return { bytes: Buffer.concat([...frames, ...Array.from({ length: count }, () => item)]), kind: `${count} elements of ${each} B (over the buffered budget: ${count * (each + 16) > limits.maxBufferedBytes})` };
    }
    case 13:
      return { bytes: rng.bytes(1 + rng.int(300)), kind: 'random bytes' };
    case 14:
      return { bytes: Buffer.concat([valid, rng.bytes(1 + rng.int(20))]), kind: 'valid reply then garbage' };
    case 15: {
      const cut = rng.int(valid.length);
      return { bytes: Buffer.concat([valid.subarray(0, cut), valid]), kind: `truncated at ${cut} then a whole reply` };
    }
    case 16:
      return { bytes: b(`$${rng.int(50)}\r\n`), kind: 'bulk header without its payload' };
    default: {
      const lies = rng.int(2) === 0 ? `$${1 + rng.int(5)}\r\nabcdefghij\r\n` : `*${2 + rng.int(5)}\r\n:1\r\n`;
      return { bytes: Buffer.concat([b(lies), valid]), kind: 'length that lies' };
    }
  }
}
