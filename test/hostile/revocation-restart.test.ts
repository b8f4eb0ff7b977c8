/**
 * Revocations that hold across restarts (issue 13, item 3), with real processes: the built
 * CLI is started, credentials are revoked every way the API offers, the process is killed
 * with SIGKILL (a crash: nothing is flushed on the way out, so whatever was answered must
 * already be on disk), and a new process on the same users and keys files must still
 * refuse them — while credentials nobody revoked still work (so the test can fail).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPasswordSync, saveUsersFile, UsersDb } from '../../src/users/index.js';
import { startCliServer, type CliServer } from '../support/cli-server.js';
import { cookiesFrom, type Reply } from '../support/server.js';

const PASSWORD = 'restart revocation passphrase';
const NEW_PASSWORD = 'a brand new passphrase for bob';
const COST = { logN: 10, r: 8, p: 1 };

interface Workspace {
  dir: string;
  usersPath: string;
  keysPath: string;
  revocationsPath: string;
  start(mode: 'ram' | 'cookie', extra?: string[]): Promise<CliServer>;
}

function workspace(t: Test): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-revocation-restart-'));
  const usersPath = join(dir, 'users.json');
  const keysPath = join(dir, 'keys.json');
  const hash = hashPasswordSync(PASSWORD, COST);
  saveUsersFile(usersPath, new UsersDb([
    { name: 'admin', role: 'admin', hash, mustChangePassword: false },
    { name: 'alice', role: 'viewer', hash, mustChangePassword: false },
    { name: 'bob', role: 'viewer', hash, mustChangePassword: false },
  ]));
  const running: CliServer[] = [];
  t.teardown(async () => {
    for (const s of running) await s.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir, usersPath, keysPath,
    // The documented default: next to the keys file, named after it.
    revocationsPath: join(dir, 'keys.revocations.json'),
    start: async (mode, extra = []) => {
      const s = await startCliServer(['--mode', mode, '--users', usersPath, '--keys', keysPath, '--scrypt-log-n', '10', ...extra]);
      running.push(s);
      return s;
    },
  };
}

function cookieOf(reply: Reply): string {
  const cookies = cookiesFrom(reply);
  const name = Object.keys(cookies).find((k) => k === 'ringlet');
  if (name === undefined) throw new Error(`no session cookie in a ${reply.status} reply: ${reply.text}`);
  return `ringlet=${cookies[name]}`;
}

interface Signed {
  cookie: string;
  csrf: string;
}

async function login(s: CliServer, user: string, password = PASSWORD): Promise<Signed> {
  const r = await s.request('POST', '/login', { json: { username: user, password } });
  if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${r.text}`);
  return { cookie: cookieOf(r), csrf: r.json.csrfToken as string };
}

async function token(s: CliServer, user: string, password = PASSWORD): Promise<string> {
  const r = await s.request('POST', '/token', { json: { username: user, password } });
  if (r.status !== 200) throw new Error(`token ${user}: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}

const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });
const jtiOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1]!, 'base64url').toString('utf8')).jti as string;

async function status(s: CliServer, headers: Record<string, string>): Promise<number> {
  return (await s.request('GET', '/session', { headers })).status;
}

async function post(s: CliServer, path: string, who: Signed | string, json: unknown): Promise<Reply> {
  const headers: Record<string, string> = typeof who === 'string'
    ? bearer(who)
    : { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: s.origin };
  return s.request('POST', path, { headers, json });
}

for (const mode of ['cookie', 'ram'] as const) {
  t.test(`${mode} mode: logout, logout everywhere, password change and jti revocation survive a crash and a restart`, async (t) => {
    const w = workspace(t);
    const a = await w.start(mode);
    // Credentials nobody revokes: they must still work after the restart (in cookie mode
    // for cookies too), or the checks below could not fail.
    const adminKeep = await login(a, 'admin');
    const tokenKeep = await token(a, 'admin');
    // 1. Logout of one cookie session, and of one bearer token.
    const adminOut = await login(a, 'admin');
    t.equal((await post(a, '/logout', adminOut, {})).status, 200);
    const tokenOut = await token(a, 'admin');
    t.equal((await post(a, '/logout', tokenOut, {})).status, 200);
    // 2. Logout everywhere (revoke-user) by alice herself.
    const alicePhone = await login(a, 'alice');
    const aliceLaptop = await login(a, 'alice');
    const aliceToken = await token(a, 'alice');
    t.equal((await post(a, '/sessions/revoke-user', alicePhone, {})).status, 200);
    // 3. A password change ends bob's other sessions; the session it hands back lives on.
    const bobOld = await login(a, 'bob');
    const bobToken = await token(a, 'bob');
    const bobHere = await login(a, 'bob');
    const changed = await post(a, '/password', bobHere, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    t.equal(changed.status, 200);
    const bobNew: Signed = { cookie: cookieOf(changed), csrf: changed.json.csrfToken as string };
    // 4. An admin revokes one bearer token by jti.
    const tokenByJti = await token(a, 'admin');
    const revoked = await post(a, '/tokens/revoke', adminKeep, { jti: jtiOf(tokenByJti), user: 'admin' });
    t.same([revoked.status, revoked.json], [200, { revoked: true }]);

    const refusedNow: Array<[string, Record<string, string>]> = [
      ['the logged-out bearer token', bearer(tokenOut)],
      ['alice\'s token after logout everywhere', bearer(aliceToken)],
      ['bob\'s token from before his password change', bearer(bobToken)],
      ['the token revoked by jti', bearer(tokenByJti)],
    ];
    if (mode === 'cookie') {
      refusedNow.push(
        ['the logged-out cookie session', { cookie: adminOut.cookie }],
        ['alice\'s phone', { cookie: alicePhone.cookie }],
        ['alice\'s laptop', { cookie: aliceLaptop.cookie }],
        ['bob\'s session from before his password change', { cookie: bobOld.cookie }],
      );
    }
    for (const [title, headers] of refusedNow) t.equal(await status(a, headers), 401, `before the restart: ${title} is refused`);
    t.equal(await a.stop('SIGKILL'), null, 'killed: nothing written on the way out');

    t.ok(existsSync(w.revocationsPath), 'the revocation file sits next to the keys file');
    if (existsSync(w.revocationsPath)) {
      t.equal(statSync(w.revocationsPath).mode & 0o777, 0o600, 'mode 0600');
      t.ok(statSync(w.revocationsPath).size < 8 * 1024, `small: ${statSync(w.revocationsPath).size} bytes`);
      const written = readFileSync(w.revocationsPath, 'utf8');
      for (const secret of [PASSWORD, NEW_PASSWORD, tokenOut, tokenByJti, adminOut.cookie.slice(8)]) t.notOk(written.includes(secret), 'no secret in the file');
    }

    for (const round of ['after the crash', 'after a second, graceful restart']) {
      const b = await w.start(mode);
      t.equal(b.logEvents('revocations_loaded').length, 1, `${round}: the file was loaded`);

      for (const [title, headers] of refusedNow) t.equal(await status(b, headers), 401, `${round}: ${title} is still refused`);
      t.equal(await status(b, bearer(tokenKeep)), 200, `${round}: a token nobody revoked works`);
      if (mode === 'cookie') {
        t.equal(await status(b, { cookie: adminKeep.cookie }), 200, `${round}: a cookie session nobody revoked works`);
        t.equal(await status(b, { cookie: bobNew.cookie }), 200, `${round}: the session the password change handed out works`);
      }
      const fresh = await login(b, 'alice');
      t.equal(await status(b, { cookie: fresh.cookie }), 200, `${round}: alice can sign in again`);
      t.equal((await b.request('POST', '/login', { json: { username: 'bob', password: NEW_PASSWORD } })).status, 200, `${round}: bob with his new password`);
      t.equal(await b.stop('SIGTERM'), 0);
    }
  });
}

t.test('RAM mode: a token revoked by jti stays revoked, and the file holds no more than it must', async (t) => {
  const w = workspace(t);
  const a = await w.start('ram');
  const admin = await login(a, 'admin');
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) tokens.push(await token(a, 'admin'));
  for (const tok of tokens) t.equal((await post(a, '/tokens/revoke', admin, { jti: jtiOf(tok), user: 'admin' })).status, 200);
  t.equal((await post(a, '/logout', admin, {})).status, 200, 'a RAM session\'s logout needs nothing on disk (it dies with the process)');
  await a.stop('SIGKILL');
  const file = JSON.parse(readFileSync(w.revocationsPath, 'utf8')) as { version: number; events: Array<Record<string, unknown>> };
  t.equal(file.version, 1);
  t.same(file.events.map((e) => e['type']).sort(), ['denied-id', 'denied-id', 'denied-id'], 'three denied ids, nothing else');
  const b = await w.start('ram');
  for (const tok of tokens) t.equal(await status(b, bearer(tok)), 401, 'revoked token refused after the restart');
});

t.test('a damaged revocation file fails closed: one log line, earlier credentials refused, the admin can sign in again', async (t) => {
  const w = workspace(t);
  const a = await w.start('cookie');
  const earlier = await login(a, 'admin');
  const earlierToken = await token(a, 'admin');
  const out = await login(a, 'alice');
  t.equal((await post(a, '/logout', out, {})).status, 200);
  await a.stop('SIGTERM');
  const cases: Array<[string, string]> = [
    ['truncated', readFileSync(w.revocationsPath, 'utf8').slice(0, 20)],
    ['not JSON', '\u0000\u00ffgarbage'],
    ['wrong version', '{"version":9,"events":[]}'],
    ['an event of an unknown type', '{"version":1,"events":[{"type":"forget-everything"}]}'],
    ['a denied id without an owner', '{"version":1,"events":[{"type":"denied-id","id":"abc","issued":null,"until":null}]}'],
    ['a moment that is not a number', '{"version":1,"events":[{"type":"user-not-before","user":"admin","wall":"yesterday"}]}'],
  ];
  for (const [title, text] of cases) {
    writeFileSync(w.revocationsPath, text, { mode: 0o600 });
    const b = await w.start('cookie');
    const lines = b.logEvents('revocations_damaged');
    t.equal(lines.length, 1, `${title}: one log line`);
    t.match(lines[0], { level: 'error', path: w.revocationsPath }, `${title}: naming the file`);
    t.match(String(lines[0]?.['consequence']), /issued before this start are refused/);
    t.equal(await status(b, { cookie: earlier.cookie }), 401, `${title}: a session from before is refused (fail closed)`);
    t.equal(await status(b, bearer(earlierToken)), 401, `${title}: and a token`);
    const again = await login(b, 'admin');
    t.equal(await status(b, { cookie: again.cookie }), 200, `${title}: the admin signs in again`);
    t.ok(existsSync(`${w.revocationsPath}.damaged`), `${title}: the damaged file is kept aside`);
    await b.stop('SIGTERM');
    const c = await w.start('cookie');
    t.equal(c.logEvents('revocations_damaged').length, 0, `${title}: the next start finds a sound file`);
    t.equal(await status(c, { cookie: earlier.cookie }), 401, `${title}: and still refuses what came before the damage`);
    t.equal(await status(c, { cookie: again.cookie }), 200, `${title}: but not the new session`);
    await c.stop('SIGTERM');
  }
});

t.test('--revocations none says what it forgets; --refuse-earlier-boots is the safe choice without storage', async (t) => {
  const w = workspace(t);
  const a = await w.start('cookie', ['--revocations', 'none']);
  const warned = a.logEvents('revocations_in_memory');
  t.equal(warned.length, 1, 'a warning at start');
  t.match(String(warned[0]?.['consequence']), /forgotten at restart/);
  t.match(String(warned[0]?.['consequence']), /--refuse-earlier-boots/);
  const out = await login(a, 'admin');
  t.equal((await post(a, '/logout', out, {})).status, 200);
  const kept = await login(a, 'admin');
  await a.stop('SIGKILL');
  t.notOk(existsSync(w.revocationsPath), 'nothing written');
  const b = await w.start('cookie', ['--revocations', 'none']);
  t.equal(await status(b, { cookie: out.cookie }), 200, 'the documented consequence: the logout is forgotten');
  await b.stop('SIGTERM');

  const c = await w.start('cookie', ['--revocations', 'none', '--refuse-earlier-boots']);
  t.equal(c.logEvents('revocations_in_memory').length, 0, 'no warning: nothing can come back');
  t.equal(c.logEvents('earlier_boots_refused').length, 1, 'the choice is logged');
  t.equal(await status(c, { cookie: out.cookie }), 401, 'the logged-out session is refused');
  t.equal(await status(c, { cookie: kept.cookie }), 401, 'and so is every credential of an earlier boot');
  const fresh = await login(c, 'admin');
  t.equal(await status(c, { cookie: fresh.cookie }), 200, 'this boot\'s sessions work');
});

t.test('RAM mode with a snapshot: a session logged out after SIGHUP does not come back after a crash', async (t) => {
  const w = workspace(t);
  const snapshot = join(w.dir, 'snapshot.bin');
  const a = await w.start('ram', ['--snapshot', snapshot]);
  const out = await login(a, 'admin');
  a.child.kill('SIGHUP');
  for (let i = 0; i < 100 && !a.logEvents('snapshot_written').length; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(a.logEvents('snapshot_written').length, 1, 'SIGHUP wrote a snapshot');
  t.equal((await post(a, '/logout', out, {})).status, 200);
  await a.stop('SIGKILL');
  const b = await w.start('ram', ['--snapshot', snapshot]);
  t.equal(await status(b, { cookie: out.cookie }), 401, 'the logged-out session stays out');
  await b.stop('SIGTERM');
  // Without a logout since SIGHUP, the snapshot does its job.
  const c = await w.start('ram', ['--snapshot', snapshot]);
  const again = await login(c, 'alice');
  c.child.kill('SIGHUP');
  for (let i = 0; i < 100 && !c.logEvents('snapshot_written').length; i++) await new Promise((r) => setTimeout(r, 50));
  await c.stop('SIGKILL');
  const d = await w.start('ram', ['--snapshot', snapshot]);
  t.equal(await status(d, { cookie: again.cookie }), 200, 'a snapshot nobody invalidated is restored after a crash');
});
