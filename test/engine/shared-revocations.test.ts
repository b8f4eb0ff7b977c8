/**
 * Revocations shared through a real redis-server, between "instances" in one process (each
 * its own revocation tables, boot id and engine client): published and applied, read back
 * at start and after reconnects, delivered after an outage, re-delivered whole when the
 * backlog overflows or the engine lost its data, forged members refused, own events never
 * applied twice, and failing closed as an option. The real-process fleet is in
 * test/integration/shared-fleet.test.ts.
 */
import t, { type Test } from 'tap';
import { RevocationTables, type IssuedAt } from '../../src/session/revocation.js';
import { createSessionClocks, type SessionClocks } from '../../src/session/time-policy.js';
import { systemMonotonicClock, systemWallClock } from '../../src/util/clock.js';
import { SharedState } from '../../src/engine/shared-state.js';
import { parseEngineUrl } from '../../src/engine/engine-target.js';
import { sealRevocationMember, sharedKeyNames } from '../../src/engine/shared-wire.js';
import type { SessionEnd } from '../../src/session/session-end.js';
import { RedisProcess, REDIS_SKIP } from '../support/redis.js';
import { FAST, clientFor, until } from './helpers.js';

const HOUR = 3600_000;
const LONGEST = 13 * HOUR;
const MAC_KEY = Buffer.alloc(32, 9);
const PREFIX = 'test:';

interface Instance {
  name: string;
  clocks: SessionClocks;
  tables: RevocationTables;
  shared: SharedState;
  logs: Array<{ level: string; event: string; fields: Record<string, unknown> }>;
  ended: SessionEnd[];
  /** A credential this instance mints now. */
  mint(): IssuedAt;
}

let counter = 0;

function instance(t: Test, port: number, options: { entries?: number; failClosed?: boolean; macKey?: Buffer; url?: string; prefix?: string } = {}): Instance {
  const name = `boot-${++counter}`;
  const clocks = createSessionClocks(systemMonotonicClock, systemWallClock, undefined, name);
  const tables = new RevocationTables(options.entries ?? 64, clocks, { longestCredentialMs: LONGEST });
  const logs: Instance['logs'] = [];
  const log = (level: string) => (event: string, fields: Record<string, unknown> = {}) => { logs.push({ level, event, fields }); };
  const shared = new SharedState({
    target: parseEngineUrl(options.url ?? `redis://127.0.0.1:${port}`, 'url'), prefix: options.prefix ?? PREFIX, failClosed: options.failClosed ?? false,
    macKey: options.macKey ?? MAC_KEY, tables, clocks, longestCredentialMs: LONGEST, revocationEntries: options.entries ?? 64,
    throttle: { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000, forgetAfterMs: 600_000 },
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    client: FAST,
  });
  const ended: SessionEnd[] = [];
  tables.ended.add((e) => ended.push(e));
  t.teardown(() => shared.close());
  shared.start();
  return {
    name, clocks, tables, shared, logs, ended,
    mint: () => {
      const wallMs = Math.floor(clocks.wall.now());
      clocks.mintedWallHighMs = Math.max(clocks.mintedWallHighMs, wallMs);
      return { monoMs: Math.floor(clocks.monotonic.now()), wallMs };
    },
  };
}

/** The same credential as another instance sees it (only its wall time). */
const seenElsewhere = (issued: IssuedAt): IssuedAt => ({ monoMs: undefined, wallMs: issued.wallMs });
const tick = () => new Promise((r) => setTimeout(r, 5));
const synced = (...all: Instance[]) => until(() => all.every((i) => i.shared.synced), `${all.map((i) => i.name).join(', ')} synchronised`);

t.test('a logout everywhere and a revoked credential on A are refused on B within moments; B announces them', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const a = instance(t, redis.port);
  const b = instance(t, redis.port);
  await synced(a, b);
  const alice = a.mint();
  const bobs = a.mint();
  await tick();
  t.equal(b.tables.isRevoked('alice', 'a1', seenElsewhere(alice)), false, 'accepted before');
  a.tables.revokeUser('alice');
  a.tables.denyCredential('b1', 'bob', { issued: bobs, untilMonoMs: bobs.monoMs! + HOUR, untilWallMs: bobs.wallMs + HOUR });
  await a.tables.settled();
  t.equal(a.shared.revocations.stats().backlog, 0, 'settled() waited until the engine took both');
  await until(() => b.tables.isRevoked('alice', 'a1', seenElsewhere(alice)) && b.tables.isRevoked('bob', 'b1', seenElsewhere(bobs)), 'B refuses both');
  t.same(b.ended, [{ scope: 'user', user: 'alice' }, { scope: 'session', user: 'bob', ref: 'b1' }], 'announced on B (tunnels close at once)');
  t.equal(b.tables.isRevoked('alice', 'a2', seenElsewhere(a.mint())), false, 'a credential issued after the revocation is not refused');
  t.same(a.ended.length, 2, 'A announced its own two, and nothing echoed back');

  const names = sharedKeyNames(PREFIX);
  const members = await a.shared.client.command(['ZRANGE', names.revocations, 0, -1, 'WITHSCORES']) as string[];
  t.equal(members.length, 4, 'two events in the engine');
  const now = Date.now();
  const scoreOf = (needle: string) => Number(members[members.findIndex((m) => m.includes(needle)) + 1]);
  t.ok(Math.abs(scoreOf('"user-not-before"') - (now + LONGEST)) < 60_000, 'a not-before lives as long as the longest credential');
  t.ok(Math.abs(scoreOf('"denied-id"') - (now + HOUR)) < 60_000, 'a denied credential as long as it would have');
  const ttl = await a.shared.client.command(['PTTL', names.revocations]) as number;
  t.ok(ttl > LONGEST - 60_000 && ttl <= LONGEST + 2_000, 'the set expires with its last member');
});

t.test('an instance started later reads the current revocations back; own events are never re-applied', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const a = instance(t, redis.port);
  await synced(a);
  const alice = a.mint();
  await tick();
  a.tables.revokeUser('alice');
  a.tables.denyId('jti-1', 'carol');
  await a.tables.settled();
  const c = instance(t, redis.port);
  await synced(c);
  t.equal(c.tables.isRevoked('alice', 'x', seenElsewhere(alice)), true, 'the logout everywhere made before C started');
  t.equal(c.tables.isRevoked('carol', 'jti-1', { monoMs: undefined, wallMs: alice.wallMs }), true, 'the revoked token');
  t.equal(c.shared.revocations.stats().received, 2);
  // A reconnects (the engine restarts with its data kept? no: a dropped connection): nothing echoes.
  const endedBefore = a.ended.length;
  const killer = clientFor(`redis://127.0.0.1:${redis.port}`);
  t.teardown(() => killer.close());
  await killer.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
  await killer.command(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
  await until(() => a.shared.stats().syncs >= 2 && c.shared.stats().syncs >= 2, 'both read back after the reconnect');
  t.equal(a.ended.length, endedBefore, 'A re-applied nothing of its own');
  t.equal(a.shared.revocations.stats().received, 0, 'A never applied its own events as remote ones');
  t.equal(c.shared.revocations.stats().received, 2, 'C applied nothing twice');
});

t.test('engine down: instances keep their tables; a revocation made meanwhile is delivered when it is back, and an emptied engine is refilled', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const a = instance(t, redis.port);
  const b = instance(t, redis.port);
  await synced(a, b);
  const early = a.mint();
  const late = a.mint();
  await tick();
  a.tables.revokeUser('early');
  await a.tables.settled();
  await until(() => b.tables.isRevoked('early', 'e', seenElsewhere(early)), 'B has the first revocation');

  await redis.kill();
  await until(() => !a.shared.synced && !b.shared.synced, 'both see the engine gone');
  const settledAt = performance.now();
  a.tables.revokeUser('late');
  await a.tables.settled();
  t.ok(performance.now() - settledAt < 200, 'a revocation during the outage is not held up by it');
  t.equal(a.shared.revocations.stats().backlog, 1, 'it waits in the backlog');
  t.equal(a.tables.isRevoked('late', 'l', late), true, 'and holds on A at once');
  t.equal(b.tables.isRevoked('late', 'l', seenElsewhere(late)), false, 'B cannot know yet');
  t.equal(b.tables.isRevoked('early', 'e', seenElsewhere(early)), true, 'B keeps what it had');

  await redis.restart(); // no persistence: the engine comes back empty
  await until(() => b.tables.isRevoked('late', 'l', seenElsewhere(late)), 'B refuses the outage\'s revocation once the engine is back', 15_000);
  await synced(a, b);
  t.equal(a.shared.revocations.stats().backlog, 0, 'A\'s backlog is delivered');
  t.ok(a.logs.some((l) => l.event === 'shared_state_engine_emptied'), 'the emptied engine was noticed');
  const c = instance(t, redis.port);
  await synced(c);
  await until(() => a.shared.revocations.stats().backlog === 0 && b.shared.revocations.stats().backlog === 0, 'refilled');
  t.equal(c.tables.isRevoked('early', 'e', seenElsewhere(early)), true, 'a new instance gets the revocation made before the engine lost its data');
  t.equal(c.tables.isRevoked('late', 'l', seenElsewhere(late)), true, 'and the one made during the outage');
});

t.test('a backlog that overflows during an outage is replaced by the whole durable state: nothing is lost', { skip: REDIS_SKIP }, async (t) => {
  // The engine keeps its data: only the overflow's re-delivery can bring what the backlog dropped.
  const redis = await RedisProcess.start({ persistent: true });
  t.teardown(() => redis.stop());
  const entries = 8;
  const a = instance(t, redis.port, { entries });
  // B's tables are large: it refuses what it is told, not what its own folding would add.
  const b = instance(t, redis.port, { entries: 64 });
  await synced(a, b);
  const credentials = new Map<string, IssuedAt>();
  for (let i = 0; i < 30; i++) credentials.set(`user${i}`, a.mint());
  await tick();
  await redis.kill();
  await until(() => !a.shared.synced, 'A sees the engine gone');
  for (const user of credentials.keys()) a.tables.revokeUser(user);
  t.equal(a.shared.revocations.stats().overflows, 1, 'the backlog (2 × 8 + 1) overflowed once');
  t.ok(a.logs.some((l) => l.event === 'shared_state_backlog_overflow'), 'and said so');
  await redis.restart();
  await synced(a, b);
  t.same(a.logs.filter((l) => l.event === 'shared_state_engine_emptied'), [], 'the engine kept its data (no refill)');
  await until(() => [...credentials].every(([user, issued]) => b.tables.isRevoked(user, 'x', seenElsewhere(issued))), 'B refuses every one of the 30 users\' earlier credentials (folded as A folded them)', 15_000);
  t.pass('none lost');
});

t.test('members not MAC\'d with the deployment\'s key are refused and counted, never applied', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const b = instance(t, redis.port);
  await synced(b);
  const names = sharedKeyNames(PREFIX);
  const forged = sealRevocationMember({ type: 'all-not-before', wall: Date.now() + HOUR }, Buffer.alloc(32, 1), PREFIX);
  const otherPrefix = sealRevocationMember({ type: 'user-not-before', user: 'admin', wall: Date.now() }, MAC_KEY, 'other:');
  const mallory = clientFor(`redis://127.0.0.1:${redis.port}`);
  t.teardown(() => mallory.close());
  for (const member of [forged, otherPrefix, 'garbage', `${'A'.repeat(22)}.{"type":"all-not-before","wall":1}`]) {
    await mallory.command(['ZADD', names.revocations, Date.now() + HOUR, member]);
    await mallory.command(['PUBLISH', names.revocationsChannel, member]);
  }
  await until(() => b.shared.revocations.stats().rejected >= 4, 'published forgeries refused');
  const c = instance(t, redis.port);
  await synced(c);
  t.equal(c.shared.revocations.stats().rejected, 4, 'read-back forgeries refused');
  const someone = { monoMs: undefined, wallMs: Date.now() - 1000 };
  t.equal(b.tables.isRevoked('admin', 'x', someone), false, 'nothing forged took effect');
  t.equal(c.tables.isRevoked('anyone', 'x', someone), false);
  t.equal(b.logs.filter((l) => l.event === 'shared_state_event_refused').length, 1, 'logged once');
});

t.test('failing closed: while not synchronised, credentials minted elsewhere are refused, this instance\'s are not', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start();
  t.teardown(() => redis.stop());
  const b = instance(t, redis.port, { failClosed: true });
  const elsewhere: IssuedAt = { monoMs: undefined, wallMs: Date.now() - 1000 };
  t.equal(b.tables.isRevoked('alice', 'x', elsewhere), true, 'refused before the first read-back');
  await synced(b);
  t.equal(b.tables.isRevoked('alice', 'x', elsewhere), false, 'accepted once synchronised');
  await redis.kill();
  await until(() => !b.shared.synced, 'down');
  t.equal(b.tables.isRevoked('alice', 'x', elsewhere), true, 'refused while the engine is away');
  t.equal(b.tables.isRevoked('alice', 'y', b.mint()), false, 'this instance\'s own credentials still work');
  t.ok(b.logs.some((l) => l.event === 'shared_state_fail_closed' && l.fields['active'] === true && l.level === 'warn'), 'logged');
  await redis.restart();
  await synced(b);
  t.equal(b.tables.isRevoked('alice', 'x', elsewhere), false, 'accepted again');
  const off = instance(t, redis.port);
  await redis.kill();
  await until(() => !off.shared.synced, 'down');
  t.equal(off.tables.isRevoked('alice', 'x', elsewhere), false, 'without the option: served from local state');
});

t.test('the least-privilege ACL user of the README is enough; another prefix is refused and said so', { skip: REDIS_SKIP }, async (t) => {
  const redis = await RedisProcess.start({
    users: [{ name: 'ringlet', password: 'acl-secret', rules: ['resetkeys', '~test:*', 'resetchannels', '&test:*', '+@all', '-@dangerous'] }],
  });
  t.teardown(() => redis.stop());
  const url = `redis://ringlet:acl-secret@127.0.0.1:${redis.port}`;
  const a = instance(t, redis.port, { url });
  const b = instance(t, redis.port, { url });
  await synced(a, b);
  const alice = a.mint();
  await tick();
  a.tables.revokeUser('alice');
  await until(() => b.tables.isRevoked('alice', 'x', seenElsewhere(alice)), 'delivered and applied under the ACL');
  // The same user with a prefix its ACL does not cover: every write and the channel refused.
  const wrong = instance(t, redis.port, { url, prefix: 'other:' });
  await until(() => wrong.logs.some((l) => l.event === 'shared_state_subscribe_refused' && l.level === 'error'), 'the refused channel is an error line');
  wrong.tables.revokeUser('bob');
  await until(() => wrong.logs.some((l) => l.event === 'shared_state_write_failed' && l.level === 'error' && /NOPERM/.test(String(l.fields['reason']))), 'the refused write is an error line');
  t.equal(wrong.shared.revocations.stats().backlog > 0, true, 'and the revocation waits in the backlog');
});
