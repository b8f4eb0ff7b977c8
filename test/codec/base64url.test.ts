import t from 'tap';
import { decodeBase64url, decodeBase64urlInto, encodeBase64url, encodeBase64urlText, isBase64url, tryDecodeBase64url } from '../../src/codec/index.js';
import { RingletError } from '../../src/errors.js';
import { SeededRandom } from '../support/seeded-random.js';

t.test('valid base64url decodes (RFC 4648 §10 vectors, unpadded, url alphabet)', async (t) => {
  const valid: [string, string][] = [
    ['', ''],
    ['Zg', 'f'],
    ['Zm8', 'fo'],
    ['Zm9v', 'foo'],
    ['Zm9vYg', 'foob'],
    ['Zm9vYmE', 'fooba'],
    ['Zm9vYmFy', 'foobar'],
  ];
  for (const [encoded, text] of valid) {
    t.equal(decodeBase64url(encoded).toString('latin1'), text, `decode ${JSON.stringify(encoded)}`);
    t.equal(encodeBase64urlText(text), encoded, `encode ${JSON.stringify(text)}`);
  }
  t.same([...decodeBase64url('-_8')], [0xfb, 0xff], 'url alphabet - and _');
  t.equal(encodeBase64url(new Uint8Array([0xfb, 0xff])), '-_8', 'encodes plain Uint8Array');
});

t.test('everything Node accepts but we reject', async (t) => {
  const invalid: [string, string][] = [
    ['+/8', 'standard alphabet +'],
    ['ab/c', 'standard alphabet /'],
    ['Zg==', 'padding'],
    ['Zm8=', 'single pad'],
    ['Zm9v ', 'trailing space'],
    [' Zm9v', 'leading space'],
    ['Zm\n9v', 'newline inside'],
    ['Zm9v\t', 'tab'],
    ['Z', 'length 1 mod 4'],
    ['Zm9vY', 'length 5 (1 mod 4)'],
    ['Zh', 'non-canonical last char (2 chars: low 4 bits set)'],
    ['Zm9', 'non-canonical last char (3 chars: low 2 bits set)'],
    ['Zm.v', 'dot'],
    ['Zm9v!', 'punctuation'],
    ['Zm9vé', 'non-ASCII'],
    ['=', 'lone pad'],
  ];
  for (const [text, why] of invalid) {
    t.equal(isBase64url(text), false, `${why}: isBase64url false`);
    t.equal(tryDecodeBase64url(text), undefined, `${why}: try returns undefined`);
    t.throws(() => decodeBase64url(text), { code: 'ERR_BASE64URL_MALFORMED', message: 'invalid base64url' }, `${why}: throws ERR_BASE64URL_MALFORMED`);
    t.equal(decodeBase64urlInto(`..${text}..`, 2, 2 + text.length, Buffer.alloc(16), 0), -1, `${why}: decodeBase64urlInto -1`);
  }
  t.type(catchError(() => decodeBase64url('Zg==')), RingletError);
  // Characters whose code is above 127 but whose low byte is in the alphabet.
  for (const ch of ['\u0141', '\u0100', '\uff41', '\u2d41']) {
    t.equal(decodeBase64urlInto(`AA${ch}A`, 0, 4, Buffer.alloc(3), 0), -1, `U+${ch.charCodeAt(0).toString(16)} rejected`);
    t.equal(tryDecodeBase64url(`AA${ch}A`), undefined);
  }
});

t.test('the error never echoes its input', async (t) => {
  const secret = 'c2VjcmV0LXRva2Vu=';
  const error = catchError(() => decodeBase64url(secret));
  t.notMatch(error.message, 'c2VjcmV0');
});

t.test('seeded round trips: every length 0..300 and random bytes', async (t) => {
  const random = new SeededRandom(0x5eed);
  for (let length = 0; length <= 300; length++) {
    const bytes = random.bytes(length);
    const encoded = encodeBase64url(bytes);
    if (!t.same(decodeBase64url(encoded), bytes, `length ${length}`)) break;
    // Every canonical string is exactly what Node's encoder writes.
    if (!t.equal(encoded, bytes.toString('base64url'))) break;
    // The allocation-free decoder agrees, on a range inside a larger string.
    const target = Buffer.alloc(length + 8, 0xee);
    const written = decodeBase64urlInto(`x.${encoded}.y`, 2, 2 + encoded.length, target, 5);
    if (!t.equal(written, length, `into: length ${length}`)) break;
    if (!t.same(target.subarray(5, 5 + length), bytes)) break;
  }
});

t.test('decodeBase64urlInto agrees with the strict decoder on random strings', async (t) => {
  const random = new SeededRandom(99);
  const chars = 'AQgw-_Zz09+/= .\u00e9'.split('');
  let agreed = 0;
  for (let i = 0; i < 5000; i++) {
    const text = Array.from({ length: random.int(12) }, () => random.pick(chars)).join('');
    const strict = tryDecodeBase64url(text);
    const target = Buffer.alloc(12);
    const written = decodeBase64urlInto(text, 0, text.length, target, 0);
    const same = strict === undefined ? written === -1 : written === strict.length && target.subarray(0, written).equals(strict);
    if (!same) {
      t.fail(`disagree on ${JSON.stringify(text)}`);
      break;
    }
    agreed++;
  }
  t.equal(agreed, 5000);
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
