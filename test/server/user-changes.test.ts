/**
 * A user removed or given another role keeps no credential, even when they come back under
 * the same name or get the old role again — in the same run and after a restart.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPasswordSync, setUserPassword, updateUsersFile, UsersDb, type UserRecord } from '../../src/users/index.js';
import { revokeChangedUsers } from '../../src/session/user-changes.js';
import { ManualClock } from '../support/clock.js';
import { adminWithPassword, jsonLogin, startTestServer, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';

const PASSWORD = 'user change passphrase';
const HASH = hashPasswordSync(PASSWORD, { logN: 10, r: 8, p: 1 });
const T = Date.UTC(2027, 5, 1, 10);
const user = (name: string, role: 'admin' | 'viewer', hash = HASH): UserRecord => ({ name, role, hash, mustChangePassword: false });

t.test('revokeChangedUsers: removed and re-roled users, nobody else', (t) => {
  const other = hashPasswordSync('another passphrase here', { logN: 10, r: 8, p: 1 });
  const before = new UsersDb([user('admin', 'admin'), user('bob', 'admin'), user('carol', 'viewer'), user('dave', 'viewer'), user('Erin', 'viewer')]);
  const after = new UsersDb([user('admin', 'admin'), user('bob', 'viewer'), user('dave', 'viewer', other), user('erin', 'viewer'), user('frank', 'admin')]);
  const revoked: string[] = [];
  const ended = revokeChangedUsers(before, after, { revokeUser: (name, options) => { revoked.push(`${name}${options?.includeThisMillisecond ? '' : ' (exclusive)'}`); return undefined; } });
  t.same(ended, ['bob', 'carol', 'Erin'], 'demoted, removed, renamed (another name is another subject)');
  t.same(revoked, ended);
  t.same(revokeChangedUsers(after, after, { revokeUser: () => { throw new Error('nothing changed'); } }), []);
  const fromFile = revokeChangedUsers(before, after, { revokeUser: () => undefined }, { passwords: true });
  t.same(fromFile, ['bob', 'carol', 'dave', 'Erin'], 'a password set by another writer of the file: dave too');
  t.end();
});

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: a demoted or removed user who comes back finds every old credential revoked, across a restart`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ringlet-user-changes-'));
    const keysPath = join(dir, 'keys.json');
    const open: TestServer[] = [];
    t.teardown(async () => {
      for (const s of open) if (s.running.server.listening) await s.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const wall = new ManualClock(T);
    const start = async () => {
      const s = await startTestServer({ mode, dir, wall, monotonic: new ManualClock(1000), options: { keysPath } });
      open.push(s);
      return s;
    };
    const a = await start();
    await adminWithPassword(a, PASSWORD);
    const replace = (change: (db: UsersDb) => UsersDb) => a.running.deps.users.update(change);
    await replace((db) => db.upsert(user('bob', 'admin')).upsert(user('carol', 'viewer')));
    const bobToken = (await a.request('POST', '/token', { json: { username: 'bob', password: PASSWORD } })).json.access_token as string;
    const carolToken = (await a.request('POST', '/token', { json: { username: 'carol', password: PASSWORD } })).json.access_token as string;
    const carolCookie = sessionCookieOf(await jsonLogin(a, 'carol', PASSWORD));
    const status = async (s: TestServer, headers: Record<string, string>) => (await s.request('GET', '/session', { headers })).status;
    t.equal(await status(a, { authorization: `Bearer ${bobToken}` }), 200);

    await replace((db) => db.upsert(user('bob', 'viewer')));
    await replace((db) => db.remove('carol'));
    t.equal(await status(a, { authorization: `Bearer ${bobToken}` }), 401, 'demoted: the admin token is refused');
    t.equal(await status(a, { cookie: carolCookie }), 401, 'removed: refused');
    t.equal(a.logEvents('user_sessions_revoked').length, 2, 'logged');

    await replace((db) => db.upsert(user('bob', 'admin')).upsert(user('carol', 'viewer')));
    const back: Array<[string, Record<string, string>]> = [
      ['bob\'s old admin token, bob an admin again', { authorization: `Bearer ${bobToken}` }],
      ['carol\'s old token, carol re-created', { authorization: `Bearer ${carolToken}` }],
    ];
    if (mode === 'cookie') back.push(['carol\'s old cookie session, carol re-created', { cookie: carolCookie }]);
    for (const [title, headers] of back) t.equal(await status(a, headers), 401, title);
    // (The monotonic clock has stood still: every credential so far shares one millisecond
    // with the revocations, and that millisecond is revoked too.)
    const later = a.running.deps.clocks.monotonic as ManualClock;
    later.advance(1);
    wall.advance(1);
    const fresh = (await a.request('POST', '/token', { json: { username: 'bob', password: PASSWORD } })).json.access_token as string;
    t.equal(await status(a, { authorization: `Bearer ${fresh}` }), 200, 'a credential issued after the change works');
    await a.close();

    wall.advance(60_000);
    const b = await start();
    for (const [title, headers] of back) t.equal(await status(b, headers), 401, `after a restart: ${title}`);
    t.equal(await status(b, { authorization: `Bearer ${fresh}` }), 200, 'after a restart: the later credential works');
  });
}

/**
 * A password set by another writer — `ringlet users passwd alice` while the server runs, the
 * admin's answer to a leaked password — ends every credential of the old password, like a
 * password change through the web with "end my other sessions". So does a user removed and
 * re-created before the server re-read the file (one reload sees only the new hash). The
 * server's own writes (a hash upgrade at login, a password change that keeps the other
 * sessions) end nothing.
 */
for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: a password set from outside the server ends the old password's credentials`, async (t) => {
    const wall = new ManualClock(T);
    const mono = new ManualClock(1000);
    const s = await startTestServer({ mode, wall, monotonic: mono });
    t.teardown(() => s.close());
    await adminWithPassword(s, PASSWORD);
    const path = join(s.dir, 'users.json');
    await s.running.deps.users.update((db) => db.upsert(user('alice', 'viewer')).upsert(user('bob', 'viewer')).upsert(user('carol', 'viewer')));
    const signIn = async (name: string, password = PASSWORD) => {
      const token = (await s.request('POST', '/token', { json: { username: name, password } })).json.access_token as string;
      return { token, cookie: sessionCookieOf(await jsonLogin(s, name, password)) };
    };
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    const carol = await signIn('carol');
    const status = async (headers: Record<string, string>) => (await s.request('GET', '/session', { headers })).status;
    mono.advance(1);
    wall.advance(1);

    // Another writer (what the CLI does): a locked read-modify-write of the file.
    const NEW = 'a brand new passphrase';
    const newHash = hashPasswordSync(NEW, { logN: 10, r: 8, p: 1 });
    await updateUsersFile(path, (db) => setUserPassword(db, 'alice', newHash));
    await updateUsersFile(path, (db) => db.remove('bob'));
    await updateUsersFile(path, (db) => setUserPassword(db, 'bob', newHash, { role: 'viewer' }));
    t.equal(s.running.reloadUsers(), 'reloaded', 'the server reads the file');
    await s.running.deps.sessions.revocationsSettled();

    t.equal(await status({ cookie: alice.cookie }), 401, 'alice\'s session of the old password is refused');
    t.equal(await status({ authorization: `Bearer ${alice.token}` }), 401, 'and her token');
    t.equal(await status({ cookie: bob.cookie }), 401, 'bob, removed and re-created between two reads: his old session is refused');
    t.equal(await status({ authorization: `Bearer ${bob.token}` }), 401, 'and his old token');
    t.equal(await status({ cookie: carol.cookie }), 200, 'carol, unchanged, keeps hers');
    t.equal(await status({ authorization: `Bearer ${carol.token}` }), 200);
    t.ok(s.logEvents('user_sessions_revoked').some((e) => JSON.stringify(e['users']) === JSON.stringify(['alice', 'bob'])), 'logged, naming the users');

    mono.advance(1);
    wall.advance(1);
    const again = await signIn('alice', NEW);
    t.equal(await status({ cookie: again.cookie }), 200, 'alice signs in with the new password');
    // The server's own write (a password change keeping the other sessions) ends nothing else.
    const changed = await s.request('POST', '/password', {
      headers: { cookie: carol.cookie, 'x-csrf-token': (await s.request('GET', '/session', { headers: { cookie: carol.cookie } })).json.csrfToken, origin: s.origin },
      json: { currentPassword: PASSWORD, newPassword: 'carol changes her own passphrase', endOtherSessions: false },
    });
    t.equal(changed.status, 200, 'carol changes her password, keeping her other sessions');
    t.equal(await status({ authorization: `Bearer ${carol.token}` }), 200, 'her token lives on, as she asked');
    t.equal(await status({ cookie: again.cookie }), 200, 'alice is untouched');
  });
}
