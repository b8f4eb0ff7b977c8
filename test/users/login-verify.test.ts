import t from 'tap';
import { scrypt, scryptSync } from 'node:crypto';
import {
  formatScryptHash,
  hashPasswordSync,
  loginHashShapes,
  MAX_PASSWORD_BYTES,
  parseScryptHash,
  UsersDb,
  verifyLogin,
  type ScryptCost,
  type ScryptFunction,
} from '../../src/users/index.js';

// Cheap costs: the mechanism is what is tested, never the time (that is bench/login.ts).
const PROFILE: ScryptCost = { logN: 10, r: 2, p: 2 };
const WEAK: ScryptCost = { logN: 10, r: 2, p: 1 };
const STRONG: ScryptCost = { logN: 11, r: 2, p: 1 };
const OTHER: ScryptCost = { logN: 10, r: 1, p: 3 };
const PASSWORD = 'correct horse battery';

/** A scrypt that records what each computation was asked to do, then does it. */
function recorder(): { impl: ScryptFunction; calls: string[] } {
  const calls: string[] = [];
  const impl = ((password: Buffer, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }, callback: (err: Error | null, key: Buffer) => void) => {
    calls.push(`N=${options.N} r=${options.r} p=${options.p} keylen=${keylen} maxmem=${options.maxmem}`);
    scrypt(password, salt, keylen, options, callback);
  }) as unknown as ScryptFunction;
  return { impl, calls };
}

function user(name: string, cost: ScryptCost, hashBytes = 32) {
  let hash = hashPasswordSync(`${name} ${PASSWORD}`, cost);
  if (hashBytes !== 32) {
    // Another writer's longer output (the format allows 16..64 bytes): recompute at that length.
    const parsed = parseScryptHash(hash);
    const key = scryptSync(Buffer.from(`${name} ${PASSWORD}`), parsed.salt, hashBytes, { N: 2 ** cost.logN, r: cost.r, p: cost.p });
    hash = formatScryptHash({ cost, salt: parsed.salt, hash: key });
  }
  return { name, role: 'viewer' as const, hash, mustChangePassword: false };
}

async function attempt(db: UsersDb, name: string, password: string): Promise<{ ok: boolean; calls: string[] }> {
  const { impl, calls } = recorder();
  const ok = await verifyLogin(password, db.get(name)?.hash, loginHashShapes(db, PROFILE), impl);
  return { ok, calls };
}

const MIXES: Array<[string, UsersDb]> = [
  ['one cost (the profile\'s)', new UsersDb([user('ann', PROFILE), user('bob', PROFILE)])],
  ['a weaker legacy hash next to the profile\'s', new UsersDb([user('ann', PROFILE), user('bob', WEAK)])],
  ['only legacy hashes (profile raised, nobody signed in since)', new UsersDb([user('ann', WEAK), user('bob', WEAK)])],
  ['three costs and a stronger one', new UsersDb([user('ann', WEAK), user('bob', STRONG), user('cy', OTHER), user('dee', PROFILE)])],
  ['a 64-byte hash from another writer', new UsersDb([user('ann', PROFILE), user('bob', PROFILE, 64)])],
];

t.test('attack: no cost mix lets an unknown name answer with other work than a wrong password', async (t) => {
  for (const [title, db] of MIXES) {
    const unknown = await attempt(db, 'nobody', 'a guess at a password');
    t.equal(unknown.ok, false, `${title}: unknown name refused`);
    t.equal(unknown.calls.length, loginHashShapes(db, PROFILE).length, `${title}: one computation per distinct shape`);
    for (const name of db.names()) {
      const wrong = await attempt(db, name, 'a guess at a password');
      const right = await attempt(db, name, `${name} ${PASSWORD}`);
      t.equal(wrong.ok, false, `${title}: ${name}, wrong password refused`);
      t.equal(right.ok, true, `${title}: ${name}, right password accepted`);
      t.same(wrong.calls, unknown.calls, `${title}: ${name}, a wrong password does exactly the work of an unknown name`);
      t.same(right.calls, unknown.calls, `${title}: ${name}, and so does the right one`);
    }
  }
});

t.test('the shapes of a table: distinct, in file order, the profile\'s when empty, cached per table', (t) => {
  const db = MIXES[3]?.[1] as UsersDb;
  t.same(loginHashShapes(db, PROFILE).map((s) => s.cost), [WEAK, STRONG, OTHER, PROFILE]);
  t.equal(loginHashShapes(db, PROFILE), loginHashShapes(db, PROFILE), 'computed once per table');
  t.same(loginHashShapes(new UsersDb(), PROFILE), [{ cost: PROFILE, hashBytes: 32 }], 'an empty table still costs the profile\'s hash');
  t.same(loginHashShapes(MIXES[4]?.[1] as UsersDb, PROFILE).map((s) => s.hashBytes), [32, 64]);
  t.end();
});

t.test('a password over the bound costs nothing for anyone', async (t) => {
  const db = MIXES[1]?.[1] as UsersDb;
  const long = 'x'.repeat(MAX_PASSWORD_BYTES + 1);
  for (const name of ['ann', 'bob', 'nobody']) {
    const r = await attempt(db, name, long);
    t.same(r, { ok: false, calls: [] }, `${name}: refused without hashing`);
  }
});

t.test('shapes from another table still check the right password (a shape too many, never a false answer)', async (t) => {
  const db = MIXES[1]?.[1] as UsersDb;
  const { impl, calls } = recorder();
  t.equal(await verifyLogin(`bob ${PASSWORD}`, db.get('bob')?.hash, loginHashShapes(new UsersDb(), PROFILE), impl), true);
  t.equal(calls.length, 2, 'the profile dummy and the real check');
});
