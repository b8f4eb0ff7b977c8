import { scryptSync } from 'node:crypto';
import t from 'tap';
import { ConfigError, RingletError } from '../../src/errors.js';
import {
  dummyVerify,
  formatScryptHash,
  hashingMemoryBytes,
  hashIsWeaker,
  hashPassword,
  hashPasswordSync,
  MAX_PASSWORD_BYTES,
  needsRehash,
  parseScryptHash,
  scryptMaxmemBytes,
  scryptMemoryBytes,
  validateScryptCost,
  verifyPassword,
} from '../../src/users/index.js';
import type { ScryptCost } from '../../src/users/index.js';

const COST: ScryptCost = { logN: 10, r: 8, p: 1 };
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

// RFC 7914 section 12: published scrypt known answers (dkLen = 64).
const rfc7914 = [
  {
    title: 'RFC 7914 section 12, vector 2 (password / NaCl, N=1024 r=8 p=16)',
    password: 'password', salt: 'NaCl', cost: { logN: 10, r: 8, p: 16 },
    hex: 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  },
  {
    title: 'RFC 7914 section 12, vector 3 (pleaseletmein / SodiumChloride, N=16384 r=8 p=1)',
    password: 'pleaseletmein', salt: 'SodiumChloride', cost: { logN: 14, r: 8, p: 1 },
    hex: '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
  },
];

t.test('RFC 7914 vectors compute within scryptMaxmemBytes, and one byte less is refused', (t) => {
  for (const v of rfc7914) {
    const opts = { N: 2 ** v.cost.logN, r: v.cost.r, p: v.cost.p };
    const out = scryptSync(v.password, v.salt, 64, { ...opts, maxmem: scryptMaxmemBytes(v.cost) });
    t.equal(out.toString('hex'), v.hex, v.title);
    t.throws(() => scryptSync(v.password, v.salt, 64, { ...opts, maxmem: scryptMaxmemBytes(v.cost) - 1 }), `${v.title}: maxmem is tight`);
  }
  t.end();
});

t.test('RFC 7914 section 12 vector 3 as a PHC string verifies through the strict parser', async (t) => {
  const v = rfc7914[1]!;
  const phc = `$scrypt$ln=14,r=8,p=1$${b64(Buffer.from(v.salt))}$${b64(Buffer.from(v.hex, 'hex'))}`;
  t.equal(await verifyPassword(v.password, phc), true, v.title);
  t.equal(await verifyPassword('pleaseletmeout', phc), false, 'wrong password');
});

t.test('known answer: a PHC string computed independently with scryptSync verifies', async (t) => {
  const salt = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const cases = [
    { password: 'correct horse battery staple', cost: { logN: 10, r: 8, p: 1 } },
    { password: 'p\u00e4ssw\u00f6rd-\u{1F511}', cost: { logN: 11, r: 4, p: 2 } },
    { password: '', cost: { logN: 10, r: 1, p: 1 } },
  ];
  for (const c of cases) {
    const hash = scryptSync(Buffer.from(c.password, 'utf8'), salt, 32, { N: 2 ** c.cost.logN, r: c.cost.r, p: c.cost.p });
    const phc = `$scrypt$ln=${c.cost.logN},r=${c.cost.r},p=${c.cost.p}$${b64(salt)}$${b64(hash)}`;
    t.equal(await verifyPassword(c.password, phc), true, `verifies ln=${c.cost.logN} r=${c.cost.r} p=${c.cost.p}`);
    t.equal(await verifyPassword(`${c.password}x`, phc), false, 'one character more is wrong');
    t.equal(formatScryptHash(parseScryptHash(phc)), phc, 'parse/format round trip');
  }
});

t.test('hashPassword: PHC layout, fresh salt, round trip, wrong password', async (t) => {
  const a = await hashPassword('correct horse battery', COST);
  const b = await hashPassword('correct horse battery', COST);
  t.match(a, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  t.not(a, b, 'a fresh salt each time');
  const parsed = parseScryptHash(a);
  t.equal(parsed.salt.length, 16);
  t.equal(parsed.hash.length, 32);
  t.same(parsed.cost, COST);
  t.equal(await verifyPassword('correct horse battery', a), true);
  t.equal(await verifyPassword('correct horse batterY', a), false);
  t.equal(await verifyPassword('', a), false);
  const sync = hashPasswordSync('correct horse battery', COST);
  t.equal(await verifyPassword('correct horse battery', sync), true, 'sync hash verifies');
});

t.test('passwords are NFC-normalised before hashing', async (t) => {
  const composed = 'caf\u00e9-caf\u00e9-caf\u00e9';
  const decomposed = 'cafe\u0301-cafe\u0301-cafe\u0301';
  t.not(composed, decomposed);
  const phc = await hashPassword(decomposed, COST);
  t.equal(await verifyPassword(composed, phc), true, 'composed form verifies a hash of the decomposed form');
  const salt = parseScryptHash(phc).salt;
  const expected = scryptSync(Buffer.from(composed, 'utf8'), salt, 32, { N: 1024, r: 8, p: 1 });
  t.same(parseScryptHash(phc).hash, expected, 'the stored hash is of the NFC bytes');
});

t.test('password length bound', async (t) => {
  const max = 'a'.repeat(MAX_PASSWORD_BYTES);
  const over = 'a'.repeat(MAX_PASSWORD_BYTES + 1);
  const overMultibyte = '\u00e9'.repeat(MAX_PASSWORD_BYTES / 2 + 1); // 1026 bytes, 513 chars
  const phc = await hashPassword(max, COST);
  t.equal(await verifyPassword(max, phc), true, 'exactly the bound is accepted');
  for (const [name, pw] of [['ascii', over], ['multibyte', overMultibyte]] as const) {
    await t.rejects(hashPassword(pw, COST), { code: 'ERR_PASSWORD_TOO_LONG' }, `hash refuses ${name}`);
    t.throws(() => hashPasswordSync(pw, COST), { code: 'ERR_PASSWORD_TOO_LONG' });
    t.equal(await verifyPassword(pw, phc), false, `verify answers false for ${name}`);
    t.equal(await dummyVerify(pw, COST), false);
  }
});

const validSalt = b64(Buffer.alloc(16, 1));
const validHash = b64(Buffer.alloc(32, 2));
const parseCases: { name: string; phc: string; ok: boolean; reason?: RegExp }[] = [
  { name: 'canonical', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}$${validHash}`, ok: true },
  { name: 'largest parameters', phc: `$scrypt$ln=20,r=2,p=32$${validSalt}$${validHash}`, ok: true },
  { name: '8-byte salt, 64-byte hash', phc: `$scrypt$ln=10,r=1,p=1$${b64(Buffer.alloc(8))}$${b64(Buffer.alloc(64))}`, ok: true },
  { name: 'empty', phc: '', ok: false, reason: /expected \$scrypt\$/ },
  { name: 'other algorithm', phc: `$argon2id$v=19$m=65536,t=3,p=4$${validSalt}$${validHash}`, ok: false },
  { name: 'missing leading $', phc: `scrypt$ln=10,r=8,p=1$${validSalt}$${validHash}`, ok: false },
  { name: 'parameters out of order', phc: `$scrypt$r=8,ln=10,p=1$${validSalt}$${validHash}`, ok: false },
  { name: 'missing parameter', phc: `$scrypt$ln=10,r=8$${validSalt}$${validHash}`, ok: false },
  { name: 'extra parameter', phc: `$scrypt$ln=10,r=8,p=1,x=1$${validSalt}$${validHash}`, ok: false },
  { name: 'leading zero', phc: `$scrypt$ln=010,r=8,p=1$${validSalt}$${validHash}`, ok: false },
  { name: 'ln below range', phc: `$scrypt$ln=9,r=8,p=1$${validSalt}$${validHash}`, ok: false, reason: /ln must be an integer from 10 to 20/ },
  { name: 'ln above range', phc: `$scrypt$ln=21,r=1,p=1$${validSalt}$${validHash}`, ok: false, reason: /ln must be/ },
  { name: 'r above range', phc: `$scrypt$ln=10,r=33,p=1$${validSalt}$${validHash}`, ok: false, reason: /r must be/ },
  { name: 'p above range', phc: `$scrypt$ln=10,r=8,p=33$${validSalt}$${validHash}`, ok: false, reason: /p must be/ },
  { name: 'memory above 256 MiB', phc: `$scrypt$ln=20,r=4,p=1$${validSalt}$${validHash}`, ok: false, reason: /at most 268435456 bytes/ },
  { name: 'padded salt', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}==$${validHash}`, ok: false, reason: /salt/ },
  { name: 'base64url salt', phc: `$scrypt$ln=10,r=8,p=1$${b64(Buffer.alloc(16, 0xfb)).replace(/\+/g, '-').replace(/\//g, '_')}$${validHash}`, ok: false, reason: /salt/ },
  { name: 'non-canonical last salt char', phc: `$scrypt$ln=10,r=8,p=1$${validSalt.slice(0, -1)}R$${validHash}`, ok: false, reason: /salt/ },
  { name: 'salt too short', phc: `$scrypt$ln=10,r=8,p=1$${b64(Buffer.alloc(7))}$${validHash}`, ok: false, reason: /salt must be 8 to 64/ },
  { name: 'salt too long', phc: `$scrypt$ln=10,r=8,p=1$${b64(Buffer.alloc(65))}$${validHash}`, ok: false },
  { name: 'hash too short', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}$${b64(Buffer.alloc(15))}`, ok: false, reason: /hash must be 16 to 64/ },
  { name: 'hash not base64', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}$${validHash.slice(0, -1)}!`, ok: false, reason: /hash is not/ },
  { name: 'empty hash', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}$`, ok: false },
  { name: 'trailing segment', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}$${validHash}$`, ok: false },
  { name: 'whitespace', phc: ` $scrypt$ln=10,r=8,p=1$${validSalt}$${validHash}`, ok: false },
  { name: 'trailing newline', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}$${validHash}\n`, ok: false },
  { name: 'overlong', phc: `$scrypt$ln=10,r=8,p=1$${validSalt}$${'A'.repeat(300)}`, ok: false, reason: /acceptable length/ },
];

t.test('parse table', (t) => {
  for (const c of parseCases) {
    if (c.ok) {
      t.doesNotThrow(() => parseScryptHash(c.phc), c.name);
      continue;
    }
    try {
      parseScryptHash(c.phc);
      t.fail(`${c.name}: accepted`);
    } catch (err) {
      t.ok(err instanceof RingletError, `${c.name}: RingletError`);
      t.equal((err as RingletError).code, 'ERR_HASH_MALFORMED', `${c.name}: code`);
      if (c.reason !== undefined) t.match((err as Error).message, c.reason, `${c.name}: reason`);
      // The message names the problem, never the content.
      t.notOk((err as Error).message.includes(validSalt), `${c.name}: no salt in message`);
    }
  }
  t.end();
});

t.test('verifyPassword rejects malformed strings with ERR_HASH_MALFORMED', async (t) => {
  await t.rejects(verifyPassword('x', '$scrypt$ln=10$AAAA$AAAA'), { code: 'ERR_HASH_MALFORMED' });
  await t.rejects(verifyPassword('x', 'plaintext-password'), { code: 'ERR_HASH_MALFORMED', message: /^malformed scrypt hash: / });
});

t.test('dummyVerify: same answer as a wrong password, same parameters, stable per cost', async (t) => {
  const phc = await hashPassword('the real password', COST);
  const wrong = await verifyPassword('a guess', phc);
  const unknown = await dummyVerify('a guess', COST);
  t.equal(wrong, false);
  t.equal(unknown, false, 'unknown user: false');
  t.equal(await dummyVerify('the real password', COST), false, 'even the right password of someone else');
  t.equal(await dummyVerify('', { logN: 11, r: 1, p: 1 }), false, 'other cost');
  await t.rejects(dummyVerify('x', { logN: 2, r: 1, p: 1 }), ConfigError, 'cost validated');
});

t.test('cost validation names the field and range', (t) => {
  const cases: [ScryptCost, string, RegExp][] = [
    [{ logN: 9, r: 8, p: 1 }, 'cost.logN', /from 10 to 20/],
    [{ logN: 10.5, r: 8, p: 1 }, 'cost.logN', /integer/],
    [{ logN: 10, r: 0, p: 1 }, 'cost.r', /from 1 to 32/],
    [{ logN: 10, r: 33, p: 1 }, 'cost.r', /from 1 to 32/],
    [{ logN: 10, r: 8, p: 0 }, 'cost.p', /from 1 to 32/],
    [{ logN: 10, r: 8, p: 33 }, 'cost.p', /from 1 to 32/],
    [{ logN: 20, r: 32, p: 1 }, 'cost.r', /at most 268435456 bytes/],
    [{ logN: Number.NaN, r: 8, p: 1 }, 'cost.logN', /integer/],
  ];
  for (const [cost, field, message] of cases) {
    t.throws(() => validateScryptCost(cost), { name: 'ConfigError', field, message }, `${JSON.stringify(cost)}`);
  }
  t.same(validateScryptCost({ logN: 15, r: 8, p: 1 }), { logN: 15, r: 8, p: 1 });
  t.end();
});

t.test('hashPassword refuses a bad cost with ConfigError before hashing', async (t) => {
  await t.rejects(hashPassword('correct horse battery', { logN: 21, r: 1, p: 1 }), { name: 'ConfigError', field: 'cost.logN' });
});

t.test('memory accounting', (t) => {
  const table: [ScryptCost, number, number][] = [
    // cost, 128*N*r, OpenSSL's maxmem 128*r*(N+2+p)
    [{ logN: 10, r: 8, p: 1 }, 1_048_576, 1_051_648],
    [{ logN: 15, r: 8, p: 1 }, 33_554_432, 33_557_504],
    [{ logN: 14, r: 8, p: 16 }, 16_777_216, 16_795_648],
    [{ logN: 20, r: 1, p: 1 }, 134_217_728, 134_218_112],
  ];
  for (const [cost, mem, maxmem] of table) {
    t.equal(scryptMemoryBytes(cost), mem, `memory ${JSON.stringify(cost)}`);
    t.equal(scryptMaxmemBytes(cost), maxmem, `maxmem ${JSON.stringify(cost)}`);
  }
  t.equal(hashingMemoryBytes({ logN: 15, r: 8, p: 1 }, 4), 4 * 33_557_504);
  t.end();
});

t.test('needsRehash', async (t) => {
  const phc = await hashPassword('correct horse battery', COST);
  t.equal(needsRehash(phc, COST), false, 'same cost');
  t.equal(needsRehash(phc, { logN: 11, r: 8, p: 1 }), true, 'other N');
  t.equal(needsRehash(phc, { logN: 10, r: 4, p: 1 }), true, 'other r');
  t.equal(needsRehash(phc, { logN: 10, r: 8, p: 2 }), true, 'other p');
  const short = `$scrypt$ln=10,r=8,p=1$${b64(Buffer.alloc(8))}$${validHash}`;
  t.equal(needsRehash(short, COST), true, 'other salt size');
  t.equal(needsRehash('garbage', COST), true, 'malformed');
});

t.test('hashIsWeaker: only a cheaper hash is upgraded, never a stronger one', async (t) => {
  const phc = await hashPassword('correct horse battery', COST);
  t.equal(hashIsWeaker(phc, COST), false, 'same cost');
  t.equal(hashIsWeaker(phc, { logN: 11, r: 8, p: 1 }), true, 'the profile has more memory');
  t.equal(hashIsWeaker(phc, { logN: 10, r: 8, p: 2 }), true, 'the profile has more work');
  t.equal(hashIsWeaker(phc, { logN: 10, r: 4, p: 1 }), false, 'the profile is weaker: the stored hash stays');
  t.equal(hashIsWeaker(phc, { logN: 9 + 1, r: 8, p: 1 }), false);
  t.equal(hashIsWeaker(`$scrypt$ln=10,r=8,p=1$${b64(Buffer.alloc(8))}$${validHash}`, COST), true, 'a shorter salt than ringlet writes');
  t.equal(hashIsWeaker('garbage', COST), true, 'malformed');
});
