import t from 'tap';
import { CRYPTO_FAILURE_MESSAGE, loadKeyRing, signJwt, verifyJwt } from '../../src/codec/index.js';
import type { VerifyJwtOptions } from '../../src/codec/index.js';
import { ManualClock } from '../support/clock.js';
import { b64, rawJws, ringletErrorOf, sigKey2B64, tamperedVariants, testRing } from './helpers.js';

const ring = testRing();
const NOW_MS = 1_750_000_000_000;
const NOW = NOW_MS / 1000;
const at: VerifyJwtOptions = { nowMs: NOW_MS };
const claims = { sub: 'admin', role: 'admin', jti: 'j1', iat: NOW, exp: NOW + 900 };
const good = signJwt(claims, ring);

t.test('sign and verify: header, kid, claims', async (t) => {
  const [encodedHeader] = good.split('.');
  t.strictSame(JSON.parse(Buffer.from(encodedHeader ?? '', 'base64url').toString()), { alg: 'HS256', typ: 'JWT', kid: 'sig-1' }, 'header');
  const verified = verifyJwt(good, ring, at);
  t.strictSame(verified.claims, claims);
  t.equal(verified.kid, 'sig-1');
  t.equal(verified.header['alg'], 'HS256');
  t.equal(verifyJwt(good, ring, { clock: new ManualClock(NOW_MS) }).kid, 'sig-1', 'injected clock');
});

t.test('a token signed by an older listed key verifies (slow path header, other kid)', async (t) => {
  const token = rawJws('{"kid":"sig-0","alg":"HS256"}', JSON.stringify(claims), sigKey2B64);
  t.equal(verifyJwt(token, ring, at).kid, 'sig-0');
});

t.test('flip every character of every segment: rejected', async (t) => {
  let count = 0;
  for (const variant of tamperedVariants(good)) {
    count++;
    const error = ringletErrorOf(() => verifyJwt(variant.token, ring, at));
    if (!t.match(error.code, /^ERR_/, `index ${variant.index} ${variant.how}`)) break;
  }
  t.ok(count > good.length, `${count} variants`);
});

t.test('structure table', async (t) => {
  const [h, p, s] = good.split('.') as [string, string, string];
  const cases: [string, string, string][] = [
    ['', 'ERR_TOKEN_MALFORMED', 'empty string'],
    [h, 'ERR_TOKEN_MALFORMED', '1 segment'],
    [`${h}.${p}`, 'ERR_TOKEN_MALFORMED', '2 segments'],
    [`${h}.${p}.${s}.`, 'ERR_TOKEN_MALFORMED', '4 segments (trailing dot)'],
    [`${h}.${p}.${s}.${s}`, 'ERR_TOKEN_MALFORMED', '4 segments'],
    [`${h}.${p}.${s}.${s}.${s}`, 'ERR_TOKEN_MALFORMED', '5 segments'],
    [`${h}..${p}.${s}.${s}.${s}`, 'ERR_TOKEN_MALFORMED', '6 segments'],
    [`${h}.${p}.${s}=`, 'ERR_BAD_SIGNATURE', 'padded MAC'],
    [`${h}.${p}=.${s}`, 'ERR_BAD_SIGNATURE', 'padded payload (MAC covers the text)'],
    [`${h}=.${p}.${s}`, 'ERR_TOKEN_MALFORMED', 'padded header'],
    [`${h}.${p}.${s.slice(0, 42)}`, 'ERR_BAD_SIGNATURE', 'MAC one char short'],
    [`${h}.${p}.${s}A`, 'ERR_BAD_SIGNATURE', 'MAC one char long'],
    [`${h}.${p}.`, 'ERR_BAD_SIGNATURE', 'empty MAC'],
    [`${h}.${p}.${s.replaceAll('-', '+').replaceAll('_', '/')}x`.slice(0, good.length), 'ERR_BAD_SIGNATURE', 'standard alphabet'],
    [` ${good}`, 'ERR_TOKEN_MALFORMED', 'leading space'],
    [`${good} `, 'ERR_BAD_SIGNATURE', 'trailing space'],
    [`${h}.${p}.${s.slice(0, 20)}*${s.slice(21)}`, 'ERR_BAD_SIGNATURE', 'non-base64url in MAC'],
    [`${h.slice(0, 5)}*${h.slice(6)}.${p}.${s}`, 'ERR_TOKEN_MALFORMED', 'non-base64url in header'],
  ];
  for (const [token, code, why] of cases) {
    t.equal(ringletErrorOf(() => verifyJwt(token, ring, at)).code, code, why);
  }
  t.equal(ringletErrorOf(() => verifyJwt(42 as unknown as string, ring, at)).code, 'ERR_TOKEN_MALFORMED', 'not a string');
});

t.test('header policy (with a valid MAC, so the policy itself is what rejects)', async (t) => {
  const payload = JSON.stringify(claims);
  const cases: [string, string, string][] = [
    ['{"alg":"none","kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'alg none'],
    ['{"alg":"None","kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'alg None'],
    ['{"alg":"hs256","kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'alg hs256'],
    ['{"alg":"HS512","kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'alg HS512'],
    ['{"alg":"RS256","kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'alg RS256'],
    ['{"alg":"dir","kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'alg dir'],
    ['{"kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'no alg'],
    ['{"alg":["HS256"],"kid":"sig-1"}', 'ERR_UNSUPPORTED_ALG', 'alg array'],
    ['{"alg":"HS256","kid":"sig-1","crit":["exp"]}', 'ERR_UNSUPPORTED_ALG', 'unknown crit'],
    ['{"alg":"HS256","kid":"sig-1","crit":["b64"],"b64":false}', 'ERR_UNSUPPORTED_ALG', 'crit b64 (RFC 7797)'],
    ['{"alg":"HS256","kid":"sig-1","crit":[]}', 'ERR_UNSUPPORTED_ALG', 'empty crit'],
    ['{"alg":"HS256","kid":"sig-1","b64":true}', 'ERR_UNSUPPORTED_ALG', 'b64 without crit'],
    ['{"alg":"HS256","kid":"sig-1","jku":"https://evil.example/jwks"}', 'ERR_UNSUPPORTED_ALG', 'jku'],
    ['{"alg":"HS256","kid":"sig-1","x5u":"https://evil.example/cert"}', 'ERR_UNSUPPORTED_ALG', 'x5u'],
    ['{"alg":"HS256","kid":"sig-1","jwk":{"kty":"oct","k":"AAAA"}}', 'ERR_UNSUPPORTED_ALG', 'embedded jwk'],
    ['{"alg":"HS256","kid":"sig-1","x5c":["MII"]}', 'ERR_UNSUPPORTED_ALG', 'x5c'],
    ['{"alg":"HS256","kid":"sig-1","zip":"DEF"}', 'ERR_UNSUPPORTED_ALG', 'zip in a JWS'],
    ['{"alg":"HS256","alg":"HS256","kid":"sig-1"}', 'ERR_TOKEN_MALFORMED', 'duplicate alg (same value)'],
    ['{"alg":"none","alg":"HS256","kid":"sig-1"}', 'ERR_TOKEN_MALFORMED', 'duplicate alg (JSON.parse would keep HS256)'],
    ['{"alg":"HS256","kid":"sig-0","kid":"sig-1"}', 'ERR_TOKEN_MALFORMED', 'duplicate kid'],
    ['{"alg":"HS256","kid":"sig-1","crit":["x"],"crit":["y"]}', 'ERR_TOKEN_MALFORMED', 'duplicate crit'],
    ['{"alg":"HS256","kid":"sig-1","zip":"DEF","zip":"x"}', 'ERR_TOKEN_MALFORMED', 'duplicate zip'],
    ['{"alg":"HS256","kid":"sig-1","enc":"A","enc":"B"}', 'ERR_TOKEN_MALFORMED', 'duplicate enc'],
    ['{"\\u0061lg":"none","alg":"HS256","kid":"sig-1"}', 'ERR_TOKEN_MALFORMED', 'duplicate alg hidden by an escape'],
    ['{"alg":"HS256","kid":"sig-1","x":{"alg":1,"alg":2}}', 'ERR_TOKEN_MALFORMED', 'nested duplicates are fine, but x... (see below)'],
    ['[1,2]', 'ERR_TOKEN_MALFORMED', 'header is an array'],
    ['"HS256"', 'ERR_TOKEN_MALFORMED', 'header is a string'],
    ['null', 'ERR_TOKEN_MALFORMED', 'header is null'],
    ['{"alg":"HS256","kid":"sig-1"', 'ERR_TOKEN_MALFORMED', 'truncated JSON'],
    ['{"alg":"HS256","kid":42}', 'ERR_TOKEN_MALFORMED', 'kid not a string'],
    ['{"alg":"HS256"}', 'ERR_TOKEN_MALFORMED', 'no kid'],
    ['{"alg":"HS256","kid":"nope"}', 'ERR_UNKNOWN_KEY', 'unknown kid'],
    ['{"alg":"HS256","kid":"enc-1"}', 'ERR_UNKNOWN_KEY', 'kid of an encryption key'],
    ['{"alg":"HS256","kid":"__proto__"}', 'ERR_UNKNOWN_KEY', 'kid __proto__'],
  ];
  for (const [header, code, why] of cases) {
    if (why.startsWith('nested')) {
      // Only top-level names must be unique; nested objects are not header parameters.
      t.equal(verifyJwt(rawJws(header, payload), ring, at).kid, 'sig-1', 'duplicate names inside a nested member are not header duplicates');
      continue;
    }
    t.equal(ringletErrorOf(() => verifyJwt(rawJws(header, payload), ring, at)).code, code, why);
  }
  const badUtf8 = `${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${b64(payload)}.${'A'.repeat(43)}`;
  t.equal(ringletErrorOf(() => verifyJwt(badUtf8, ring, at)).code, 'ERR_TOKEN_MALFORMED', 'header not UTF-8');
});

t.test('MAC before header policy, signature before claims', async (t) => {
  const forgedNone = `${b64('{"alg":"none","kid":"sig-1"}')}.${b64(JSON.stringify(claims))}.${'A'.repeat(43)}`;
  t.equal(ringletErrorOf(() => verifyJwt(forgedNone, ring, at)).code, 'ERR_BAD_SIGNATURE', 'alg none with a wrong MAC: MAC fails first');
  const expired = signJwt({ ...claims, exp: NOW - 3600 }, ring);
  const [eh, ep] = expired.split('.');
  t.equal(ringletErrorOf(() => verifyJwt(`${eh}.${ep}.${'A'.repeat(43)}`, ring, at)).code, 'ERR_BAD_SIGNATURE', 'expired and forged: signature reported');
  const error = ringletErrorOf(() => verifyJwt(`${eh}.${ep}.${'A'.repeat(43)}`, ring, at));
  t.equal(error.message, CRYPTO_FAILURE_MESSAGE);
});

t.test('typ is informational: present or not, any value verifies', async (t) => {
  for (const header of ['{"alg":"HS256","kid":"sig-1"}', '{"alg":"HS256","kid":"sig-1","typ":"at+jwt"}']) {
    t.equal(verifyJwt(rawJws(header, JSON.stringify(claims)), ring, at).kid, 'sig-1', header);
  }
});

t.test('payload must be a JSON object', async (t) => {
  const header = '{"alg":"HS256","kid":"sig-1"}';
  for (const payload of ['[1]', '"x"', '42', 'null', 'true', '{', 'not json', '']) {
    t.equal(ringletErrorOf(() => verifyJwt(rawJws(header, payload), ring, at)).code, 'ERR_TOKEN_MALFORMED', JSON.stringify(payload));
  }
});

t.test('claims table', async (t) => {
  const header = '{"alg":"HS256","kid":"sig-1"}';
  const cases: [Record<string, unknown>, VerifyJwtOptions, string | undefined, string][] = [
    [{ exp: NOW + 10 }, at, undefined, 'exp in the future'],
    [{ exp: NOW }, at, undefined, 'exp now (within leeway)'],
    [{ exp: NOW - 29 }, at, undefined, 'exp 29 s ago (leeway 30)'],
    [{ exp: NOW - 30 }, at, 'ERR_EXPIRED', 'exp 30 s ago'],
    [{ exp: NOW - 5 }, { ...at, leewaySeconds: 0 }, 'ERR_EXPIRED', 'exp 5 s ago, leeway 0'],
    [{}, at, 'ERR_CLAIM_INVALID', 'exp missing'],
    [{}, { ...at, requireExp: false }, undefined, 'exp missing, not required'],
    [{}, { ...at, checkTimes: false }, 'ERR_CLAIM_INVALID', 'exp still required without time checks'],
    [{ exp: NOW - 9999 }, { ...at, checkTimes: false }, undefined, 'expired but times not checked'],
    [{ exp: String(NOW + 10) }, at, 'ERR_CLAIM_INVALID', 'exp a string'],
    [{ exp: null }, at, 'ERR_CLAIM_INVALID', 'exp null'],
    [{ exp: NOW + 10, nbf: NOW + 31 }, at, 'ERR_NOT_YET_VALID', 'nbf beyond leeway'],
    [{ exp: NOW + 10, nbf: NOW + 30 }, at, undefined, 'nbf within leeway'],
    [{ exp: NOW + 10, nbf: 'soon' }, at, 'ERR_CLAIM_INVALID', 'nbf a string'],
    [{ exp: NOW + 999, iat: NOW + 31 }, at, 'ERR_NOT_YET_VALID', 'iat in the future beyond leeway'],
    [{ exp: NOW + 999, iat: NOW + 30 }, at, undefined, 'iat within leeway'],
    [{ exp: NOW + 999, iat: NOW + 9999 }, { ...at, checkTimes: false }, undefined, 'future iat when times are not checked'],
    [{ exp: NOW + 999, iat: [] }, at, 'ERR_CLAIM_INVALID', 'iat an array'],
    [{ exp: NOW + 10, aud: 'ringlet' }, { ...at, audience: 'ringlet' }, undefined, 'aud string'],
    [{ exp: NOW + 10, aud: ['x', 'ringlet'] }, { ...at, audience: 'ringlet' }, undefined, 'aud array'],
    [{ exp: NOW + 10, aud: 'other' }, { ...at, audience: ['ringlet', 'admin'] }, 'ERR_CLAIM_INVALID', 'aud mismatch'],
    [{ exp: NOW + 10 }, { ...at, audience: 'ringlet' }, 'ERR_CLAIM_INVALID', 'aud missing'],
    [{ exp: NOW + 10, aud: ['ringlet', 1] }, { ...at, audience: 'ringlet' }, 'ERR_CLAIM_INVALID', 'aud array with a non-string'],
    [{ exp: NOW + 10, aud: 'anything' }, at, undefined, 'aud ignored when not configured'],
    [{ exp: NOW + 10, iss: 'ringlet' }, { ...at, issuer: 'ringlet' }, undefined, 'iss'],
    [{ exp: NOW + 10, iss: 'evil' }, { ...at, issuer: 'ringlet' }, 'ERR_CLAIM_INVALID', 'iss mismatch'],
    [{ exp: NOW + 10 }, { ...at, issuer: ['a', 'b'] }, 'ERR_CLAIM_INVALID', 'iss missing'],
  ];
  for (const [payload, options, code, why] of cases) {
    const token = rawJws(header, JSON.stringify(payload));
    if (code === undefined) t.equal(verifyJwt(token, ring, options).kid, 'sig-1', why);
    else t.equal(ringletErrorOf(() => verifyJwt(token, ring, options)).code, code, why);
  }
});

t.test('oversized tokens are rejected before any decoding or crypto', async (t) => {
  const garbage = '!'.repeat(5000);
  t.equal(ringletErrorOf(() => verifyJwt(garbage, ring, at)).code, 'ERR_TOKEN_TOO_LARGE', 'garbage over 4096: size reported, not malformation');
  const big = signJwt({ ...claims, pad: 'x'.repeat(3500) }, ring);
  t.ok(big.length > 4096);
  t.equal(ringletErrorOf(() => verifyJwt(big, ring, at)).code, 'ERR_TOKEN_TOO_LARGE', 'valid but oversized');
  t.equal(verifyJwt(big, ring, { ...at, maxTokenBytes: 8192 }).kid, 'sig-1', 'raised limit');
});

t.test('no message carries the token, payload or kid', async (t) => {
  const secretClaims = { sub: 'alice-secret-user', exp: NOW - 9999 };
  const token = signJwt(secretClaims, ring);
  for (const bad of [token, `${token}x`, token.replace('.', '..'), token.slice(0, -2)]) {
    const error = ringletErrorOf(() => verifyJwt(bad, ring, at));
    t.notMatch(error.message, /alice|sig-1|eyJ/, `${error.code}: ${error.message}`);
  }
});

t.test('misuse throws ConfigError', async (t) => {
  const encOnly = loadKeyRing({ keys: [{ kty: 'oct', kid: 'e', alg: 'A256GCM', k: Buffer.alloc(32).toString('base64url') }] });
  t.throws(() => signJwt(claims, encOnly), { name: 'ConfigError', field: 'ring' });
  t.throws(() => signJwt([] as unknown as object, ring), { name: 'ConfigError', field: 'claims' });
  t.throws(() => verifyJwt(good, ring, { maxTokenBytes: 0 }), { name: 'ConfigError', field: 'maxTokenBytes' });
  t.throws(() => verifyJwt(good, ring, { leewaySeconds: -1 }), { name: 'ConfigError', field: 'leewaySeconds' });
  t.throws(() => verifyJwt(good, ring, { nowMs: Number.NaN }), { name: 'ConfigError', field: 'nowMs' });
});
