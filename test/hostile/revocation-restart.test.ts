/**
 * Revocations that hold across restarts (issue 13, item 3), with real processes: the built
 * CLI is started, credentials are revoked every way the API offers, the process is killed
 * with SIGKILL (a crash: nothing is flushed on the way out, so whatever was answered must
 * already be on disk), and a new process on the same users and keys files must still
 * refuse them — while credentials nobody revoked still work (so the test can fail).
 */
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { bearer, cookieOf, jtiOf, login, NEW_PASSWORD, PASSWORD, post, status, token, workspace, type Signed } from './revocation-support.js';

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

