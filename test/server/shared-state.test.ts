/**
 * --shared-state in the server: without it nothing is constructed and no module does
 * anything when loaded; with it the server connects in the background (start never waits
 * for the engine), logs each change of link state without the password, and closes the
 * client on shutdown. Uses a real redis-server (skips with the reason without one).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
// From the bundle, like the server startTestServer starts: its options check is instanceof its own class.
import { parseEngineUrl } from 'ringlet';
import { startTestServer } from '../support/server.js';
import { RedisProcess, REDIS_SKIP } from '../support/redis.js';
import { until } from '../engine/helpers.js';

const PASSWORD = 'engine-Password-for-logs';

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
  t.notOk(after.some((r) => /TCP|Timeout|TLS/.test(r)), 'no socket or timer');
  t.end();
});

t.test('with --shared-state: connects in the background, logs up and down without the password, closes on shutdown', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start({ password: PASSWORD });
  t.teardown(() => redis.stop());
  const target = parseEngineUrl(`redis://:${PASSWORD}@127.0.0.1:${redis.port}/4`, 'RINGLET_SHARED_STATE');
  const s = await startTestServer({ options: { sharedState: target, sharedStatePrefix: 'site-a:' } });
  let closed = false;
  t.teardown(() => (closed ? undefined : s.close()));
  const client = s.running.sharedState;
  t.ok(client !== undefined, 'a client was constructed');
  t.match(s.logEvents('listening')[0], { sharedState: `redis://:***@127.0.0.1:${redis.port}/4`, sharedStatePrefix: 'site-a:' });
  await until(() => s.logEvents('shared_state_up').length === 1, 'shared_state_up');
  t.match(s.logEvents('shared_state_up')[0], { level: 'info', link: 'command', engine: `redis://:***@127.0.0.1:${redis.port}/4` });
  t.equal(await client?.command(['SET', 'site-a:probe', '1']), 'OK', 'the engine is usable');

  await redis.kill();
  await until(() => s.logEvents('shared_state_down').length === 1, 'shared_state_down');
  t.match(s.logEvents('shared_state_down')[0], { level: 'warn', link: 'command', code: 'ERR_ENGINE_DOWN', reason: /engine (closed the connection|unreachable: ECONNRESET)/ });
  t.equal((await s.request('GET', '/healthz')).status, 200, 'the server keeps serving without the engine');
  await redis.restart();
  await until(() => s.logEvents('shared_state_up').length === 2, 'up again');
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
  const s = await startTestServer({ options: { sharedState: parseEngineUrl(`redis://127.0.0.1:${port}`, 'x') } });
  t.teardown(async () => {
    await s.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  t.match(s.running.sharedState?.stats().command, { state: 'connecting', up: false }, 'listening while the engine has not answered');
  t.equal((await s.request('GET', '/healthz')).status, 200);
});
