/**
 * --shared-state in the server: without it nothing is constructed and no module does
 * anything when loaded; with it the server connects in the background (start never waits
 * for the engine), logs each change of link state without the password, and closes the
 * client on shutdown. Uses a real redis-server (skips with the reason without one).
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// From the bundle, like the server startTestServer starts: its options check is instanceof its own class.
import { parseEngineUrl } from 'ringlet';
import { adminWithPassword, startTestServer, type TestServerOptions } from '../support/server.js';
import { RedisProcess, REDIS_SKIP } from '../support/redis.js';
import { until } from '../engine/helpers.js';
import { hashPasswordSync, saveUsersFile, UsersDb } from '../../src/users/index.js';
import { cookiePair } from '../support/http.js';

const PASSWORD = 'engine-Password-for-logs';

/** Instances share state only when they share the key file: every shared-state server gets one. */
function withKeys(t: Test, o: TestServerOptions = {}): TestServerOptions {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-shared-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { ...o, dir, options: { keysPath: join(dir, 'keys.json'), ...o.options } };
}

t.test('without --shared-state: no client, no connection, nothing in the logs', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  t.equal(s.running.sharedState, undefined);
  t.notOk('sharedState' in (s.logEvents('listening')[0] ?? {}), 'the listening line does not mention it');
  t.same(s.logs.filter((l) => /shared_state/.test(l)), []);
});

t.test('loading every module does nothing by itself: no socket, timer or handle', (t) => {
  const root = fileURLToPath(new URL('../../src/', import.meta.url));
  const script = `
    await new Promise((r) => setImmediate(r));
    const before = process.getActiveResourcesInfo();
    await import(${JSON.stringify(`${root}index.js`)});
    await import(${JSON.stringify(`${root}engine/index.js`)});
    await import(${JSON.stringify(`${root}server/start.js`)});
    await import(${JSON.stringify(`${root}cli/serve.js`)});
    await new Promise((r) => setImmediate(r));
    const after = process.getActiveResourcesInfo();
    console.log(JSON.stringify({ before, after }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, run.stderr);
  const { before, after } = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { before: string[]; after: string[] };
  t.same([...after].sort(), [...before].sort(), `the same handles before and after loading: ${JSON.stringify(after)}`);
  t.same(after.filter((r) => /TCP|Timeout|TLS/.test(r)), [], 'no socket or timer');
  t.end();
});

t.test('with --shared-state: connects in the background, logs up and down without the password, closes on shutdown', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start({ password: PASSWORD });
  t.teardown(() => redis.stop());
  const target = parseEngineUrl(`redis://:${PASSWORD}@127.0.0.1:${redis.port}/4`, 'RINGLET_SHARED_STATE');
  const s = await startTestServer(withKeys(t, { options: { sharedState: target, sharedStatePrefix: 'site-a:' } }));
  let closed = false;
  t.teardown(() => (closed ? undefined : s.close()));
  const client = s.running.sharedState;
  t.ok(client !== undefined, 'a client was constructed');
  t.match(s.logEvents('listening')[0], { sharedState: `redis://:***@127.0.0.1:${redis.port}/4`, sharedStatePrefix: 'site-a:' });
  const lines = (event: string, link: string) => s.logEvents(event).filter((l) => l['link'] === link);
  await until(() => lines('shared_state_up', 'command').length === 1 && lines('shared_state_up', 'subscriber').length === 1, 'shared_state_up, both links');
  t.match(lines('shared_state_up', 'command')[0], { level: 'info', link: 'command', engine: `redis://:***@127.0.0.1:${redis.port}/4` });
  await until(() => s.logEvents('shared_state_synced').length === 1, 'shared_state_synced');
  t.equal(await client?.command(['SET', 'site-a:probe', '1']), 'OK', 'the engine is usable');

  await redis.kill();
  await until(() => lines('shared_state_down', 'command').length === 1 && lines('shared_state_down', 'subscriber').length === 1, 'shared_state_down, both links');
  t.match(lines('shared_state_down', 'command')[0], { level: 'warn', link: 'command', code: 'ERR_ENGINE_DOWN', reason: /engine (closed the connection|unreachable: ECONNRESET)/ });
  t.equal((await s.request('GET', '/healthz')).status, 200, 'the server keeps serving without the engine');
  await redis.restart();
  await until(() => lines('shared_state_up', 'command').length === 2 && s.logEvents('shared_state_synced').length === 2, 'up and synchronised again');
  t.notMatch(s.logs.join('\n'), PASSWORD, 'the password is in no log line');

  await s.close();
  closed = true;
  t.equal(client?.stats().command.state, 'closed', 'shutdown closed the engine client');
});

t.test('an engine that never answers does not hold the start up', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const s = await startTestServer(withKeys(t, { options: { sharedState: parseEngineUrl(`redis://127.0.0.1:${port}`, 'x') } }));
  t.teardown(async () => {
    await s.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  t.match(s.running.sharedState?.stats().command, { state: 'connecting', up: false }, 'listening while the engine has not answered');
  t.equal((await s.request('GET', '/healthz')).status, 200);
});

t.test('--shared-state without --keys is refused at start: the instances could not read each other\'s credentials or MACs', async (t) => {
  await t.rejects(startTestServer({ options: { sharedState: parseEngineUrl('redis://127.0.0.1:1', 'x') } }), { code: 'ERR_CONFIG', message: /^sharedState: needs --keys/ });
});

t.test('the request path never waits on the engine: with the engine stalled, forward-auth, sessions and logout answer at once; metrics show the link', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  // No revocation file: a logout then waits for nothing but (briefly) the engine.
  const s = await startTestServer(withKeys(t, { mode: 'cookie', options: { revocationsPath: null, sharedState: parseEngineUrl(`redis://127.0.0.1:${redis.port}`, 'x') } }));
  t.teardown(() => s.close());
  await until(() => s.running.shared?.synced === true, 'synchronised');
  const admin = await adminWithPassword(s);
  let metrics = (await s.request('GET', '/metrics')).text;
  t.match(metrics, /^ringlet_shared_state_up 1$/m);
  t.match(metrics, /^ringlet_shared_state_backlog 0$/m);
  t.match(metrics, /^ringlet_shared_state_revocations_total\{direction="sent"\} [1-9]/m, 'the password change\'s revocation was sent');
  t.match(metrics, /^ringlet_shared_state_login_checks_total\{source="engine"\} [1-9]/m, 'logins asked the engine');

  redis.pause(); // SIGSTOP: connections stay open, nothing is answered
  t.teardown(() => redis.resume());
  // A request that waited for the stalled engine would take its 2000 ms command timeout.
  const timed = async (method: string, path: string, options: Parameters<typeof s.request>[2]) => {
    const started = performance.now();
    const reply = await s.request(method, path, options);
    return { status: reply.status, ms: performance.now() - started };
  };
  const answers = [];
  for (let i = 0; i < 20; i++) answers.push(await timed('GET', '/auth', { headers: { cookie: admin.cookie } }));
  answers.push(await timed('GET', '/session', { headers: { cookie: admin.cookie } }));
  t.same(answers.map((a) => a.status), answers.map(() => 200), 'forward-auth and /session answered');
  const slowest = Math.max(...answers.map((a) => a.ms));
  t.ok(slowest < 1_500, `none waited for the stalled engine (slowest ${Math.round(slowest)} ms)`);
  const logout = await timed('POST', '/logout', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin } });
  t.equal(logout.status, 200);
  t.ok(logout.ms < 1_500, `the logout waited for the engine only briefly (${Math.round(logout.ms)} ms; bounded at 250 ms)`);
  t.equal((await s.request('GET', '/auth', { headers: { cookie: admin.cookie } })).status, 401, 'the logout holds here at once');
  metrics = (await s.request('GET', '/metrics')).text;
  t.match(metrics, /^ringlet_shared_state_backlog 1$/m, 'the logout waits for the engine');
  redis.resume();
  await until(() => s.running.shared?.stats().revocations.backlog === 0, 'delivered once the engine answers again', 20_000);
});

t.test('RAM mode: sessions stay per instance, but a logout everywhere or a password change on A ends the user\'s store sessions on B', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-shared-ram-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hash = hashPasswordSync('ram fleet passphrase', { logN: 10, r: 8, p: 1 });
  const records = [
    { name: 'admin', role: 'admin' as const, hash, mustChangePassword: false },
    { name: 'alice', role: 'viewer' as const, hash, mustChangePassword: false },
  ];
  const start = async (name: string) => {
    mkdirSync(join(dir, name));
    saveUsersFile(join(dir, name, 'users.json'), new UsersDb(records));
    const s = await startTestServer({ mode: 'ram', dir: join(dir, name), options: {
      keysPath: join(dir, 'keys.json'), revocationsPath: join(dir, name, 'revocations.json'), usersPath: join(dir, name, 'users.json'),
      sharedState: parseEngineUrl(`redis://127.0.0.1:${redis.port}`, 'x'),
    } });
    t.teardown(() => s.close());
    await until(() => s.running.shared?.synced === true, `${name} synchronised`);
    return s;
  };
  const a = await start('a');
  const b = await start('b');
  const signIn = async (s: typeof a, user: string) => {
    const r = await s.request('POST', '/login', { json: { username: user, password: 'ram fleet passphrase' } });
    t.equal(r.status, 200);
    return { cookie: cookiePair(r, 'ringlet'), csrf: r.json.csrfToken as string };
  };
  const onB = await signIn(b, 'alice');
  const adminOnB = await signIn(b, 'admin');
  const onA = await signIn(a, 'alice');
  t.equal((await a.request('GET', '/session', { headers: { cookie: onB.cookie } })).status, 401, 'a RAM session exists on its own instance only');
  t.equal((await a.request('POST', '/sessions/revoke-user', { headers: { cookie: onA.cookie, 'x-csrf-token': onA.csrf, origin: a.origin }, json: {} })).status, 200);
  await until(() => b.running.deps.sessions.list('alice')?.length === 0, 'alice\'s store session on B ended');
  t.equal((await b.request('GET', '/session', { headers: { cookie: onB.cookie } })).status, 401, 'refused on B');
  t.equal((await b.request('GET', '/session', { headers: { cookie: adminOnB.cookie } })).status, 200, 'another user\'s session on B lives');
  const after = await signIn(b, 'alice');
  t.equal((await b.request('GET', '/session', { headers: { cookie: after.cookie } })).status, 200, 'a session made after it lives');
});
