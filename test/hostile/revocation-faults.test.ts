/**
 * Revocation faults across restarts, with real processes (the built CLI): a damaged
 * revocation file fails closed; `--revocations none` says what it forgets and
 * `--refuse-earlier-boots` is the safe choice without storage; a RAM-mode snapshot taken
 * before a logout cannot bring the session back after a crash.
 */
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bearer, login, post, status, token, workspace } from './revocation-support.js';

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
