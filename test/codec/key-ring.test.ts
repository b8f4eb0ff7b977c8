import t from 'tap';
import { KeyObject } from 'node:crypto';
import { generateJwks, loadKeyRing, openJwe, rotateJwks, sealJwe, signJwt, verifyJwt } from '../../src/codec/index.js';
import { encKey2B64, encKeyB64, ringletErrorOf, sigKeyB64, testRing } from './helpers.js';

const k32 = encKeyB64;
const k16 = Buffer.alloc(16, 5).toString('base64url');

t.test('issuing keys are the first of each kind; every key is findable', async (t) => {
  const ring = testRing();
  t.equal(ring.encryptionKey?.kid, 'enc-1');
  t.equal(ring.signingKey?.kid, 'sig-1');
  t.equal(ring.encryptionKey?.enc, 'A256GCM');
  t.ok(ring.encryptionKey?.key instanceof KeyObject, 'KeyObject created at load');
  t.equal(ring.encryptionKey?.key.symmetricKeySize, 32);
  t.equal(ring.findEncryptionKey('enc-0')?.enc, 'A256GCM', 'alg "dir" means A256GCM');
  t.equal(ring.findSigningKey('sig-0')?.key.symmetricKeySize, 48);
  t.equal(ring.findEncryptionKey('sig-1'), undefined, 'kinds do not mix');
  t.equal(ring.findSigningKey('enc-1'), undefined);
  t.equal(ring.findSigningKey('__proto__'), undefined);
  t.equal(ring.findEncryptionKey('constructor'), undefined);
  t.ok(Object.isFrozen(ring), 'ring is frozen');
});

t.test('JSON text and use-only keys load; A128GCM is read-only', async (t) => {
  const ring = loadKeyRing(JSON.stringify({ keys: [{ kty: 'oct', kid: 'a', use: 'enc', k: k32 }, { kty: 'oct', kid: 'b', use: 'sig', k: k32 }] }), { source: '/etc/ringlet/keys.json' });
  t.equal(ring.encryptionKey?.kid, 'a');
  t.equal(ring.signingKey?.kid, 'b');
  const mixed = loadKeyRing({ keys: [{ kty: 'oct', kid: 'old128', alg: 'A128GCM', k: k16 }, { kty: 'oct', kid: 'new', alg: 'A256GCM', k: k32 }] });
  t.equal(mixed.encryptionKey?.kid, 'new', 'A128GCM listed first still does not issue');
  t.equal(mixed.findEncryptionKey('old128')?.enc, 'A128GCM');
  const signOnly = loadKeyRing({ keys: [{ kty: 'oct', kid: 's', alg: 'HS256', k: sigKeyB64 }] });
  t.equal(signOnly.encryptionKey, undefined);
});

t.test('invalid JWKS: ConfigError naming key, field and source', async (t) => {
  const source = '/etc/ringlet/keys.json';
  const cases: [unknown, string, RegExp, string][] = [
    ['{not json', 'jwks', /not valid JSON in \/etc\/ringlet\/keys\.json/, 'not JSON'],
    [[], 'jwks', /object/, 'array'],
    [{}, 'keys', /non-empty array/, 'no keys'],
    [{ keys: [] }, 'keys', /non-empty/, 'empty keys'],
    [{ keys: Array.from({ length: 65 }, (_, i) => ({ kty: 'oct', kid: `k${i}`, alg: 'HS256', k: k32 })) }, 'keys', /at most 64/, 'too many keys'],
    [{ keys: ['x'] }, 'keys[0]', /JWK object/, 'key not an object'],
    [{ keys: [{ kty: 'oct', alg: 'HS256', k: k32 }] }, 'keys[0].kid', /printable ASCII/, 'no kid'],
    [{ keys: [{ kty: 'oct', kid: '', alg: 'HS256', k: k32 }] }, 'keys[0].kid', /1\.\.128/, 'empty kid'],
    [{ keys: [{ kty: 'oct', kid: 'a b', alg: 'HS256', k: k32 }] }, 'keys[0].kid', /printable/, 'kid with space'],
    [{ keys: [{ kty: 'oct', kid: 'x'.repeat(129), alg: 'HS256', k: k32 }] }, 'keys[0].kid', /1\.\.128/, 'kid too long'],
    [{ keys: [{ kty: 'RSA', kid: 'r', alg: 'HS256', k: k32 }] }, 'keys[0].kty', /key "r" in \/etc\/ringlet\/keys\.json: must be "oct"/, 'RSA'],
    [{ keys: [{ kty: 'oct', kid: 'u', use: 'wrap', alg: 'HS256', k: k32 }] }, 'keys[0].use', /key "u"/, 'bad use'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'HS512', k: k32 }] }, 'keys[0].alg', /key "a"/, 'HS512'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'A256KW', k: k32 }] }, 'keys[0].alg', /key "a"/, 'A256KW'],
    [{ keys: [{ kty: 'oct', kid: 'a', k: k32 }] }, 'keys[0].alg', /key "a"/, 'neither alg nor use'],
    [{ keys: [{ kty: 'oct', kid: 'a', use: 'sig', alg: 'A256GCM', k: k32 }] }, 'keys[0].alg', /key "a"/, 'use sig with A256GCM'],
    [{ keys: [{ kty: 'oct', kid: 'a', use: 'enc', alg: 'HS256', k: k32 }] }, 'keys[0].alg', /key "a"/, 'use enc with HS256'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256' }] }, 'keys[0].k', /key "a"/, 'no k'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256', k: `${k32}=` }] }, 'keys[0].k', /canonical/, 'padded k'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256', k: k32.replace(/.$/, '+') }] }, 'keys[0].k', /canonical/, 'k with +'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256', k: Buffer.alloc(31).toString('base64url') }] }, 'keys[0].k', /32\.\.512 bytes, got 31/, 'HS256 31 bytes'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'A256GCM', k: Buffer.alloc(31).toString('base64url') }] }, 'keys[0].k', /exactly 32 bytes, got 31/, 'A256GCM 31 bytes'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'A256GCM', k: Buffer.alloc(33).toString('base64url') }] }, 'keys[0].k', /exactly 32 bytes, got 33/, 'A256GCM 33 bytes'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'dir', k: k16 }] }, 'keys[0].k', /exactly 32/, 'dir with 16 bytes'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'A128GCM', k: k32 }] }, 'keys[0].k', /exactly 16 bytes, got 32/, 'A128GCM 32 bytes'],
    [{ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256', k: k32 }, { kty: 'oct', kid: 'a', alg: 'A256GCM', k: k32 }] }, 'keys[1].kid', /duplicate kid/, 'duplicate kid across kinds'],
  ];
  for (const [jwks, field, message, why] of cases) {
    t.throws(() => loadKeyRing(jwks as object, { source }), { name: 'ConfigError', field, message }, why);
  }
  t.throws(() => loadKeyRing({ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256', k: Buffer.alloc(8).toString('base64url') }] }), { message: /^keys\[0\]\.k: key "a": / }, 'no source: no "in"');
});

t.test('config error messages never contain key material', async (t) => {
  const secret = Buffer.alloc(31, 0xab).toString('base64url');
  try {
    loadKeyRing({ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256', k: secret }] });
    t.fail('should throw');
  } catch (error) {
    t.notMatch((error as Error).message, secret.slice(0, 12));
  }
});

t.test('generateJwks: one A256GCM and one HS256 key, random kids, loadable', async (t) => {
  const jwks = generateJwks();
  t.equal(jwks.keys.length, 2);
  const [enc, sig] = jwks.keys;
  t.match(enc, { kty: 'oct', use: 'enc', alg: 'A256GCM' });
  t.match(sig, { kty: 'oct', use: 'sig', alg: 'HS256' });
  t.equal(Buffer.from(enc?.k ?? '', 'base64url').length, 32);
  t.ok(Buffer.from(sig?.k ?? '', 'base64url').length >= 32);
  t.not(enc?.kid, sig?.kid);
  t.not(generateJwks().keys[0]?.k, enc?.k, 'fresh secrets each call');
  const ring = loadKeyRing(JSON.parse(JSON.stringify(jwks)) as object);
  t.equal(ring.encryptionKey?.kid, enc?.kid);
  t.equal(ring.signingKey?.kid, sig?.kid);
});

t.test('rotateJwks: new keys in front, old ones kept and still accepted', async (t) => {
  const first = generateJwks();
  const ring1 = loadKeyRing(first);
  const now = Math.floor(Date.now() / 1000);
  const cookie = sealJwe({ exp: now + 60 }, ring1);
  const bearer = signJwt({ exp: now + 60 }, ring1);

  const rotated = rotateJwks(JSON.stringify(first));
  t.equal(rotated.keys.length, 4);
  t.strictSame(rotated.keys.slice(2), first.keys, 'old keys kept, in order');
  const ring2 = loadKeyRing(rotated);
  t.equal(ring2.encryptionKey?.kid, rotated.keys[0]?.kid, 'new encryption key issues');
  t.equal(ring2.signingKey?.kid, rotated.keys[1]?.kid, 'new signing key issues');
  const opened = openJwe(cookie, ring2);
  t.equal(opened.keyIsCurrent, false, 'old cookie opens, marked for re-seal');
  t.equal(openJwe(sealJwe({ exp: now + 60 }, ring2), ring2).keyIsCurrent, true);
  t.equal(verifyJwt(bearer, ring2).kid, first.keys[1]?.kid, 'old bearer token verifies');

  t.throws(() => rotateJwks('{bad', { source: 'k.json' }), { name: 'ConfigError', message: /k\.json/ });
  let many = generateJwks();
  for (let i = 0; i < 31; i++) many = rotateJwks(many);
  t.equal(many.keys.length, 64);
  t.throws(() => rotateJwks(many), { name: 'ConfigError', field: 'keys', message: /drop old keys/ });

  // After dropping the old keys, old tokens are refused.
  const dropped = loadKeyRing({ keys: rotated.keys.slice(0, 2) });
  t.equal(ringletErrorOf(() => openJwe(cookie, dropped)).code, 'ERR_UNKNOWN_KEY');
  t.equal(ringletErrorOf(() => verifyJwt(bearer, dropped)).code, 'ERR_UNKNOWN_KEY');
});

t.test('deriveSecret: per-purpose HKDF secrets from the issuing key', async (t) => {
  const ring = testRing();
  const a = ring.deriveSecret('login-csrf');
  t.equal(a.length, 32);
  t.same(ring.deriveSecret('login-csrf'), a, 'deterministic');
  t.notSame(ring.deriveSecret('other'), a, 'purpose separates');
  t.notSame(a, Buffer.from(sigKeyB64, 'base64url'), 'not the raw key');
  const encOnly = loadKeyRing({ keys: [{ kty: 'oct', kid: 'e', alg: 'A256GCM', k: encKey2B64 }] });
  t.equal(encOnly.deriveSecret('x', 16).length, 16, 'falls back to the encryption key');
  t.throws(() => ring.deriveSecret('x', 8), { name: 'ConfigError', field: 'bytes' });
  t.throws(() => ring.deriveSecret(''), { name: 'ConfigError', field: 'purpose' });
});
