/**
 * The engine client against a real redis-server on loopback (a temp dir, no persistence):
 * pipelining order on one connection, transactions, SELECT, AUTH with the default user and
 * with ACL users (RESP2 AUTH and RESP3 HELLO), pub/sub with resubscription, reconnecting
 * after the server is killed and restarted, the bounded queue failing fast, and TLS with
 * a certificate made by openssl here. Skips (with the reason) only without redis-server.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineReplyError } from '../../src/engine/resp-commands.js';
import { RespClient } from '../../src/engine/resp-client.js';
import { RedisProcess, REDIS_SKIP, selfSignedCert } from '../support/redis.js';
import { clientFor, LinkLog, rejectionOf, until } from './helpers.js';

const DEFAULT_PASSWORD = 'default-user-Secret-1';
const RINGLET_PASSWORD = 'acl-user-Secret-2';

t.test('pipelining: 2000 commands issued at once are answered in order, on one connection', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const client = clientFor(`redis://127.0.0.1:${redis.port}`, { maxQueuedCommands: 4096 });
  t.teardown(() => client.close());
  const log = new LinkLog(client);
  client.start();
  await log.waitFor('command', true);

  const replies = await Promise.all(Array.from({ length: 2000 }, (_, i) => client.command(i % 2 === 0 ? ['INCR', 'ringlet:n'] : ['GET', 'ringlet:n'])));
  const wrong = replies.filter((reply, i) => (i % 2 === 0 ? reply !== i / 2 + 1 : reply !== String((i - 1) / 2 + 1)));
  t.equal(wrong.length, 0, 'every INCR answered 1..1000 in order, every GET the value just before it');
  const info = String(await client.command(['INFO', 'stats']));
  t.match(info, /total_connections_received:1\r\n/, 'all of it over one connection');
  t.equal(client.stats().command.connects, 1);

  // A value larger than any socket read (and than one command may be) arrives whole.
  const part = 'x'.repeat(50_000);
  t.same(await Promise.all([1, 2, 3, 4].map(() => client.command(['APPEND', 'ringlet:big', part]))), [50_000, 100_000, 150_000, 200_000]);
  t.equal(await client.command(['GET', 'ringlet:big']), part.repeat(4));
  t.same(await client.command(['HSET', 'ringlet:h', 'a', '1', 'b', '2']), 2);
  t.same(await client.command(['HGETALL', 'ringlet:h']), ['a', '1', 'b', '2'], 'RESP2: a flat array');
  t.equal(await client.command(['GET', 'ringlet:missing']), null);

  const tx = await client.transaction([['INCR', 'ringlet:tx'], ['PEXPIRE', 'ringlet:tx', 60_000], ['PTTL', 'ringlet:tx']]);
  t.equal(tx?.length, 3);
  t.same(tx?.slice(0, 2), [1, 1], 'MULTI/EXEC: INCR then PEXPIRE, atomically');
  t.ok(typeof tx?.[2] === 'number' && tx[2] > 59_000, 'the expiry is set');
  const refused = await rejectionOf(client.transaction([['INCR'], ['GET', 'ringlet:tx']]));
  t.match(refused, { code: 'ERR_ENGINE_REPLY', message: 'engine refused INCR (ERR)' }, 'a command refused at queue time rejects the transaction, naming it');
  const wrongType = await rejectionOf(client.command(['LPUSH', 'ringlet:n', 'x']));
  t.ok(wrongType instanceof EngineReplyError);
  t.match(wrongType, { code: 'ERR_ENGINE_REPLY', replyCode: 'WRONGTYPE', message: 'engine refused LPUSH (WRONGTYPE)' });
  const unknown = await rejectionOf(client.command(['NOSUCHCOMMAND', 'argument-that-must-not-leak']));
  t.notMatch(unknown.message, /argument-that-must-not-leak/, 'the engine echoes arguments in its error text; the message does not');
  t.match(client.stats(), { errorReplies: 3, failedFast: 0, timedOut: 0, queueLength: 0, queuedBytes: 0 });
});

t.test('SELECT: the URL\'s database, refused when out of range', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const seven = clientFor(`redis://127.0.0.1:${redis.port}/7`);
  const zero = clientFor(`redis://127.0.0.1:${redis.port}`);
  t.teardown(() => Promise.all([seven.close(), zero.close()]));
  t.equal(await seven.command(['SET', 'ringlet:k', 'seven']), 'OK');
  t.equal(await zero.command(['GET', 'ringlet:k']), null, 'not in database 0');
  t.match(String(await zero.command(['INFO', 'keyspace'])), /^db7:keys=1,/m, 'it is in database 7');
  t.throws(() => zero.command(['SELECT', 7]), { code: 'ERR_CONFIG', message: /^args: SELECT changes the connection, which a reconnect would undo/ }, 'SELECT by hand is refused: a reconnect would undo it');
  for (const args of [['WATCH', 'k'], ['MULTI'], ['subscribe', 'ch'], ['CLIENT', 'REPLY', 'OFF'], ['AUTH', 'x'], ['HELLO', 3]]) {
    t.throws(() => zero.command(args), { code: 'ERR_CONFIG' }, `${args.join(' ')} refused`);
  }
  t.throws(() => zero.transaction([['INCR', 'a'], ['WATCH', 'b']]), { code: 'ERR_CONFIG' }, 'inside a transaction too');
  t.equal(await zero.command(['CLIENT', 'ID']).then((id) => typeof id), 'number', 'other CLIENT subcommands pass');

  const outOfRange = clientFor(`redis://127.0.0.1:${redis.port}/99`);
  t.teardown(() => outOfRange.close());
  const log = new LinkLog(outOfRange);
  const err = await rejectionOf(outOfRange.command(['PING']));
  t.match(err, { code: 'ERR_ENGINE_DOWN', message: /SELECT refused \(ERR\)/ }, 'the command was never sent; the message says why');
  t.match(log.last('command')?.error, { code: 'ERR_ENGINE_REPLY', message: /engine SELECT refused \(ERR\): is the database number below/ });
  t.ok(outOfRange.stats().command.failedAttempts >= 2, 'it keeps trying (the engine may be reconfigured)');
  t.equal(log.count('command', false), 1, 'one "down" for the whole outage, not one per attempt');
});

t.test('AUTH: default user, ACL users, RESP2 and RESP3, refusals that name the cause and never the password', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start({
    password: DEFAULT_PASSWORD,
    // The least-privilege user the README recommends.
    users: [{ name: 'ringlet', password: RINGLET_PASSWORD, rules: ['resetkeys', '~ringlet:*', 'resetchannels', '&ringlet:*', '+@all', '-@dangerous'] }],
  });
  t.teardown(() => redis.stop());
  const at = `127.0.0.1:${redis.port}`;
  const cases: Array<[string, string, 2 | 3, 'up' | RegExp]> = [
    ['default user, right password', `redis://:${DEFAULT_PASSWORD}@${at}`, 2, 'up'],
    ['ACL user, right password', `redis://ringlet:${RINGLET_PASSWORD}@${at}`, 2, 'up'],
    ['ACL user over HELLO 3', `redis://ringlet:${RINGLET_PASSWORD}@${at}`, 3, 'up'],
    ['default user over HELLO 3', `redis://:${DEFAULT_PASSWORD}@${at}`, 3, 'up'],
    ['no password', `redis://${at}`, 2, /^engine PING: the engine wants a password \(user:password@ in the URL\) \(NOAUTH\)$/],
    ['wrong default password', `redis://:wrong-${DEFAULT_PASSWORD}@${at}`, 2, /^engine AUTH: user name or password refused \(WRONGPASS\)$/],
    ['ACL user, wrong password', `redis://ringlet:${DEFAULT_PASSWORD}@${at}`, 2, /^engine AUTH: user name or password refused \(WRONGPASS\)$/],
    ['unknown ACL user', `redis://mallory:${RINGLET_PASSWORD}@${at}`, 2, /^engine AUTH: user name or password refused \(WRONGPASS\)$/],
    ['ACL user, wrong password, HELLO 3', `redis://ringlet:wrong@${at}`, 3, /^engine HELLO: user name or password refused \(WRONGPASS\)$/],
  ];
  for (const [title, url, protocol, expected] of cases) {
    const client = clientFor(url, { protocol });
    const log = new LinkLog(client);
    client.start();
    if (expected === 'up') {
      await log.waitFor('command', true);
      t.equal(await client.command(['SET', 'ringlet:auth', title]), 'OK', `${title}: up and working`);
    } else {
      await log.waitFor('command', false);
      const error = log.last('command')?.error;
      t.match(error, { code: 'ERR_ENGINE_AUTH', message: expected }, `${title}: ERR_ENGINE_AUTH`);
      const refused = await rejectionOf(client.command(['GET', 'ringlet:auth']));
      t.match(refused, { code: 'ERR_ENGINE_DOWN', message: /not sent within 1000 ms \(engine .*\)/ }, `${title}: commands are not sent`);
      const everything = JSON.stringify({ stats: client.stats(), changes: log.changes.map((c) => c.error?.message), refused: refused.message });
      t.notMatch(everything, new RegExp(`${DEFAULT_PASSWORD}|${RINGLET_PASSWORD}`), `${title}: no password in stats, events or errors`);
    }
    await client.close();
  }

  const acl = clientFor(`redis://ringlet:${RINGLET_PASSWORD}@${at}`, { protocol: 3 });
  t.teardown(() => acl.close());
  t.same(await acl.command(['HSET', 'ringlet:h', 'a', '1']), 1);
  t.same(await acl.command(['HGETALL', 'ringlet:h']), new Map([['a', '1']]), 'RESP3: a map');
  t.match(await rejectionOf(acl.command(['SET', 'other:key', '1'])), { code: 'ERR_ENGINE_REPLY', replyCode: 'NOPERM' }, 'the ACL confines the user to ringlet:* keys');
  const heard: string[] = [];
  await acl.subscribe('ringlet:events', (message) => heard.push(message));
  await acl.command(['PUBLISH', 'ringlet:events', 'over RESP3 push frames']);
  await until(() => heard.length === 1, 'a RESP3 message');
  t.same(heard, ['over RESP3 push frames']);
  const forbidden = await rejectionOf(acl.subscribe('other:channel', () => {}));
  t.match(forbidden, { code: 'ERR_ENGINE_REPLY', replyCode: 'NOPERM', message: 'engine refused SUBSCRIBE (NOPERM)' }, 'a channel the ACL forbids is refused');
  t.match(acl.stats().subscriber, { subscriptions: 1, refused: 1, ready: true, link: { drops: 0 } }, 'dropped (not retried at every reconnect); the link and the other subscription stay');
  await acl.command(['PUBLISH', 'ringlet:events', 'still heard']);
  await until(() => heard.length === 2, 'the allowed channel still works');
});

t.test('pub/sub: channels and patterns, order, unsubscribe, a failing handler, resubscribed after the connection is killed', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const client = clientFor(`redis://127.0.0.1:${redis.port}/2`);
  t.teardown(() => client.close());
  const log = new LinkLog(client);
  let ready = 0;
  client.onSubscriptionsReady(() => ready++);
  const a: string[] = [];
  const b: string[] = [];
  const patterned: Array<[string, string, string | undefined]> = [];
  const handlerA = (m: string): void => void a.push(m);
  await client.subscribe('ringlet:ch', handlerA);
  await client.subscribe('ringlet:ch', (m) => {
    b.push(m);
    throw new Error('a handler that fails');
  });
  await client.psubscribe('ringlet:p:*', (m, channel, pattern) => void patterned.push([m, channel, pattern]));
  t.equal(ready, 2, 'ready after each new subscription is confirmed (the pattern came later)');
  t.equal(client.stats().subscriber?.subscriptions, 2);

  const sent = Array.from({ length: 200 }, (_, i) => `message ${i}`);
  const receivers = await Promise.all(sent.map((m) => client.command(['PUBLISH', 'ringlet:ch', m])));
  t.same(receivers, receivers.map(() => 1), 'one subscriber connection, whatever the number of handlers');
  await client.command(['PUBLISH', 'ringlet:p:one', 'by pattern']);
  await until(() => a.length === 200 && patterned.length === 1, 'all messages');
  t.same(a, sent, 'in order');
  t.same(b, sent, 'the other handler got them all, though it threw every time');
  t.same(patterned, [['by pattern', 'ringlet:p:one', 'ringlet:p:*']]);
  t.match(client.stats().subscriber, { messages: 201, handlerErrors: 200, ready: true });

  client.unsubscribe('ringlet:ch', handlerA);
  await client.command(['PUBLISH', 'ringlet:ch', 'after A left']);
  await until(() => b.length === 201, 'B still subscribed');
  t.equal(a.length, 200, 'A no longer hears the channel');
  client.unsubscribe('ringlet:ch');
  t.equal(client.stats().subscriber?.subscriptions, 1, 'the channel is forgotten at once');
  let numsub: unknown;
  for (let i = 0; i < 200; i++) {
    numsub = await client.command(['PUBSUB', 'NUMSUB', 'ringlet:ch']);
    if (Array.isArray(numsub) && numsub[1] === 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  t.same(numsub, ['ringlet:ch', 0], 'and the engine was told: no subscriber left on the channel');

  // Kill only the pub/sub connection: it comes back and subscribes again.
  const readyBefore = ready;
  t.equal(await client.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']), 1);
  await log.waitFor('subscriber', false);
  await log.waitFor('subscriber', true, 2);
  await until(() => ready > readyBefore, 'ready again after the reconnect');
  await client.command(['PUBLISH', 'ringlet:p:two', 'after the reconnect']);
  await until(() => patterned.length === 2, 'message after the reconnect');
  t.same(patterned[1], ['after the reconnect', 'ringlet:p:two', 'ringlet:p:*']);
  t.match(client.stats().subscriber?.link, { reconnects: 1, drops: 1 });
  t.equal(log.count('command', false), 0, 'the command link was not touched');
});

t.test('reconnect: redis-server killed and restarted; commands in flight, waiting and too late', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start({ password: DEFAULT_PASSWORD });
  t.teardown(() => redis.stop());
  const url = `redis://:${DEFAULT_PASSWORD}@127.0.0.1:${redis.port}/3`;
  const client = clientFor(url, { commandTimeoutMs: 4_000, random: () => 1 });
  t.teardown(() => client.close());
  const log = new LinkLog(client);
  const heard: string[] = [];
  await client.subscribe('ringlet:events', (m) => heard.push(m));
  t.equal(await client.command(['SET', 'ringlet:before', '1']), 'OK');

  const blocked = rejectionOf(client.command(['BLPOP', 'ringlet:never', 0]));
  await until(() => client.stats().queueLength === 1, 'BLPOP in flight');
  await redis.kill();
  t.match(await blocked, { code: 'ERR_CONNECTION_LOST', message: 'engine connection lost before BLPOP was answered (it may have run)' }, 'in flight when the engine died: maybe run, so never resent');
  await log.waitFor('command', false);
  await log.waitFor('subscriber', false);
  t.match(log.last('command')?.error, { code: 'ERR_ENGINE_DOWN' });

  const waiting = client.command(['SET', 'ringlet:after', 'written once the engine is back']);
  await until(() => client.stats().command.failedAttempts >= 2, 'a few refused attempts');
  t.equal(client.stats().queueLength, 1, 'the new command waits, unsent');
  await redis.restart();
  t.equal(await waiting, 'OK', 'sent when the link came back');
  await log.waitFor('command', true, 2);
  await log.waitFor('subscriber', true, 2);
  t.match(client.stats().command, { reconnects: 1, drops: 1, up: true });

  const checker = clientFor(url);
  t.teardown(() => checker.close());
  t.equal(await checker.command(['GET', 'ringlet:after']), 'written once the engine is back', 'in database 3 again: SELECT is part of every handshake');
  t.equal(await checker.command(['GET', 'ringlet:before']), null, 'the restarted engine kept nothing (no persistence)');
  await until(() => client.stats().subscriber?.ready === true, 'resubscribed');
  await client.command(['PUBLISH', 'ringlet:events', 'after restart']);
  await until(() => heard.length === 1, 'message after restart');

  // Down for longer than the deadline: the command is refused as never sent, and says why.
  await redis.kill();
  await log.waitFor('command', false, 2);
  const attemptsBefore = client.stats().command.failedAttempts;
  const tooLate = await rejectionOf(client.command(['GET', 'ringlet:after']));
  t.match(tooLate, { code: 'ERR_ENGINE_DOWN', message: /^engine unavailable: GET not sent within 4000 ms \(engine unreachable: ECONNREFUSED\)$/ });
  const attempts = client.stats().command.failedAttempts - attemptsBefore;
  // Back-off capped at 200 ms with jitter 1: 20, 40, 80, 160, 200, 200 ... → about 20 in 4 s, not thousands.
  t.ok(attempts >= 5 && attempts <= 60, `${attempts} attempts in 4 s: backing off, not spinning`);
  t.equal(log.count('command', false), 2, 'one down event per outage');
  t.notMatch(JSON.stringify(log.changes.map((c) => c.error?.message)), DEFAULT_PASSWORD);
  await redis.restart();
  await log.waitFor('command', true, 3);
});

t.test('the bounded queue: full fails fast and is counted; in-flight commands count', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const client = clientFor(`redis://127.0.0.1:${redis.port}`, { maxQueuedCommands: 4, commandTimeoutMs: 5_000 });
  const helper = clientFor(`redis://127.0.0.1:${redis.port}`);
  t.teardown(() => Promise.all([client.close(), helper.close()]));
  await client.command(['PING']);

  const blocked = client.command(['BLPOP', 'ringlet:q', 0]);
  const behind = [client.command(['INCR', 'ringlet:c']), client.command(['INCR', 'ringlet:c']), client.command(['INCR', 'ringlet:c'])];
  let settledFirst = false;
  void blocked.then(() => { settledFirst = true; });
  const full = await rejectionOf(client.command(['INCR', 'ringlet:c']));
  t.match(full, { code: 'ERR_QUEUE_FULL', message: /^engine command queue full \(4 commands, \d+ bytes waiting\)$/ });
  t.notOk(settledFirst, 'refused at once, while the others still wait');
  t.match(client.stats(), { failedFast: 1, queueLength: 4 });
  t.match(await rejectionOf(client.transaction([['INCR', 'x']])), { code: 'ERR_QUEUE_FULL' }, 'a transaction needs room for all of it');
  t.equal(await helper.command(['LPUSH', 'ringlet:q', 'go']), 1);
  t.same(await blocked, ['ringlet:q', 'go']);
  t.same(await Promise.all(behind), [1, 2, 3], 'pipelined behind the blocked command, answered after it');
  t.match(client.stats(), { failedFast: 2, queueLength: 0 });

  // The byte budget, while the engine is away.
  const away = clientFor(`redis://127.0.0.1:${redis.port}`, { maxQueuedBytes: 1024, commandTimeoutMs: 300 });
  t.teardown(() => away.close());
  await redis.kill();
  const first = rejectionOf(away.command(['SET', 'ringlet:a', 'x'.repeat(700)]));
  t.match(await rejectionOf(away.command(['SET', 'ringlet:b', 'x'.repeat(700)])), { code: 'ERR_QUEUE_FULL' }, 'over 1024 bytes waiting');
  const small = rejectionOf(away.command(['GET', 'ringlet:a']));
  t.match(await first, { code: 'ERR_ENGINE_DOWN' });
  t.match(await small, { code: 'ERR_ENGINE_DOWN' });
  t.match(away.stats(), { failedFast: 1, notSent: 2, queueLength: 0, queuedBytes: 0 });
  t.match(await rejectionOf(away.command(['SET', 'k', 'x'.repeat(70_000)])), { code: 'ERR_COMMAND_TOO_LARGE' }, 'a command over 64 KiB is refused before it is queued');
});

t.test('TLS (rediss://): verified against the CA, refused without it or for another name', { skip: REDIS_SKIP }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = selfSignedCert(dir);
  if (typeof made === 'string') return t.plan(0, `no certificate: ${made}`);
  let redis: RedisProcess;
  try {
    redis = await RedisProcess.start({ tls: made, password: DEFAULT_PASSWORD });
  } catch (err) {
    return t.plan(0, `this redis-server does not take --tls-port: ${(err as Error).message.split('\n').find((l) => /tls/i.test(l)) ?? (err as Error).message.split('\n')[0]}`);
  }
  t.teardown(() => redis.stop());
  const ca = readFileSync(made.cert);
  for (const host of ['127.0.0.1', 'localhost']) {
    const client = clientFor(`rediss://:${DEFAULT_PASSWORD}@${host}:${redis.port}/1`, { tls: { ca } });
    t.equal(await client.command(['SET', 'ringlet:tls', host]), 'OK', `${host}: a command over TLS`);
    const heard: string[] = [];
    await client.subscribe('ringlet:tls', (m) => heard.push(m));
    await client.command(['PUBLISH', 'ringlet:tls', 'secret message']);
    await until(() => heard.length === 1, 'pub/sub over TLS');
    t.same(heard, ['secret message'], `${host}: pub/sub over TLS`);
    await client.close();
  }

  const refusals: Array<[string, RespClient, RegExp]> = [
    ['no CA: the self-signed certificate is refused', clientFor(`rediss://:${DEFAULT_PASSWORD}@127.0.0.1:${redis.port}`), /^engine unreachable: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/],
    ['plain RESP to the TLS port', clientFor(`redis://:${DEFAULT_PASSWORD}@127.0.0.1:${redis.port}`), /engine (closed the connection|did not complete)|RESP protocol error|engine unreachable: ECONNRESET/],
  ];
  const otherName = selfSignedCert(dir, 'DNS:other.example');
  if (typeof otherName !== 'string') {
    const other = await RedisProcess.start({ tls: otherName });
    t.teardown(() => other.stop());
    refusals.push(['a certificate for another name', clientFor(`rediss://127.0.0.1:${other.port}`, { tls: { ca: readFileSync(otherName.cert) } }), /^engine unreachable: ERR_TLS_CERT_ALTNAME_INVALID$/]);
  }
  for (const [title, client, message] of refusals) {
    const log = new LinkLog(client);
    client.start();
    await log.waitFor('command', false);
    t.match(log.last('command')?.error?.message, message, title);
    t.equal(client.stats().command.connects, 0, `${title}: never up`);
    await client.close();
  }
});
