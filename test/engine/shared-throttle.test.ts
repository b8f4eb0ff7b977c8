/**
 * The login throttle counted in a real redis-server: guesses spread over several instances
 * (here: login services with their own local tables and engine clients, one process) hit the
 * allowance of one instance; the engine down or silent leaves each instance its local table.
 */
import t from 'tap';
import { HashLimiter, LoginThrottle, UsersDb, hashPasswordSync } from '../../src/users/index.js';
import { LoginService } from '../../src/server/login-service.js';
import { SharedThrottle } from '../../src/engine/shared-throttle.js';
import { sharedKeyNames } from '../../src/engine/shared-wire.js';
import { systemMonotonicClock } from '../../src/util/clock.js';
import { RedisProcess, REDIS_SKIP } from '../support/redis.js';
import { clientFor, until } from './helpers.js';
import type { RespClient } from '../../src/engine/resp-client.js';

const COST = { logN: 10, r: 8, p: 1 };
const PASSWORD = 'the right passphrase';
const POLICY = { freeAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 120_000, forgetAfterMs: 600_000 };
const MAC_KEY = Buffer.alloc(32, 7);
const users = new UsersDb([{ name: 'admin', role: 'admin', hash: hashPasswordSync(PASSWORD, COST), mustChangePassword: false }]);

function instance(client: RespClient | undefined, prefix = 'ringlet:'): { login: LoginService; shared: SharedThrottle | undefined } {
  const shared = client === undefined ? undefined : new SharedThrottle({
    client, names: sharedKeyNames(prefix), macKey: MAC_KEY, policy: POLICY, linkUp: () => client.stats().command.up,
  });
  const login = new LoginService({
    users: { current: () => users, update: async () => users, onChange: () => () => undefined },
    limiter: new HashLimiter({ maxConcurrent: 1, maxQueued: 10, maxWaitMs: 10_000 }),
    throttle: new LoginThrottle({ entries: 64, ...POLICY }),
    cost: COST,
    clock: systemMonotonicClock,
    busyRetryAfterMs: 1000,
    shared,
  });
  return { login, shared };
}

t.test('guesses spread over three instances get the allowance of one', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const clients = [0, 1, 2].map(() => clientFor(`redis://127.0.0.1:${redis.port}`));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  for (const c of clients) c.start();
  await until(() => clients.every((c) => c.stats().command.up), 'clients up');
  const fleet = clients.map((c) => instance(c));

  // One address guessing at admin, round robin over the instances.
  const results: string[] = [];
  for (let i = 0; i < 6; i++) results.push((await fleet[i % 3]!.login.authenticate('admin', `guess ${i}`, '192.0.2.7')).result);
  t.same(results.slice(0, 3), ['failure', 'failure', 'failure'], 'the free attempts of one instance, spread over three');
  t.same(results.slice(3), ['throttled', 'throttled', 'throttled'], 'then every instance throttles the address');
  const throttled = await fleet[1]!.login.authenticate('admin', PASSWORD, '192.0.2.7');
  t.equal(throttled.result, 'throttled', 'even with the right password (nothing is hashed)');
  t.ok(throttled.result === 'throttled' && throttled.retryAfterMs > 50_000 && throttled.retryAfterMs <= 60_000, 'the wait is the engine\'s, counted from the last failure');

  // Many addresses against one name, spread: the per-name key counts addresses.
  const spread: string[] = [];
  for (let i = 0; i < 5; i++) spread.push((await fleet[i % 3]!.login.authenticate('root', 'guess', `198.51.100.${i}`)).result);
  t.same(spread, ['failure', 'failure', 'failure', 'throttled', 'throttled'], 'the name backs off after three addresses in all');

  // A success on one instance forgets the name's failures for all (not the address's).
  const names = sharedKeyNames('ringlet:');
  t.equal((await fleet[2]!.login.authenticate('admin', PASSWORD, '203.0.113.1')).result, 'success');
  t.equal((await fleet[0]!.login.authenticate('admin', 'x', '203.0.113.2')).result, 'failure');
  t.same(fleet.map((f) => f.shared?.stats().fallbacks), fleet.map(() => 0), 'every decision had the engine\'s answer');
  const keys = await clients[0]!.command(['KEYS', `${names.throttlePrefix}*`]) as string[];
  t.ok(keys.length > 0, 'the engine holds throttle keys');
  t.same(keys.filter((k) => !/^ringlet:throttle:[A-Za-z0-9_-]{22}$/.test(k)), [], 'engine keys are MACs: no name or address in them');
  const ttl = await clients[0]!.command(['PTTL', keys[0]!]) as number;
  t.ok(ttl > 0 && ttl <= POLICY.forgetAfterMs, `each key expires within forgetAfterMs (${ttl} ms)`);
});

t.test('without the engine (down, or silent) each instance keeps its own local throttle', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const client = clientFor(`redis://127.0.0.1:${redis.port}`);
  t.teardown(() => client.close());
  client.start();
  await until(() => client.stats().command.up, 'client up');
  const a = instance(client);
  await redis.kill();
  await until(() => !client.stats().command.up, 'client sees the engine down');
  const results: string[] = [];
  for (let i = 0; i < 4; i++) results.push((await a.login.authenticate('admin', 'guess', '192.0.2.9')).result);
  t.same(results, ['failure', 'failure', 'failure', 'throttled'], 'the local table throttles alone');
  t.ok((a.shared?.stats().fallbacks ?? 0) > 0, 'fallbacks are counted');
  t.equal((await a.login.authenticate('admin', PASSWORD, '192.0.2.10')).result, 'success', 'logins work without the engine');
});

t.test('an engine that does not answer holds a login up only for the bounded wait', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const client = clientFor(`redis://127.0.0.1:${redis.port}`, { commandTimeoutMs: 5_000 });
  const stalled = clientFor(`redis://127.0.0.1:${redis.port}`);
  t.teardown(() => Promise.all([client.close(), stalled.close()]));
  client.start();
  stalled.start();
  await until(() => client.stats().command.up && stalled.stats().command.up, 'clients up');
  const a = instance(client);
  // CLIENT PAUSE: the engine keeps the connection and answers nothing for 5 s.
  await stalled.command(['CLIENT', 'PAUSE', 5000, 'ALL']);
  const started = performance.now();
  const outcome = await a.login.authenticate('admin', PASSWORD, '192.0.2.11');
  const tookMs = performance.now() - started;
  t.equal(outcome.result, 'success', 'decided by the local table');
  t.ok(tookMs < 4_000, `not held for the engine's pause (${Math.round(tookMs)} ms: at most two bounded waits plus hashing)`);
  t.ok((a.shared?.stats().fallbacks ?? 0) >= 1, 'counted as a fallback');
});
