/**
 * Several instances as strict as one, with real processes: three `node dist/ringlet.js serve`
 * (cookie mode, one JWKS, each its own users file and revocation file) and one redis-server
 * on loopback. A logout, a logout everywhere, a password change and a token revocation made
 * on one instance are refused on the others, and a new password signs in everywhere; password guesses spread over the three get one
 * instance's allowance; the engine killed mid-test leaves every instance serving, and a
 * revocation made during the outage holds everywhere once it is back; an instance restarted
 * without its revocation file starts with the current revocations, read from the engine.
 *
 * Waits for propagation are generous (the machine is shared); bench/shared-state.ts measures
 * the delay itself.
 */
import t, { type Test } from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateJwks } from '../../src/codec/index.js';
import { hashPasswordSync, saveUsersFile, UsersDb } from '../../src/users/index.js';
import { BUNDLE_CLI, startCliServer, type CliServer } from '../support/cli-server.js';
import { cookiesFrom, type Reply } from '../support/http.js';
import { RedisProcess, REDIS_SKIP } from '../support/redis.js';

const PASSWORD = 'fleet passphrase one';
const NEW_PASSWORD = 'a fresh fleet passphrase';
const COST = { logN: 10, r: 8, p: 1 };
/** Propagation is milliseconds; the bound is for a loaded machine. */
const PROPAGATION_BOUND_MS = 15_000;

interface Signed {
  cookie: string;
  csrf: string;
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = PROPAGATION_BOUND_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function cookieOf(reply: Reply): string {
  const value = cookiesFrom(reply)['ringlet'];
  if (value === undefined) throw new Error(`no session cookie in a ${reply.status} reply: ${reply.text}`);
  return `ringlet=${value}`;
}

async function login(s: CliServer, user: string, password = PASSWORD, from?: string): Promise<Reply> {
  return s.request('POST', '/login', { json: { username: user, password }, headers: from === undefined ? {} : { 'x-forwarded-for': from } });
}

async function signIn(s: CliServer, user: string, password = PASSWORD): Promise<Signed> {
  const r = await login(s, user, password);
  if (r.status !== 200) throw new Error(`login ${user} on :${s.port}: ${r.status} ${r.text}`);
  return { cookie: cookieOf(r), csrf: r.json.csrfToken as string };
}

async function post(s: CliServer, path: string, who: Signed | string, json: unknown): Promise<Reply> {
  const headers: Record<string, string> = typeof who === 'string'
    ? { authorization: `Bearer ${who}` }
    : { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: s.origin };
  return s.request('POST', path, { headers, json });
}

const asHeaders = (who: Signed | string): Record<string, string> => (typeof who === 'string' ? { authorization: `Bearer ${who}` } : { cookie: who.cookie });

async function statusOn(s: CliServer, who: Signed | string): Promise<number> {
  return (await s.request('GET', '/session', { headers: asHeaders(who) })).status;
}

async function metric(s: CliServer, name: string): Promise<number> {
  // Behind the trusted proxy (127.0.0.1) the client is the address it forwards: a loopback one.
  const text = (await s.request('GET', '/metrics', { headers: { 'x-forwarded-for': '127.0.0.1' } })).text;
  const m = new RegExp(`^ringlet_${name} (\\S+)$`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

t.test('three instances and one engine: as strict as one instance', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const root = mkdtempSync(join(tmpdir(), 'ringlet-fleet-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const keys = join(root, 'keys.json');
  writeFileSync(keys, `${JSON.stringify(generateJwks())}\n`, { mode: 0o600 });
  const hash = hashPasswordSync(PASSWORD, COST);
  const users = new UsersDb([
    { name: 'admin', role: 'admin', hash, mustChangePassword: false },
    { name: 'alice', role: 'viewer', hash, mustChangePassword: false },
    { name: 'bob', role: 'viewer', hash, mustChangePassword: false },
  ]);
  const running: CliServer[] = [];
  t.teardown(async () => {
    for (const s of running) await s.stop('SIGKILL');
  });
  /** Instance `name`: its own directory (users file, copy of the keys, revocation file). */
  const start = async (name: string, fresh = true): Promise<CliServer> => {
    const dir = join(root, name);
    if (fresh) {
      mkdirSync(dir, { recursive: true });
      saveUsersFile(join(dir, 'users.json'), users);
      copyFileSync(keys, join(dir, 'keys.json'));
    }
    const s = await startCliServer([
      '--mode', 'cookie', '--users', join(dir, 'users.json'), '--keys', join(dir, 'keys.json'), '--scrypt-log-n', '10', '--insecure-scrypt-below-owasp',
      '--trusted-proxy', '127.0.0.1', '--throttle-free-attempts', '3', '--throttle-base-delay-ms', '60000',
      '--shared-state', `redis://127.0.0.1:${redis.port}`, '--shared-state-prefix', 'fleet:',
    ], {}, BUNDLE_CLI);
    running.push(s);
    await eventually(`${name} synchronised with the engine`, async () => (await metric(s, 'shared_state_up')) === 1);
    return s;
  };
  const [a, b, c] = [await start('a'), await start('b'), await start('c')];
  const fleet = [a, b, c];
  const refusedEverywhere = async (tt: Test, what: string, who: Signed | string, on = fleet) => {
    await eventually(what, async () => (await Promise.all(on.map((s) => statusOn(s, who)))).every((st) => st === 401));
    tt.pass(what);
  };
  const acceptedEverywhere = async (tt: Test, what: string, who: Signed | string, on = fleet) => {
    tt.same(await Promise.all(on.map((s) => statusOn(s, who))), on.map(() => 200), what);
  };

  // A credential nobody revokes: it must keep working everywhere, or the checks could not fail.
  const adminKeep = await signIn(a, 'admin');
  await acceptedEverywhere(t, 'one cookie, any instance (shared JWKS)', adminKeep);

  await t.test('a logout on A is refused on B and C', async (t) => {
    const alice = await signIn(a, 'alice');
    await acceptedEverywhere(t, 'accepted everywhere before', alice);
    t.equal((await post(a, '/logout', alice, {})).status, 200);
    t.equal(await statusOn(a, alice), 401, 'refused on A at once');
    await refusedEverywhere(t, 'refused on B and C', alice, [b, c]);
  });

  await t.test('a logout everywhere on A ends the user\'s sessions made on B and C', async (t) => {
    const onB = await signIn(b, 'alice');
    const onC = await signIn(c, 'alice');
    const onA = await signIn(a, 'alice');
    await acceptedEverywhere(t, 'B\'s session accepted everywhere before', onB);
    t.equal((await post(a, '/sessions/revoke-user', onA, {})).status, 200);
    await refusedEverywhere(t, 'the session made on B is refused everywhere', onB);
    await refusedEverywhere(t, 'the session made on C is refused everywhere', onC);
    const again = await signIn(c, 'alice');
    await acceptedEverywhere(t, 'a session made after it works everywhere', again);
  });

  let bobNow: Signed | undefined;
  await t.test('a password change on B ends bob\'s other sessions everywhere; the session it hands out lives', async (t) => {
    const onA = await signIn(a, 'bob');
    const onC = await signIn(c, 'bob');
    const onB = await signIn(b, 'bob');
    const changed = await post(b, '/password', onB, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    t.equal(changed.status, 200);
    const fresh = { cookie: cookieOf(changed), csrf: changed.json.csrfToken as string };
    await refusedEverywhere(t, 'bob\'s session made on A', onA);
    await refusedEverywhere(t, 'bob\'s session made on C', onC);
    await acceptedEverywhere(t, 'the session the change handed out', fresh);
    // The new hash reaches the other instances' users files.
    await eventually('the new password signs in on A and C', async () => (await Promise.all([a, c].map((s) => login(s, 'bob', NEW_PASSWORD, '198.51.100.20')))).every((r) => r.status === 200));
    t.pass('the new password signs in on A and C');
    t.same((await Promise.all([a, c].map((s) => login(s, 'bob', PASSWORD, '198.51.100.21')))).map((r) => r.status), [401, 401], 'the old one no longer does');
    bobNow = fresh;
  });

  await t.test('a token revoked on B is refused on A', async (t) => {
    const minted = await a.request('POST', '/token', { json: { username: 'admin', password: PASSWORD } });
    t.equal(minted.status, 200);
    const token = minted.json.access_token as string;
    await acceptedEverywhere(t, 'the token works everywhere', token);
    const revoked = await post(b, '/tokens/revoke', adminKeep, { token });
    t.same([revoked.status, revoked.json], [200, { revoked: true }]);
    await refusedEverywhere(t, 'refused on A (and C)', token, [a, c]);
  });

  await t.test('password guesses spread over the three instances get the allowance of one', async (t) => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(fleet[i % 3] as CliServer, 'admin', `guess ${i}`, '203.0.113.9')).status);
    t.same(statuses, [401, 401, 401, 429, 429, 429], 'three free attempts in all, then 429 on every instance');
    const right = await login(c, 'admin', PASSWORD, '203.0.113.9');
    t.equal(right.status, 429, 'the address waits even with the right password');
    t.match(right.headers['retry-after'], /^\d+$/);
    t.equal((await login(b, 'admin', PASSWORD, '203.0.113.10')).status, 200, 'another address still gets in');
  });

  await t.test('the engine killed mid-test: every instance keeps serving; a revocation made meanwhile holds everywhere once it is back', async (t) => {
    const during = await signIn(a, 'alice');
    await redis.kill();
    await eventually('every instance sees the engine gone', async () => (await Promise.all(fleet.map((s) => metric(s, 'shared_state_up')))).every((v) => v === 0));
    await acceptedEverywhere(t, 'signed-in users keep working', adminKeep);
    t.equal((await login(b, 'alice')).status, 200, 'logins work (the local throttle decides)');
    t.equal((await post(c, '/logout', during, {})).status, 200, 'a logout on C during the outage is answered');
    t.equal(await statusOn(c, during), 401, 'and holds on C at once');
    t.equal(await metric(c, 'shared_state_backlog'), 1, 'it waits in C\'s backlog');
    t.equal(await statusOn(a, during), 200, 'A cannot know yet: it serves from local state (the default)');
    await redis.restart(); // without its data: the instances write theirs again
    await refusedEverywhere(t, 'refused on A and B once the engine is back', during, [a, b]);
    await eventually('every instance synchronised again', async () => (await Promise.all(fleet.map((s) => metric(s, 'shared_state_up')))).every((v) => v === 1));
    t.equal(await metric(c, 'shared_state_backlog'), 0, 'C\'s backlog delivered');
  });

  await t.test('an instance restarted without its revocation file starts with the current revocations', async (t) => {
    const [, , oldC] = fleet;
    const kept = await signIn(a, 'alice');
    const revokedWhileDown = await signIn(a, 'alice');
    const revokedBefore = await signIn(c, 'admin');
    t.equal((await post(a, '/logout', revokedBefore, {})).status, 200);
    await refusedEverywhere(t, 'a logout before the restart', revokedBefore);
    t.equal(await oldC!.stop('SIGKILL'), null, 'C killed');
    fleet.splice(2, 1);
    t.equal((await post(b, '/logout', revokedWhileDown, {})).status, 200, 'a logout on B while C is down');
    rmSync(join(root, 'c', 'keys.revocations.json'), { force: true });
    const newC = await start('c', false);
    fleet.push(newC);
    t.equal(await statusOn(newC, revokedWhileDown), 401, 'the logout made while it was down');
    t.equal(await statusOn(newC, revokedBefore), 401, 'the logout made before');
    t.equal(await statusOn(newC, bobNow as Signed), 200, 'a live session still works');
    t.equal(await statusOn(newC, kept), 200);
    t.equal(await statusOn(newC, adminKeep), 200);
  });

  await acceptedEverywhere(t, 'the credential nobody revoked still works everywhere at the end', adminKeep);
  for (const s of fleet) t.notMatch(s.stderr, /"event":"internal_error"/, `no internal error on :${s.port}`);
});
