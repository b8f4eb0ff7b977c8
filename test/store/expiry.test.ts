/**
 * Expiry boundaries. Decision (documented in ring-store.ts): a session is valid while
 * now < idleExpiresMs and now < absoluteExpiresMs; at exactly the limit it is expired.
 * When both limits have passed, the earlier one is the reason; on a tie, absolute.
 */
import t from 'tap';
import { createStore } from '../../src/store/index.js';
import { ManualClock } from '../support/clock.js';

const IDLE = 100;
const ABSOLUTE = 250;

function setup() {
  const clock = new ManualClock(1_000);
  const store = createStore({ capacity: 8, idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE, clock });
  return { clock, store };
}

t.test('idle boundary: valid at limit - 1 and limit - 0.001, expired at the limit', async (t) => {
  const rows: Array<[number, boolean]> = [[IDLE - 1, true], [IDLE - 0.001, true], [IDLE, false], [IDLE + 1, false]];
  for (const [after, valid] of rows) {
    const { clock, store } = setup();
    const { id } = store.create('alice', 'admin');
    t.equal(store.get(id, { touch: false })?.idleExpiresMs, 1_000 + IDLE);
    clock.advance(after);
    t.equal(store.get(id, { touch: false }) !== undefined, valid, `${after} ms after last use: ${valid ? 'valid' : 'expired'}`);
    t.equal(store.stats().expiredIdle, valid ? 0 : 1, 'counted as idle expiry');
  }
});

t.test('touch extends idle expiry; a no-touch read does not', async (t) => {
  const { clock, store } = setup();
  const a = store.create('alice', 'admin');
  const b = store.create('bob', 'admin');
  // Two rounds of 90 ms stay inside the 250 ms absolute limit.
  for (let i = 0; i < 2; i++) {
    clock.advance(IDLE - 10);
    t.ok(store.get(a.id), 'a touched in time stays');
    t.equal(store.get(b.id, { touch: false }) !== undefined, i === 0, 'b only read without touch');
  }
  t.equal(store.stats().expiredIdle, 1);
});

t.test('absolute boundary holds however active the session is', async (t) => {
  const { clock, store } = setup();
  const { id } = store.create('alice', 'admin');
  t.equal(store.get(id)?.absoluteExpiresMs, 1_000 + ABSOLUTE);
  for (let at = 50; at < ABSOLUTE; at += 50) {
    clock.set(1_000 + at);
    t.ok(store.touch(id), `alive at +${at}`);
  }
  clock.set(1_000 + ABSOLUTE - 0.5);
  t.ok(store.get(id), 'alive half a ms before');
  clock.set(1_000 + ABSOLUTE);
  t.equal(store.get(id), undefined, 'expired exactly at the absolute limit');
  t.same([store.stats().expiredAbsolute, store.stats().expiredIdle], [1, 0]);
});

t.test('reason when both limits passed: the earlier one, absolute on a tie', async (t) => {
  const rows: Array<[string, number, 'expiredIdle' | 'expiredAbsolute']> = [
    // [name, last touch (ms after create; touched every 50 ms until then), expected counter]
    ['idle first', 0, 'expiredIdle'],            // idle limit 100 < absolute 250
    ['absolute first', 200, 'expiredAbsolute'],  // idle limit 300 > absolute 250
    ['tie', 150, 'expiredAbsolute'],             // idle limit 250 = absolute 250
  ];
  for (const [name, lastTouch, counter] of rows) {
    const { clock, store } = setup();
    const { id } = store.create('alice', 'admin');
    for (let at = 50; at <= lastTouch; at += 50) {
      clock.set(1_000 + at);
      t.ok(store.touch(id), `${name}: touch at +${at}`);
    }
    clock.set(1_000 + 400);
    t.equal(store.get(id), undefined, `${name}: gone`);
    t.equal(store.stats()[counter], 1, `${name}: counted as ${counter}`);
  }
});

t.test('expired sessions are reclaimed before anything live is evicted', async (t) => {
  const clock = new ManualClock(0);
  const store = createStore({ capacity: 3, idleTimeoutMs: 100, absoluteTimeoutMs: 1_000, clock });
  const old = store.create('alice', 'admin');      // will be absolute-expired but recently used
  clock.set(50);
  const b = store.create('bob', 'admin');
  const c = store.create('carol', 'admin');
  // Keep everyone active; alice is the most recently used when her absolute limit passes.
  for (let now = 90; now <= 1_000; now += 90) {
    clock.set(now);
    store.touch(b.id);
    store.touch(c.id);
    store.touch(old.id);
  }
  clock.set(1_000);
  const d = store.create('dave', 'admin');
  t.equal(d.evicted, undefined, 'no live session evicted');
  t.equal(d.reclaimedExpired, 1, 'the absolute-expired MRU session was reclaimed instead');
  t.ok(store.get(b.id) && store.get(c.id), 'the live ones survive');
  clock.set(1_000 + 100);
  const e = store.create('erin', 'admin');
  t.equal(e.reclaimedExpired, 3, 'all three idle-expired sessions reclaimed');
  t.same(store.stats().active, 1);
});

t.test('per-user cap: the user loses their own LRU session, never someone else', async (t) => {
  const clock = new ManualClock(0);
  const store = createStore({ capacity: 4, maxSessionsPerUser: 2, clock });
  const bob = store.create('bob', 'viewer');
  const a1 = store.create('alice', 'admin');
  clock.advance(1);
  const a2 = store.create('alice', 'admin');
  clock.advance(1);
  store.touch(a1.id); // a2 is now alice's least recently used
  const a3 = store.create('alice', 'admin');
  t.same(JSON.parse(JSON.stringify(a3.evicted)), { user: 'alice', reason: 'user-cap', ref: a2.ref });
  t.equal(store.get(a2.id), undefined);
  t.ok(store.get(a1.id) && store.get(a3.id) && store.get(bob.id), 'a1, a3 and bob remain');
  t.equal(store.list('alice').length, 2);
  t.same(store.list('alice').map((e) => e.ref), [a3.ref, a1.ref], 'most recent first (the reads above touched a1, then a3)');
  t.same([store.stats().evictedUserCap, store.stats().evictedLru, store.stats().evicted], [1, 0, 1]);
  t.equal(store.destroyUser('alice'), 2);
  t.equal(store.destroyUser('alice'), 0);
  t.equal(store.destroyUser('nobody'), 0);
  t.same(store.list().map((e) => e.user), ['bob']);
  t.equal(store.stats().destroyed, 2);
});

t.test('full store evicts the global LRU, and the result says whom', async (t) => {
  const clock = new ManualClock(0);
  const store = createStore({ capacity: 3, clock });
  const ids = ['a', 'b', 'c'].map((u) => store.create(u, 'r'));
  store.get(ids[0]!.id); // a becomes MRU; b is LRU
  const d = store.create('d', 'r');
  t.same([d.evicted?.user, d.evicted?.reason, d.evicted?.ref], ['b', 'lru', ids[1]!.ref]);
  t.same(store.list().map((e) => e.user), ['d', 'a', 'c']);
  store.get(ids[2]!.id, { touch: false }); // no-touch read does not reorder
  t.equal(store.create('e', 'r').evicted?.user, 'c');
});

t.test('fractional clock values are kept exactly', async (t) => {
  const clock = new ManualClock(1234.5678);
  const store = createStore({ capacity: 2, idleTimeoutMs: 10, clock });
  const { id } = store.create('alice', 'admin');
  clock.advance(9.999);
  const view = store.get(id)!;
  t.equal(view.createdMs, 1234.5678);
  t.equal(view.lastSeenMs, 1234.5678 + 9.999);
});
