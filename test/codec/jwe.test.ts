import t from 'tap';
import { createCipheriv } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { CRYPTO_FAILURE_MESSAGE, decryptCompactJwe, encryptCompactJwe, loadKeyRing, openJwe, sealJwe } from '../../src/codec/index.js';
import type { OpenJweOptions } from '../../src/codec/index.js';
import { b64, encKey2B64, encKeyB64, ringletErrorOf, tamperedVariants, testRing } from './helpers.js';

const ring = testRing();
const NOW_MS = 1_750_000_000_000;
const NOW = NOW_MS / 1000;
const at: OpenJweOptions = { nowMs: NOW_MS };
const claims = { sub: 'admin', role: 'admin', csrf: 'c'.repeat(22), iat: NOW, exp: NOW + 900 };
const good = sealJwe(claims, ring);

/** A dir JWE with an arbitrary raw protected header, encrypted with `keyB64` (AES-GCM by key size). */
function rawJwe(headerJson: string, plaintext: string | Buffer, keyB64 = encKeyB64, ivBytes = 12, tagBytes = 16): string {
  const key = Buffer.from(keyB64, 'base64url');
  const encodedHeader = b64(headerJson);
  const iv = Buffer.alloc(ivBytes, 9);
  const cipher = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag().subarray(0, tagBytes);
  return `${encodedHeader}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`;
}

t.test('seal and open: header, empty key segment, IV and tag lengths, keyIsCurrent', async (t) => {
  const segments = good.split('.');
  t.equal(segments.length, 5);
  t.strictSame(JSON.parse(Buffer.from(segments[0] ?? '', 'base64url').toString()), { alg: 'dir', enc: 'A256GCM', kid: 'enc-1' });
  t.equal(segments[1], '', 'empty encrypted key');
  t.equal(Buffer.from(segments[2] ?? '', 'base64url').length, 12, '12-byte IV');
  t.equal(Buffer.from(segments[4] ?? '', 'base64url').length, 16, '16-byte tag');
  const opened = openJwe(good, ring, at);
  t.strictSame(opened.claims, claims);
  t.equal(opened.kid, 'enc-1');
  t.equal(opened.keyIsCurrent, true);
  t.not(sealJwe(claims, ring), good, 'fresh IV every seal');

  const old = rawJwe('{"alg":"dir","enc":"A256GCM","kid":"enc-0"}', JSON.stringify(claims), encKey2B64);
  const openedOld = openJwe(old, ring, at);
  t.equal(openedOld.kid, 'enc-0');
  t.equal(openedOld.keyIsCurrent, false, 'older key: re-seal');
});

t.test('another writer\'s header order and members are accepted (slow path)', async (t) => {
  const token = rawJwe('{"enc":"A256GCM","kid":"enc-1","alg":"dir","cty":"JWT","typ":"x"}', JSON.stringify(claims));
  t.equal(openJwe(token, ring, at).kid, 'enc-1');
});

t.test('flip every character of every segment: rejected', async (t) => {
  let count = 0;
  for (const variant of tamperedVariants(good)) {
    count++;
    const error = ringletErrorOf(() => openJwe(variant.token, ring, at));
    if (!t.match(error.code, /^ERR_/, `index ${variant.index} ${variant.how}: ${error.code}`)) break;
  }
  t.ok(count > good.length, `${count} variants`);
});

t.test('structure table', async (t) => {
  const [h, , iv, ct, tag] = good.split('.') as [string, string, string, string, string];
  const cases: [string, string, string][] = [
    ['', 'ERR_TOKEN_MALFORMED', 'empty'],
    [h, 'ERR_TOKEN_MALFORMED', '1 segment'],
    [`${h}.${iv}`, 'ERR_TOKEN_MALFORMED', '2 segments'],
    [`${h}..${iv}`, 'ERR_TOKEN_MALFORMED', '3 segments'],
    [`${h}..${iv}.${ct}`, 'ERR_TOKEN_MALFORMED', '4 segments'],
    [`${h}..${iv}.${ct}.${tag}.`, 'ERR_TOKEN_MALFORMED', '6 segments'],
    [`${h}.AAAA.${iv}.${ct}.${tag}`, 'ERR_TOKEN_MALFORMED', 'non-empty encrypted key'],
    [`${h}..${iv}=.${ct}.${tag}`, 'ERR_TOKEN_MALFORMED', 'padded IV'],
    [`${h}..${iv}.${ct}.${tag}==`, 'ERR_TOKEN_MALFORMED', 'padded tag'],
    [`${h}..${iv}.${ct}=.${tag}`, 'ERR_TOKEN_MALFORMED', 'padded ciphertext'],
    [`${h}..${iv}.${ct.slice(0, 10)} ${ct.slice(11)}.${tag}`, 'ERR_TOKEN_MALFORMED', 'space in ciphertext'],
    [`${h}..${iv}.${ct.slice(0, 10)}+${ct.slice(11)}.${tag}`, 'ERR_TOKEN_MALFORMED', '+ in ciphertext'],
    [`${h}..${iv}.${ct}.${tag.slice(0, 16)}`, 'ERR_TOKEN_MALFORMED', '12-byte tag (truncated)'],
    [`${h}..${iv}.${ct}.${tag.slice(0, 11)}`, 'ERR_TOKEN_MALFORMED', '8-byte tag (truncated)'],
    [`${h}..${iv}.${ct}.`, 'ERR_TOKEN_MALFORMED', 'empty tag'],
    [`${h}..${iv}.${ct}.${tag}AAAA`, 'ERR_TOKEN_MALFORMED', '19-byte tag'],
    [`${h}..${iv.slice(0, 12)}.${ct}.${tag}`, 'ERR_TOKEN_MALFORMED', '9-byte IV'],
    [`${h}..${iv}AAAA.${ct}.${tag}`, 'ERR_TOKEN_MALFORMED', '15-byte IV'],
    [`${h}...${ct}.${tag}`, 'ERR_TOKEN_MALFORMED', 'empty IV'],
    [`${h}=..${iv}.${ct}.${tag}`, 'ERR_TOKEN_MALFORMED', 'padded header'],
  ];
  for (const [token, code, why] of cases) {
    t.equal(ringletErrorOf(() => openJwe(token, ring, at)).code, code, why);
  }
});

t.test('tags and IVs of other lengths, correctly computed, are still rejected', async (t) => {
  const header = '{"alg":"dir","enc":"A256GCM","kid":"enc-1"}';
  const plaintext = JSON.stringify(claims);
  t.equal(openJwe(rawJwe(header, plaintext), ring, at).kid, 'enc-1', 'control: 12-byte IV, 16-byte tag');
  for (const tagBytes of [4, 8, 12, 13, 14, 15]) {
    t.equal(ringletErrorOf(() => openJwe(rawJwe(header, plaintext, encKeyB64, 12, tagBytes), ring, at)).code, 'ERR_TOKEN_MALFORMED', `${tagBytes}-byte tag`);
  }
  for (const ivBytes of [1, 8, 11, 13, 16, 32]) {
    t.equal(ringletErrorOf(() => openJwe(rawJwe(header, plaintext, encKeyB64, ivBytes), ring, at)).code, 'ERR_TOKEN_MALFORMED', `${ivBytes}-byte IV`);
  }
});

t.test('header policy', async (t) => {
  const plaintext = JSON.stringify(claims);
  const cases: [string, string, string][] = [
    ['{"alg":"A256KW","enc":"A256GCM","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'alg A256KW'],
    ['{"alg":"none","enc":"A256GCM","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'alg none'],
    ['{"alg":"DIR","enc":"A256GCM","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'alg DIR'],
    ['{"alg":"RSA-OAEP","enc":"A256GCM","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'alg RSA-OAEP'],
    ['{"enc":"A256GCM","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'no alg'],
    ['{"alg":"dir","enc":"A256CBC-HS512","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'enc CBC-HS'],
    ['{"alg":"dir","enc":"a256gcm","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'enc lower case'],
    ['{"alg":"dir","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'no enc'],
    ['{"alg":"dir","enc":"A128GCM","kid":"enc-1"}', 'ERR_UNSUPPORTED_ALG', 'enc A128GCM with an A256GCM key (alg bound to key)'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","zip":"GZIP"}', 'ERR_UNSUPPORTED_ALG', 'zip GZIP'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","zip":"DEF"}', 'ERR_UNSUPPORTED_ALG', 'zip DEF refused'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","crit":["exp"],"exp":1}', 'ERR_UNSUPPORTED_ALG', 'unknown crit'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","jku":"https://x"}', 'ERR_UNSUPPORTED_ALG', 'jku'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","jwk":{}}', 'ERR_UNSUPPORTED_ALG', 'jwk'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","x5u":"https://x"}', 'ERR_UNSUPPORTED_ALG', 'x5u'],
    ['{"alg":"dir","alg":"dir","enc":"A256GCM","kid":"enc-1"}', 'ERR_TOKEN_MALFORMED', 'duplicate alg'],
    ['{"alg":"dir","enc":"A128GCM","enc":"A256GCM","kid":"enc-1"}', 'ERR_TOKEN_MALFORMED', 'duplicate enc'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-0","kid":"enc-1"}', 'ERR_TOKEN_MALFORMED', 'duplicate kid'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","zip":"DEF","zip":"DEF"}', 'ERR_TOKEN_MALFORMED', 'duplicate zip'],
    ['{"alg":"dir","enc":"A256GCM","kid":"enc-1","crit":[],"crit":[]}', 'ERR_TOKEN_MALFORMED', 'duplicate crit'],
    ['{"alg":"dir","enc":"A256GCM"}', 'ERR_TOKEN_MALFORMED', 'no kid'],
    ['{"alg":"dir","enc":"A256GCM","kid":"nope"}', 'ERR_UNKNOWN_KEY', 'unknown kid'],
    ['{"alg":"dir","enc":"A256GCM","kid":"sig-1"}', 'ERR_UNKNOWN_KEY', 'kid of a signing key'],
    ['[]', 'ERR_TOKEN_MALFORMED', 'header an array'],
    ['1', 'ERR_TOKEN_MALFORMED', 'header a number'],
  ];
  for (const [header, code, why] of cases) {
    t.equal(ringletErrorOf(() => openJwe(rawJwe(header, plaintext), ring, at)).code, code, why);
  }
});

t.test('plaintext must be a JSON object; claims checked like JWT', async (t) => {
  const header = '{"alg":"dir","enc":"A256GCM","kid":"enc-1"}';
  for (const plaintext of ['[]', '"s"', '1', 'null', '{', '']) {
    t.equal(ringletErrorOf(() => openJwe(rawJwe(header, plaintext), ring, at)).code, 'ERR_TOKEN_MALFORMED', JSON.stringify(plaintext));
  }
  const cases: [Record<string, unknown>, OpenJweOptions, string | undefined, string][] = [
    [{ exp: NOW - 31 }, at, 'ERR_EXPIRED', 'expired'],
    [{ exp: NOW - 31 }, { ...at, checkTimes: false }, undefined, 'expired, times unchecked'],
    [{}, { ...at, checkTimes: false }, 'ERR_CLAIM_INVALID', 'exp still required'],
    [{ exp: NOW + 60, iat: NOW + 120 }, at, 'ERR_NOT_YET_VALID', 'issued in the future'],
    [{ exp: NOW + 60, nbf: NOW + 120 }, at, 'ERR_NOT_YET_VALID', 'nbf in the future'],
    [{ exp: NOW + 60, aud: 'x' }, { ...at, audience: 'y' }, 'ERR_CLAIM_INVALID', 'aud'],
  ];
  for (const [payload, options, code, why] of cases) {
    const token = sealJwe(payload, ring);
    if (code === undefined) t.equal(openJwe(token, ring, options).kid, 'enc-1', why);
    else t.equal(ringletErrorOf(() => openJwe(token, ring, options)).code, code, why);
  }
});

t.test('zip is refused in every form, before any decryption or inflation', async (t) => {
  const zipHeaders = [
    '{"alg":"dir","enc":"A256GCM","zip":"DEF","kid":"enc-1"}', // the header ringlet wrote when it could compress
    '{"zip":"DEF","alg":"dir","enc":"A256GCM","kid":"enc-1"}', // another writer's member order
  ];
  for (const header of zipHeaders) {
    const token = rawJwe(header, deflateRawSync(JSON.stringify(claims)));
    t.equal(ringletErrorOf(() => openJwe(token, ring, at)).code, 'ERR_UNSUPPORTED_ALG', `${header}: refused`);
    const [h, , iv, ct, tag] = token.split('.') as [string, string, string, string, string];
    const wrongTag = `${h}..${iv}.${ct}.${tag.startsWith('A') ? 'B' : 'A'}${tag.slice(1)}`;
    t.equal(ringletErrorOf(() => openJwe(wrongTag, ring, at)).code, 'ERR_UNSUPPORTED_ALG', `${header}: refused before decryption is tried`);
  }

  // A bomb: 4 MiB of JSON that deflates to about 4 KiB (≥ 1000:1), sealed correctly.
  const bomb = rawJwe(zipHeaders[0]!, deflateRawSync(JSON.stringify({ exp: NOW + 60, pad: 'a'.repeat(4 * 1024 * 1024) })));
  const ratio = (4 * 1024 * 1024) / Buffer.from(bomb.split('.')[3] ?? '', 'base64url').length;
  t.ok(ratio >= 1000, `compression ratio ${Math.round(ratio)}:1`);
  const error = ringletErrorOf(() => openJwe(bomb, ring, { ...at, maxTokenBytes: 16_384 }));
  t.equal(error.code, 'ERR_UNSUPPORTED_ALG', 'bomb refused by its header, never inflated');
  t.equal(error.message, 'unsupported algorithm or header parameter', 'one clear line');
});

t.test('oversized tokens rejected before any crypto', async (t) => {
  t.equal(ringletErrorOf(() => openJwe('!'.repeat(4097), ring, at)).code, 'ERR_TOKEN_TOO_LARGE', 'garbage');
  const big = sealJwe({ ...claims, pad: 'x'.repeat(3500) }, ring);
  t.equal(ringletErrorOf(() => openJwe(big, ring, at)).code, 'ERR_TOKEN_TOO_LARGE', 'valid but oversized');
  t.equal(openJwe(big, ring, { ...at, maxTokenBytes: 8192 }).kid, 'enc-1');
});

t.test('every crypto failure has one message, free of token and kid', async (t) => {
  const [h, , iv, ct, tag] = good.split('.') as [string, string, string, string, string];
  const wrongTag = `${h}..${iv}.${ct}.${tag.startsWith('A') ? 'B' : 'A'}${tag.slice(1)}`;
  const otherKeyRing = loadKeyRing({ keys: [{ kty: 'oct', kid: 'enc-1', alg: 'A256GCM', k: encKey2B64 }] });
  const errors = [ringletErrorOf(() => openJwe(wrongTag, ring, at)), ringletErrorOf(() => openJwe(good, otherKeyRing, at))];
  for (const error of errors) {
    t.equal(error.code, 'ERR_DECRYPTION_FAILED');
    t.equal(error.message, CRYPTO_FAILURE_MESSAGE);
    t.notMatch(error.message, /enc-1|eyJ/);
  }
});

t.test('encryptCompactJwe / decryptCompactJwe carry arbitrary bytes', async (t) => {
  const bytes = Buffer.from([0, 1, 2, 255, 254]);
  t.same(decryptCompactJwe(encryptCompactJwe(bytes, ring), ring).plaintext, bytes);
  t.equal(decryptCompactJwe(encryptCompactJwe('', ring), ring).plaintext.length, 0, 'empty plaintext');
});

t.test('misuse throws ConfigError', async (t) => {
  const sigOnly = loadKeyRing({ keys: [{ kty: 'oct', kid: 's', alg: 'HS256', k: encKeyB64 }] });
  t.throws(() => sealJwe(claims, sigOnly), { name: 'ConfigError', field: 'ring' });
  t.throws(() => sealJwe(null as unknown as object, ring), { name: 'ConfigError', field: 'claims' });
  t.throws(() => openJwe(good, ring, { maxTokenBytes: -1 }), { name: 'ConfigError', field: 'maxTokenBytes' });
});
