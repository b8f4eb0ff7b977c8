/**
 * The engine client when the engine misbehaves: a silent TCP server, a closed port, a real
 * redis-server paused with CLIENT PAUSE (commands and PINGs unanswered), and a scripted
 * hostile engine (garbage, oversized replies, replies nobody asked for, RESP3 on a RESP2
 * connection). Expected every time: bounded waits with the right error code, the
 * connection dropped and rebuilt with back-off, nothing held beyond the limits, no
 * socket left behind. Plus option validation, the back-off formula and close().
 */
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { RespClient } from '../../src/engine/resp-client.js';
import { parseEngineUrl } from '../../src/engine/engine-target.js';
import { reconnectDelayMs } from '../../src/engine/resp-link.js';
import { RedisProcess, REDIS_SKIP, freePort } from '../support/redis.js';
import { answerHandshake, clientFor, FakeEngine, LinkLog, rejectionOf, until } from './helpers.js';

t.test('a silent server (accepts TCP, never speaks): connect timeout, commands refused as not sent, retries with back-off', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.resume(); // read (and discard) what the client sends, so its close is seen
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    silent.close(() => resolve());
  }));
  const port = (silent.address() as { port: number }).port;
  const client = clientFor(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 200, commandTimeoutMs: 700 });
  t.teardown(() => client.close());
  const log = new LinkLog(client);
  const refused = await rejectionOf(client.command(['GET', 'ringlet:x']));
  t.match(refused, { code: 'ERR_ENGINE_DOWN', message: 'engine unavailable: GET not sent within 700 ms (engine did not complete the connection and handshake within 200 ms)' });
  t.match(log.changes, [{ link: 'command', up: false, error: { code: 'ERR_ENGINE_TIMEOUT' } }], 'one down event');
  await until(() => client.stats().command.failedAttempts >= 3, 'more attempts');
  t.ok(sockets.length >= 3, `it tried again: ${sockets.length} connections made`);
  t.equal(log.changes.length, 1, 'still one down event');
  await until(() => sockets.filter((s) => !s.destroyed && !s.readableEnded).length <= 1, 'old connections closed by the client');
  t.pass('each timed-out connection was closed: at most one open at a time');
});

t.test('a closed port: ECONNREFUSED, said once per outage', async (t) => {
  const port = await freePort();
  const client = clientFor(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 300 });
  t.teardown(() => client.close());
  const log = new LinkLog(client);
  t.match(await rejectionOf(client.command(['PING'])), { code: 'ERR_ENGINE_DOWN', message: /\(engine unreachable: ECONNREFUSED\)$/ });
  t.equal(log.count('command', false), 1);
  t.match(client.stats(), { up: false, notSent: 1, command: { state: /^(waiting|connecting)$/, connects: 0, lastErrorCode: 'ERR_ENGINE_DOWN' } });
});

t.test('a paused engine (CLIENT PAUSE): command timeout drops the connection; PING finds a dead pub/sub link; both come back', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const url = `redis://127.0.0.1:${redis.port}`;
  // Two clients, so the command side is not rescued (or beaten) by its own health PING.
  const client = clientFor(url, { commandTimeoutMs: 300, connectTimeoutMs: 300 });
  const listener = clientFor(url, { commandTimeoutMs: 300, connectTimeoutMs: 300, healthCheckIntervalMs: 100 });
  const admin = clientFor(url);
  t.teardown(() => Promise.all([client.close(), listener.close(), admin.close()]));
  const log = new LinkLog(client);
  const listenerLog = new LinkLog(listener);
  const heard: string[] = [];
  await listener.subscribe('ringlet:events', (m) => heard.push(m));
  t.equal(await client.command(['PING']), 'PONG');

  t.equal(await admin.command(['CLIENT', 'PAUSE', 1500, 'ALL']), 'OK');
  const late = rejectionOf(client.command(['INCR', 'ringlet:n']));
  const behind = rejectionOf(client.command(['INCR', 'ringlet:n']));
  t.match(await late, { code: 'ERR_ENGINE_TIMEOUT', message: 'engine did not answer INCR within 300 ms (it may have run)' });
  t.match(await behind, { code: /^ERR_(ENGINE_TIMEOUT|CONNECTION_LOST)$/ }, 'the command behind it is not left waiting');
  await log.waitFor('command', false);
  t.match(log.last('command')?.error, { code: 'ERR_ENGINE_TIMEOUT', message: 'engine did not answer within 300 ms' }, 'the unanswering connection was dropped');
  await listenerLog.waitFor('subscriber', false);
  t.match(listenerLog.last('subscriber')?.error, { code: 'ERR_ENGINE_TIMEOUT', message: /did not answer PING within 300 ms/ }, 'the idle pub/sub link was found dead by its PING');
  await log.waitFor('command', true, 2);
  await listenerLog.waitFor('subscriber', true, 2);
  await until(() => listener.stats().subscriber?.ready === true, 'resubscribed');
  // The engine drops a paused client's unread commands with its connection; either way
  // the client never sends them again (that would make 3 or 4).
  t.ok([null, '1', '2'].includes(await client.command(['GET', 'ringlet:n']) as string | null), 'timed-out commands are not resent');
  await admin.command(['PUBLISH', 'ringlet:events', 'after the pause']);
  await until(() => heard.length === 1, 'message after the pause');
  const { timedOut, command } = client.stats();
  t.ok(timedOut === 1 || timedOut === 2, `counted: ${timedOut} timed out (the second one too when its deadline passed in the same check)`);
  t.equal(command.drops, 1, 'one drop');
});

t.test('a hostile engine: garbage, oversized replies, unasked replies, wrong protocol: dropped, counted, recovered', async (t) => {
  let mode = 'normal';
  const engine = await new FakeEngine((conn, command) => {
    if (answerHandshake(conn, command)) return;
    const reply: Record<string, string | Buffer> = {
      normal: '+OK\r\n',
      garbage: 'HTTP/1.1 400 Bad Request\r\n\r\n',
      'huge bulk': '$99999999999\r\n',
      'bulk over the limit': `$${512 * 1024 + 1}\r\n`,
      'deep nesting': `${'*1\r\n'.repeat(100)}:1\r\n`,
      // 1100 × (1000 B + 16 B per value) is over the 1 MiB budget, though each part is within its limit.
      'reply over the budget': `*1100\r\n${`$1000\r\n${'x'.repeat(1000)}\r\n`.repeat(1100)}`,
      'two replies for one command': '+OK\r\n+EXTRA\r\n',
      'RESP3 map on a RESP2 connection': '%1\r\n+a\r\n+b\r\n',
      'secret in an error text': `-ERR invalid password 'hunter2-${'s'.repeat(8)}'\r\n`,
    };
    conn.socket.write(reply[mode] ?? '+OK\r\n');
  }).listen();
  t.teardown(() => engine.close());
  const client = clientFor(engine.url, { commandTimeoutMs: 500 });
  t.teardown(() => client.close());
  const log = new LinkLog(client);
  t.equal(await client.command(['PING']), 'OK');

  const cases: Array<[string, string, RegExp]> = [
    ['garbage', 'ERR_CONNECTION_LOST', /unknown type byte 0x48/],
    ['huge bulk', 'ERR_CONNECTION_LOST', /bulk length over the limit of 524288/],
    ['bulk over the limit', 'ERR_CONNECTION_LOST', /bulk length over the limit of 524288/],
    ['deep nesting', 'ERR_CONNECTION_LOST', /nesting deeper than 8/],
    ['reply over the budget', 'ERR_CONNECTION_LOST', /reply larger than 1048576 buffered bytes/],
    ['RESP3 map on a RESP2 connection', 'ERR_CONNECTION_LOST', /unknown type byte 0x25/],
  ];
  let drops = 0;
  for (const [title, code, reason] of cases) {
    mode = title;
    const err = await rejectionOf(client.command(['GET', 'ringlet:x']));
    t.match(err, { code }, `${title}: ${code}`);
    drops++;
    await log.waitFor('command', false, drops);
    t.match(log.last('command')?.error, { code: 'ERR_PROTOCOL', message: reason }, `${title}: the link says why`);
    mode = 'normal';
    await log.waitFor('command', true, drops + 1);
    t.equal(await client.command(['PING']), 'OK', `${title}: recovered on a new connection`);
  }
  t.equal(client.stats().command.protocolErrors, cases.length, 'each counted');

  mode = 'two replies for one command';
  t.equal(await client.command(['GET', 'ringlet:x']), 'OK', 'the first reply answers the command');
  await log.waitFor('command', false, ++drops);
  t.match(log.last('command')?.error, { code: 'ERR_PROTOCOL', message: 'engine sent a reply nobody asked for' });
  mode = 'secret in an error text';
  await log.waitFor('command', true, drops + 1);
  const refused = await rejectionOf(client.command(['GET', 'x']));
  t.match(refused, { code: 'ERR_ENGINE_REPLY', message: 'engine refused GET (ERR)' });
  t.notMatch(refused.message, /hunter2/);
  t.ok(engine.connections.length >= drops + 1, `${engine.connections.length} connections for ${drops} drops`);
  await until(() => engine.open === 1, 'only the current connection stays open');
});

t.test('a reply split into 1-byte writes and a slow trickle: parsed whole, nothing over the limits', async (t) => {
  const value = 'v'.repeat(3000);
  const engine = await new FakeEngine((conn, command) => {
    if (answerHandshake(conn, command)) return;
    const bytes = Buffer.from(`*2\r\n$${value.length}\r\n${value}\r\n:7\r\n`);
    let i = 0;
    const drip = (): void => {
      if (conn.socket.destroyed) return;
      conn.socket.write(bytes.subarray(i, i + 97));
      i += 97;
      if (i < bytes.length) setImmediate(drip);
    };
    drip();
  }).listen();
  t.teardown(() => engine.close());
  const client = clientFor(engine.url);
  t.teardown(() => client.close());
  t.same(await client.command(['GET', 'x']), [value, 7]);
});

t.test('close(): waiting commands fail with ERR_CLOSED, later calls too, no socket or timer left', async (t) => {
  const port = await freePort();
  const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
  const client = clientFor(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 5_000 });
  const waiting = rejectionOf(client.command(['GET', 'k']));
  const subscribing = rejectionOf(client.subscribe('ringlet:ch', () => {}));
  await until(() => client.stats().command.failedAttempts >= 1, 'one attempt');
  await client.close();
  t.match(await waiting, { code: 'ERR_CLOSED', message: 'engine client closed before GET was answered' });
  t.match(await subscribing, { code: 'ERR_CLOSED' });
  t.match(await rejectionOf(client.command(['GET', 'k'])), { code: 'ERR_CLOSED' });
  t.match(await rejectionOf(client.subscribe('x', () => {})), { code: 'ERR_CLOSED' });
  await client.close();
  await new Promise((r) => setTimeout(r, 20));
  const after = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
  t.ok(after <= before, `handles before ${before}, after ${after}`);
  t.equal(client.stats().command.state, 'closed');
});

t.test('constructing a client opens nothing; start() and the first command connect', async (t) => {
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = new RespClient({ target: parseEngineUrl(`redis://127.0.0.1:${(server.address() as { port: number }).port}`, 'url') });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(accepted, 0, 'no connection before start()');
  t.equal(client.stats().command.state, 'idle');
  t.equal(client.stats().subscriber, undefined, 'no pub/sub link until the first subscription');
  client.start();
  await until(() => accepted >= 1, 'connected after start()');
  await client.close();
});

t.test('options are validated once, naming the field', (t) => {
  const target = parseEngineUrl('redis://127.0.0.1', 'url');
  const bad: Array<[object, RegExp]> = [
    [{ target: 'redis://x' }, /^target: must be an EngineTarget/],
    [{ target, protocol: 4 }, /^protocol: must be 2 or 3/],
    [{ target, connectTimeoutMs: 5 }, /^connectTimeoutMs: must be an integer from 10 to 600000/],
    [{ target, commandTimeoutMs: 1.5 }, /^commandTimeoutMs: must be an integer/],
    [{ target, maxQueuedCommands: 0 }, /^maxQueuedCommands: must be an integer from 1 to 65536/],
    [{ target, maxQueuedBytes: 10 }, /^maxQueuedBytes: must be an integer from 1024 to 67108864/],
    [{ target, reconnectBaseDelayMs: 0 }, /^reconnectBaseDelayMs: must be an integer from 1 to 60000/],
    [{ target, reconnectBaseDelayMs: 500, reconnectMaxDelayMs: 100 }, /^reconnectMaxDelayMs: must be an integer from 500 to 600000/],
    [{ target, healthCheckIntervalMs: 5 }, /^healthCheckIntervalMs: must be 0 \(off\) or an integer from 10 to 600000/],
    [{ target, tls: {} }, /^tls: only for rediss:\/\/ targets/],
    [{ target, limits: { maxNestingDepth: 100 } }, /^limits\.maxNestingDepth: must be an integer from 1 to 64/],
  ];
  for (const [options, message] of bad) t.throws(() => new RespClient(options as never), { code: 'ERR_CONFIG', message }, message.source);
  // Misuse throws at the call; limits reached and the engine's answers reject.
  const client = new RespClient({ target });
  t.throws(() => client.command([]), { code: 'ERR_CONFIG', message: /^args: a command needs at least its name/ });
  t.throws(() => client.command(['SET', 'k', Number.NaN]), { code: 'ERR_CONFIG', message: /^args\[2\]: must be a finite number/ });
  t.throws(() => client.transaction([['SET', 'k', {} as never]]), { code: 'ERR_CONFIG' });
  t.equal(client.stats().command.state, 'idle', 'nothing was started by refused calls');
  t.end();
});

t.test('back-off: full jitter below a doubling ceiling, capped', (t) => {
  const top = (attempt: number) => reconnectDelayMs(attempt, 100, 5_000, () => 1);
  t.same([0, 1, 2, 3, 4, 5, 6, 10, 60, 1000].map(top), [99, 199, 399, 799, 1599, 3199, 4999, 4999, 4999, 4999], 'ceiling: base·2^n, capped');
  t.equal(reconnectDelayMs(3, 100, 5_000, () => 0), 0, 'the floor is 0 (full jitter)');
  t.equal(reconnectDelayMs(3, 100, 5_000, () => 0.5), 400);
  t.equal(reconnectDelayMs(3, 100, 5_000, () => -1), 0, 'a broken random source stays in range');
  t.equal(reconnectDelayMs(3, 100, 5_000, () => 7), 799);
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const delays = Array.from({ length: 2000 }, () => reconnectDelayMs(8, 100, 5_000, random));
  t.same(delays.filter((d) => !(d >= 0 && d < 5_000)), [], 'all within [0, cap)');
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  t.ok(mean > 2_000 && mean < 3_000, `spread over the window (mean ${Math.round(mean)} ms): instances do not reconnect together`);
  t.end();
});
