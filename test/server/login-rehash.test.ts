import t from 'tap';
import { scrypt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoginService } from '../../src/server/login-service.js';
import {
  HashLimiter,
  hashPasswordSync,
  LoginThrottle,
  parseScryptHash,
  setUserPassword,
  UsersDb,
  type ScryptCost,
  type ScryptFunction,
  type UsersStore,
} from '../../src/users/index.js';
import { ManualClock } from '../support/clock.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';

// The server's cost for these tests: cheap, with p=2 so that TEST_PROFILE's p=1 is weaker.
const PROFILE_COST: ScryptCost = { logN: 10, r: 8, p: 2 };
const WEAK: ScryptCost = { logN: 10, r: 8, p: 1 };
const STRONGER: ScryptCost = { logN: 11, r: 8, p: 1 }; // more memory, the same work: not weaker
const PASSWORD = 'a long enough passphrase';

async function server(t: { teardown(fn: () => unknown): void }) {
  const s = await startTestServer({ profile: { scryptP: PROFILE_COST.p, hashConcurrency: 4, hashQueueLength: 16 } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const weak = hashPasswordSync(PASSWORD, WEAK);
  const stronger = hashPasswordSync(PASSWORD, STRONGER);
  await s.running.deps.users.update((db) => {
    let next = setUserPassword(db, 'old', weak);
    next = setUserPassword(next, 'old2', hashPasswordSync(PASSWORD, WEAK));
    next = setUserPassword(next, 'busy', hashPasswordSync(PASSWORD, WEAK));
    next = setUserPassword(next, 'strong', stronger);
    return setUserPassword(next, 'flagged', hashPasswordSync(PASSWORD, WEAK), { role: 'admin', mustChangePassword: true });
  });
  const writes: string[] = [];
  s.running.deps.users.onChange((before, after) => {
    for (const name of after.names()) if (before.get(name)?.hash !== after.get(name)?.hash) writes.push(name);
  });
  const costOf = (name: string) => parseScryptHash(s.running.deps.users.current().get(name)?.hash ?? '').cost;
  const fileCostOf = (name: string) => {
    const file = JSON.parse(readFileSync(join(s.dir, 'users.json'), 'utf8')) as { users: Array<{ name: string; hash: string }> };
    return parseScryptHash(file.users.find((u) => u.name === name)?.hash ?? '').cost;
  };
  return { s, admin, writes, costOf, fileCostOf };
}

t.test('a successful login upgrades a weaker hash once, in the file; later logins write nothing', async (t) => {
  const { s, writes, costOf, fileCostOf } = await server(t);
  t.equal((await jsonLogin(s, 'old', PASSWORD)).status, 200);
  await s.running.deps.login.upgradesSettled();
  t.same(writes, ['old'], 'one write');
  t.same(fileCostOf('old'), PROFILE_COST, 'the file holds the profile\'s cost');
  t.same(costOf('old'), PROFILE_COST);
  t.match(s.logEvents('password_hash_upgraded'), [{ user: 'old', from: 'N=2^10 r=8 p=1 (1.0 MiB)', to: 'N=2^10 r=8 p=2 (1.0 MiB)' }]);
  const text = readFileSync(join(s.dir, 'users.json'), 'utf8');
  t.equal((await jsonLogin(s, 'old', PASSWORD)).status, 200, 'the upgraded hash verifies');
  await s.running.deps.login.upgradesSettled();
  t.same(writes, ['old'], 'no second write');
  t.equal(readFileSync(join(s.dir, 'users.json'), 'utf8'), text);
});

t.test('no upgrade for a wrong password, a stronger hash, or a password change; flags and role kept', async (t) => {
  const { s, admin, writes, costOf } = await server(t);
  t.equal((await jsonLogin(s, 'old2', 'a wrong passphrase')).status, 401);
  t.equal((await jsonLogin(s, 'strong', PASSWORD)).status, 200);
  await s.running.deps.login.upgradesSettled();
  t.same(writes, [], 'nothing written');
  t.same(costOf('strong'), STRONGER, 'a stronger hash is kept as it is');

  t.equal((await jsonLogin(s, 'flagged', PASSWORD)).status, 200);
  await s.running.deps.login.upgradesSettled();
  t.match(s.running.deps.users.current().get('flagged'), { role: 'admin', mustChangePassword: true }, 'upgrade keeps role and must-change flag');
  t.same(costOf('flagged'), PROFILE_COST);

  // The password change verifies the current password (weak here) but writes only the new one.
  writes.length = 0;
  const admin2 = await jsonLogin(s, 'old2', PASSWORD);
  await s.running.deps.login.upgradesSettled();
  writes.length = 0;
  const cookie = sessionCookieOf(admin2);
  const changed = await s.request('POST', '/password', {
    headers: { cookie, 'x-csrf-token': admin2.json.csrfToken, origin: s.origin },
    json: { currentPassword: PASSWORD, newPassword: 'the newest passphrase' },
  });
  t.equal(changed.status, 200);
  await s.running.deps.login.upgradesSettled();
  t.same(writes, ['old2'], 'one write for the change, none for an upgrade');
  t.ok(admin, 'admin signed in');
});

t.test('concurrent logins of one weak user: one upgrade, one write', async (t) => {
  const { s, writes } = await server(t);
  const statuses = await Promise.all(Array.from({ length: 4 }, () => jsonLogin(s, 'old', PASSWORD).then((r) => r.status)));
  t.same(statuses, [200, 200, 200, 200]);
  await s.running.deps.login.upgradesSettled();
  t.same(writes, ['old']);
});

t.test('an upgrade that cannot be written is postponed; the login succeeds anyway', async (t) => {
  const { s, writes, costOf } = await server(t);
  writeFileSync(join(s.dir, 'users.json'), '{ damaged');
  t.equal((await jsonLogin(s, 'busy', PASSWORD)).status, 200, 'the last good table still serves');
  await s.running.deps.login.upgradesSettled();
  t.same(writes, []);
  t.same(costOf('busy'), WEAK);
  t.match(s.logEvents('password_hash_upgrade_postponed'), [{ user: 'busy', reason: 'ConfigError' }]);
  t.equal(readFileSync(join(s.dir, 'users.json'), 'utf8'), '{ damaged', 'the damaged file is left alone');
});

t.test('LoginService: an unknown name, a wrong and a right password make the same computations over a cost mix', async (t) => {
  const calls: string[] = [];
  const impl = ((pw: Buffer, salt: Buffer, keylen: number, o: { N: number; r: number; p: number; maxmem: number }, cb: (e: Error | null, k: Buffer) => void) => {
    calls.push(`N=${o.N} r=${o.r} p=${o.p} keylen=${keylen}`);
    scrypt(pw, salt, keylen, o, cb);
  }) as unknown as ScryptFunction;
  const cheap = { logN: TEST_PROFILE.scryptLogN as number, r: 1, p: 1 };
  const db = new UsersDb([
    { name: 'ann', role: 'viewer', hash: hashPasswordSync(PASSWORD, cheap), mustChangePassword: false },
    { name: 'bob', role: 'viewer', hash: hashPasswordSync(PASSWORD, { ...cheap, p: 3 }), mustChangePassword: false },
  ]);
  const store: UsersStore = { current: () => db, update: async () => db, onChange: () => () => {} };
  const login = new LoginService({
    users: store,
    limiter: new HashLimiter({ maxConcurrent: 1, maxQueued: 4, maxWaitMs: 1000 }),
    throttle: new LoginThrottle({ entries: 64, freeAttempts: 100, baseDelayMs: 1, maxDelayMs: 1, forgetAfterMs: 1000 }),
    cost: { ...cheap, p: 3 },
    clock: new ManualClock(),
    busyRetryAfterMs: 1000,
    scryptImpl: impl,
  });
  const work = async (user: string, password: string) => {
    calls.length = 0;
    const outcome = await login.authenticate(user, password, '192.0.2.1', { upgradeHash: false });
    return { result: outcome.result, calls: [...calls] };
  };
  const unknown = await work('nobody', PASSWORD);
  t.same(unknown, { result: 'failure', calls: ['N=1024 r=1 p=1 keylen=32', 'N=1024 r=1 p=3 keylen=32'] });
  for (const user of ['ann', 'bob']) {
    t.same(await work(user, 'a wrong passphrase'), { result: 'failure', calls: unknown.calls }, `${user}: wrong password`);
    t.same(await work(user, PASSWORD), { result: 'success', calls: unknown.calls }, `${user}: right password`);
  }
  t.same(await work('n'.repeat(65), PASSWORD), { result: 'failure', calls: unknown.calls }, 'an overlong name: the same work');
});
