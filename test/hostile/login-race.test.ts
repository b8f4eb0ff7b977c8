/**
 * A login verifies the password against the users table as it was when the login began,
 * and hashing takes a while (a second on a router). Whatever changed the user meanwhile —
 * the owner changing a leaked password and ending every other session, an admin resetting
 * it from the CLI, removing the user or taking a role away — was revoked *before* the login
 * issues its session. An attacker who keeps logins with the old password in flight must
 * not come out of that with a session (or a token) issued after the revocation, which the
 * revocation no longer covers: the session is only issued for the user as they are when it
 * is issued.
 */
import t from 'tap';
import { join } from 'node:path';
import { hashPasswordSync, setUserHash, setUserPassword, updateUsersFile } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, type TestServer } from '../support/server.js';
import { cookiesFrom, sessionCookieOf, type Reply } from '../support/http.js';
import { assertNoSecrets, cookieValue } from './client.js';

const PASSWORD = 'login race admin passphrase';
const OLD = 'the leaked old passphrase';
const NEW = 'the owner\'s new passphrase';
/** Slow enough that the change lands while the attacker's login is hashing (32 MiB, ~0.1 s). */
const SLOW = { logN: 15, r: 8, p: 1 };

async function whileHashing(s: TestServer, start: () => Promise<Reply>, change: () => Promise<void>): Promise<Reply> {
  const before = s.running.deps.hashLimiter.stats().inFlight;
  const pending = start();
  const until = Date.now() + 5000;
  while (s.running.deps.hashLimiter.stats().inFlight <= before && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  await change();
  return pending;
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: a login in flight during a password change, reset, removal or demotion gets nothing that outlives it`, async (t) => {
    const s = await startTestServer({ mode, profile: { hashConcurrency: 2 } });
    t.teardown(() => s.close());
    await adminWithPassword(s, PASSWORD);
    const path = join(s.dir, 'users.json');
    const oldHash = hashPasswordSync(OLD, SLOW);
    const newHash = hashPasswordSync(NEW, SLOW);
    const give = (name: string, role: 'admin' | 'viewer') => s.running.deps.users.update((db) => setUserPassword(db, name, oldHash, { role }));
    const status = async (headers: Record<string, string>) => (await s.request('GET', '/session', { headers })).status;
    const secrets = [PASSWORD, OLD, NEW];

    // 1. The owner changes the password, ending every other session: what POST /password
    // does once it has checked the current password and hashed the new one (done here
    // beforehand, so that the change lands while the attacker's login is still hashing).
    await give('alice', 'viewer');
    const attacker = await whileHashing(s, () => jsonLogin(s, 'alice', OLD), async () => {
      await s.running.deps.users.update((db) => setUserHash(db, 'alice', newHash));
      s.running.deps.sessions.revokeUser('alice');
      await s.running.deps.sessions.revocationsSettled();
    });
    if (attacker.status === 200) {
      secrets.push(cookieValue(sessionCookieOf(attacker)));
      t.equal(await status({ cookie: sessionCookieOf(attacker) }), 401, 'the attacker\'s login that began with the old password yields no working session');
    } else t.equal(attacker.status, 401, 'the attacker\'s login that began with the old password is refused');

    // 2. An admin resets the password from the CLI while a login with the old one hashes.
    await give('bob', 'viewer');
    const bob = await whileHashing(s, () => jsonLogin(s, 'bob', OLD), async () => {
      await updateUsersFile(path, (db) => setUserPassword(db, 'bob', newHash));
      s.running.reloadUsers();
      await s.running.deps.sessions.revocationsSettled();
    });
    if (bob.status === 200) t.equal(await status({ cookie: sessionCookieOf(bob) }), 401, 'reset from the CLI: no working session from the old password');
    else t.equal(bob.status, 401, 'reset from the CLI: the old password\'s login is refused');

    // 3. A token by the password grant, while the user is removed; then the name comes back.
    await give('carol', 'viewer');
    const carol = await whileHashing(s, () => s.request('POST', '/token', { json: { username: 'carol', password: OLD } }), async () => {
      await s.running.deps.users.update((db) => db.remove('carol'));
    });
    await give('carol', 'viewer');
    if (carol.status === 200) {
      secrets.push(carol.json.access_token as string);
      t.equal(await status({ authorization: `Bearer ${carol.json.access_token as string}` }), 401, 'removed and re-created: the token minted during the removal is refused');
    } else t.equal(carol.status, 400, 'removed meanwhile: the password grant is refused');

    // 4. An admin login while the role is taken away; then the role comes back.
    await give('dave', 'admin');
    const dave = await whileHashing(s, () => jsonLogin(s, 'dave', OLD), async () => {
      await s.running.deps.users.update((db) => setUserPassword(db, 'dave', oldHash, { role: 'viewer' }));
    });
    await s.running.deps.users.update((db) => setUserPassword(db, 'dave', oldHash, { role: 'admin' }));
    if (dave.status === 200) t.equal(await status({ cookie: sessionCookieOf(dave) }), 401, 'demoted and promoted again: the admin session begun during the demotion is refused');
    else t.equal(dave.status, 401, 'demoted meanwhile: the admin login is refused');

    // 5. The attacker, holding a session and the old password, changes the password while
    // an admin resets it from the CLI: the reset stands, and the attacker gets no session.
    await give('frank', 'viewer');
    const held = await jsonLogin(s, 'frank', OLD);
    const heldCookie = sessionCookieOf(held);
    const OWNED = 'the attacker owns this passphrase';
    const takeover = await whileHashing(s, () => s.request('POST', '/password', {
      headers: { cookie: heldCookie, 'x-csrf-token': held.json.csrfToken, origin: s.origin },
      json: { currentPassword: OLD, newPassword: OWNED, endOtherSessions: true },
    }), async () => {
      await updateUsersFile(path, (db) => setUserPassword(db, 'frank', newHash));
      s.running.reloadUsers();
      await s.running.deps.sessions.revocationsSettled();
    });
    t.not(takeover.status, 200, `the attacker's password change is refused (${takeover.status})`);
    const name = s.running.deps.cookies.session;
    const taken = cookiesFrom(takeover)[name];
    if (taken !== undefined) t.equal(await status({ cookie: `${name}=${taken}` }), 401, 'no working session for the attacker');
    t.equal((await jsonLogin(s, 'frank', OWNED)).status, 401, 'the attacker\'s password was not written');
    t.equal((await jsonLogin(s, 'frank', NEW)).status, 200, 'the admin\'s reset stands');

    // 6. The same password re-hashed meanwhile (another instance upgraded the hash at its own
    // login and the shared engine brought it here; or `ringlet users passwd` with the same
    // password): no revocation, so the login stands — verified again against the new hash.
    await give('gina', 'viewer');
    const rehashed = await whileHashing(s, () => jsonLogin(s, 'gina', OLD), async () => {
      await s.running.deps.users.update((db) => setUserHash(db, 'gina', hashPasswordSync(OLD, SLOW)));
    });
    t.equal(rehashed.status, 200, 'the same password under a new salt: the login stands');
    if (rehashed.status === 200) t.equal(await status({ cookie: sessionCookieOf(rehashed) }), 200, 'and its session works');

    // Untouched users still sign in.
    await give('erin', 'viewer');
    t.equal((await jsonLogin(s, 'erin', OLD)).status, 200, 'an ordinary login works');
    assertNoSecrets(t, s, secrets);
  });
}

t.test('a password change whose user is re-hashed with the same password while the new hash is computed still lands', async (t) => {
  // The new password is hashed at the profile's cost: slow enough here for the re-hash to land meanwhile.
  const s = await startTestServer({ mode: 'ram', profile: { hashConcurrency: 2, scryptLogN: SLOW.logN, memoryBudgetBytes: 512 * 1024 * 1024 } });
  t.teardown(() => s.close());
  await adminWithPassword(s, PASSWORD);
  await s.running.deps.users.update((db) => setUserPassword(db, 'ivan', hashPasswordSync(OLD, SLOW), { role: 'viewer' }));
  const held = await jsonLogin(s, 'ivan', OLD);
  const limiter = s.running.deps.hashLimiter;
  const completedBefore = limiter.stats().completed;
  const change = s.request('POST', '/password', {
    headers: { cookie: sessionCookieOf(held), 'x-csrf-token': held.json.csrfToken, origin: s.origin },
    json: { currentPassword: OLD, newPassword: NEW },
  });
  // The current password verified (one hash completed), the new one is being computed: now
  // another login upgrades the stored hash — the same password under a new salt.
  const until = Date.now() + 5000;
  while (!(limiter.stats().completed > completedBefore && limiter.stats().inFlight > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  await s.running.deps.users.update((db) => setUserHash(db, 'ivan', hashPasswordSync(OLD, SLOW)));
  const r = await change;
  t.equal(r.status, 200, 'the password change stands');
  t.equal((await jsonLogin(s, 'ivan', NEW)).status, 200, 'the new password signs in');
  t.equal((await jsonLogin(s, 'ivan', OLD)).status, 401, 'the old one no longer does');
});
