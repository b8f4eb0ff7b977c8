import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatUsersFile, hashPasswordSync, parseUsersFile, setUserPassword } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE, type SignedIn, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';

// The shipped bundle, as an operator runs it.
const BIN = fileURLToPath(new URL('../../ringlet.js', import.meta.url));
const COST = { logN: TEST_PROFILE.scryptLogN as number, r: TEST_PROFILE.scryptR as number, p: TEST_PROFILE.scryptP as number };

/** The CLI as an operator runs it, against the server's users file, at the tests' cheap cost. */
function cli(s: TestServer, args: string[], input = ''): Promise<{ code: number | null; out: string; err: string }> {
  const profile = join(s.dir, 'cheap-profile.json');
  writeFileSync(profile, JSON.stringify({ ...TEST_PROFILE, mode: 'ram' }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--users', join(s.dir, 'users.json'), ...(args[0] === 'passwd' || args[1] === 'add' || args[1] === 'passwd' ? ['--profile', profile] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });
}

function fileNames(s: TestServer): string[] {
  return parseUsersFile(readFileSync(join(s.dir, 'users.json'), 'utf8'), 'users.json').names().sort();
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function changePassword(s: TestServer, who: SignedIn, current: string, next: string): Promise<number> {
  const r = await s.request('POST', '/password', {
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: s.origin },
    json: { currentPassword: current, newPassword: next },
  });
  return r.status;
}

async function signIn(s: TestServer, user: string, password: string): Promise<SignedIn> {
  const r = await jsonLogin(s, user, password);
  if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${r.text}`);
  return { cookie: sessionCookieOf(r), csrf: r.json.csrfToken, user };
}

t.test('attack: a user added by the CLI while the server runs must survive the next web password change', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const added = await cli(s, ['passwd', 'monitor'], 'monitor passphrase 1\n');
  t.equal(added.code, 0, added.err);
  t.equal(await changePassword(s, admin, 'correct horse battery', 'another horse battery'), 200);
  t.same(fileNames(s), ['admin', 'monitor'], 'the CLI user is still in the file');
  await until('the server sees monitor', () => s.running.deps.users.current().has('monitor'));
  t.equal((await jsonLogin(s, 'monitor', 'monitor passphrase 1')).status, 200, 'and can sign in without a restart');
});

t.test('concurrent CLI processes and web password changes, several rounds: nothing is lost', async (t) => {
  const s = await startTestServer({ profile: { hashConcurrency: 4, hashQueueLength: 16 } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const WEB_USERS = 3;
  const hashes = Array.from({ length: WEB_USERS }, (_, i) => hashPasswordSync(`web${i} password 0`, COST));
  await s.running.deps.users.update((db) => hashes.reduce((acc, hash, i) => setUserPassword(acc, `web${i}`, hash), db));
  const web = await Promise.all(Array.from({ length: WEB_USERS }, (_, i) => signIn(s, `web${i}`, `web${i} password 0`)));
  const ROUNDS = 3;
  const CLI_PER_ROUND = 3;
  const expected = new Set(['admin', ...web.map((w) => w.user)]);
  for (let round = 1; round <= ROUNDS; round++) {
    const clis = Array.from({ length: CLI_PER_ROUND }, (_, i) => cli(s, ['users', 'add', `cli${round}-${i}`], `cli user password ${round}-${i}\n`));
    const changes = web.map(async (w, i) => {
      const status = await changePassword(s, w, `web${i} password ${round - 1}`, `web${i} password ${round}`);
      // The change ends the old session and hands out a new one: sign in again for the next round.
      web[i] = await signIn(s, w.user, `web${i} password ${round}`);
      return status;
    });
    const results = await Promise.all(clis);
    t.same(results.map((r) => r.code), Array(CLI_PER_ROUND).fill(0), `round ${round}: every CLI add succeeded ${results.map((r) => r.err).join('')}`);
    t.same(await Promise.all(changes), Array(WEB_USERS).fill(200), `round ${round}: every web change succeeded`);
    for (let i = 0; i < CLI_PER_ROUND; i++) expected.add(`cli${round}-${i}`);
    t.same(fileNames(s), [...expected].sort(), `round ${round}: every user is in the file`);
  }
  await until('the server sees every CLI user', () => s.running.deps.users.current().size === expected.size);
  for (let i = 0; i < WEB_USERS; i++) {
    t.equal((await jsonLogin(s, `web${i}`, `web${i} password ${ROUNDS}`)).status, 200, `web${i}: the last password holds`);
  }
  t.equal((await jsonLogin(s, `cli${ROUNDS}-0`, `cli user password ${ROUNDS}-0`)).status, 200, 'a CLI user signs in');
  t.equal((await changePassword(s, admin, 'correct horse battery', 'admin horse battery 2')), 200);
  t.same(fileNames(s), [...expected].sort(), 'and the admin\'s change drops nobody either');
});

t.test('removing or demoting a user ends their access at once, including through a reload', async (t) => {
  for (const mode of ['ram', 'cookie'] as const) {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    const hash = hashPasswordSync('viewer password 1', COST);
    await s.running.deps.users.update((db) => ['vic', 'val', 'ada'].reduce((acc, name) => setUserPassword(acc, name, hash, { role: name === 'ada' ? 'admin' : 'viewer' }), db));
    const vic = await signIn(s, 'vic', 'viewer password 1');
    const val = await signIn(s, 'val', 'viewer password 1');
    const ada = await signIn(s, 'ada', 'viewer password 1');
    const token = (await s.request('POST', '/token', { json: { username: 'vic', password: 'viewer password 1', scope: 'metrics:read' } })).json.access_token as string;
    const status = async (headers: Record<string, string>) => (await s.request('GET', '/session', { headers })).status;
    t.equal(await status({ cookie: vic.cookie }), 200, `${mode}: vic is signed in`);
    t.equal(await status({ authorization: `Bearer ${token}` }), 200, `${mode}: vic's token works`);

    // Through the server's own writer.
    await s.running.deps.users.update((db) => db.remove('vic'));
    t.equal(await status({ cookie: vic.cookie }), 401, `${mode}: removed (own write): cookie refused`);
    t.equal(await status({ authorization: `Bearer ${token}` }), 401, `${mode}: removed (own write): token refused`);

    // Through the CLI and the server's reload of the file.
    const removed = await cli(s, ['users', 'remove', 'val']);
    t.equal(removed.code, 0, removed.err);
    await until('val gone', () => !s.running.deps.users.current().has('val'));
    t.equal(await status({ cookie: val.cookie }), 401, `${mode}: removed by the CLI: refused after the reload`);
    const demoted = await cli(s, ['users', 'set-role', 'ada', 'viewer']);
    t.equal(demoted.code, 0, demoted.err);
    await until('ada demoted', () => s.running.deps.users.current().get('ada')?.role === 'viewer');
    t.equal(await status({ cookie: ada.cookie }), 401, `${mode}: demoted by the CLI: the admin session is refused`);
    t.equal((await s.request('GET', '/sessions', { headers: { cookie: ada.cookie } })).status, 401, `${mode}: and reaches no admin route`);
    t.equal(await status({ cookie: admin.cookie }), 200, `${mode}: other users are untouched`);
    // Re-adding the name does not bring the old session back with its old role.
    await cli(s, ['users', 'passwd', 'val', '--role', 'admin'], 'a brand new password\n');
    await until('val back', () => s.running.deps.users.current().has('val'));
    t.equal(await status({ cookie: val.cookie }), 401, `${mode}: a viewer session of a name re-added as admin stays refused`);
  }
});

t.test('a users file replaced, truncated or corrupted while the server runs', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const path = join(s.dir, 'users.json');
  const hash = hashPasswordSync('viewer password 1', COST);

  // Replaced atomically by another tool (a new inode).
  const replacement = setUserPassword(s.running.deps.users.current(), 'rita', hash);
  writeFileSync(`${path}.tmp`, formatUsersFile(replacement));
  renameSync(`${path}.tmp`, path);
  await until('replacement seen', () => s.running.deps.users.current().has('rita'));
  t.equal((await jsonLogin(s, 'rita', 'viewer password 1')).status, 200, 'replaced: the new user signs in');

  // Truncated (an editor's half-written save), then corrupted.
  const goodText = readFileSync(path, 'utf8');
  truncateSync(path, 25);
  await until('truncation refused', () => s.logEvents('users_file_refused').length === 1);
  writeFileSync(path, 'not json at all');
  await until('corruption refused', () => s.logEvents('users_file_refused').length === 2);
  t.equal(s.running.reloadUsers(), 'refused', 'a reload refuses it too (what SIGHUP does)');
  t.equal(s.logEvents('users_file_refused').length, 2, 'one log line per damage');
  t.match(s.logEvents('users_file_refused')[1], { level: 'warn', reason: /users\.json: invalid JSON at line 1 column \d+/, keeping: 2 });
  t.equal((await jsonLogin(s, 'rita', 'viewer password 1')).status, 200, 'damaged: the last good table still serves');
  t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'and sessions stay');
  t.equal(await changePassword(s, admin, 'correct horse battery', 'a third horse battery'), 503, 'a password change refuses to write over the damage');
  t.equal(readFileSync(path, 'utf8'), 'not json at all', 'the damaged file is left for a person to fix');
  t.equal(s.logEvents('users_file_write_refused').length, 1);

  // Repaired.
  writeFileSync(path, goodText);
  // The same text as the table in memory: nothing to reload, and nothing refused any more.
  await until('repair seen', () => s.running.reloadUsers() === 'unchanged');
  t.equal(await changePassword(s, admin, 'correct horse battery', 'a third horse battery'), 200, 'repaired: writes work again');
  for (const line of s.logs) t.notOk(line.includes(hash.slice(-20)), 'no hash in any log line');
});

t.test('a user removed and re-added with the same role does not get the old sessions back (own write, and the CLI through a reload)', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  await adminWithPassword(s);
  const hash = hashPasswordSync('viewer password 1', COST);
  await s.running.deps.users.update((db) => setUserPassword(setUserPassword(db, 'vic', hash), 'val', hash));
  const vic = await signIn(s, 'vic', 'viewer password 1');
  const val = await signIn(s, 'val', 'viewer password 1');
  const status = async (who: SignedIn) => (await s.request('GET', '/session', { headers: { cookie: who.cookie } })).status;

  await s.running.deps.users.update((db) => db.remove('vic'));
  t.equal(await status(vic), 401, 'removed: refused');
  await s.running.deps.users.update((db) => setUserPassword(db, 'vic', hashPasswordSync('a different password', COST)));
  t.equal(await status(vic), 401, 're-added as viewer again: the old session stays ended');

  t.equal((await cli(s, ['users', 'remove', 'val'])).code, 0);
  await until('val gone', () => !s.running.deps.users.current().has('val'));
  t.equal((await cli(s, ['users', 'add', 'val'], 'another long passphrase\n')).code, 0);
  await until('val back', () => s.running.deps.users.current().has('val'));
  t.equal(await status(val), 401, 'removed and re-added by the CLI: the old session stays ended');
  t.match(s.logEvents('user_sessions_revoked'), [{ users: ['vic'] }, { users: ['val'] }]);
  t.equal((await jsonLogin(s, 'val', 'another long passphrase')).status, 200, 'the re-added user signs in afresh');
});
