import { createHash } from 'node:crypto';
import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { createStore, SnapshotError } from '../../src/store/index.js';
import type { StoreOptions } from '../../src/store/index.js';
import { computeLayout } from '../../src/store/layout.js';
import type { RegionName } from '../../src/store/layout.js';
import { resolveStoreOptions } from '../../src/store/options.js';
import { ManualClock } from '../support/clock.js';

const OPTIONS = { capacity: 8, slotBytes: 64, idleTimeoutMs: 100, absoluteTimeoutMs: 1_000, maxSessionsPerUser: 4 };

/** A store with sessions of different ages; returns ids by name. */
function populated(clock: ManualClock) {
  const store = createStore({ ...OPTIONS, clock });
  clock.set(10_000);
  const old = store.create('alice', 'admin', { n: 1 });      // created 10 000
  clock.set(10_050);
  const idle = store.create('bob', 'viewer');               // created 10 050, never touched again
  clock.set(10_080);
  const fresh = store.create('carol', 'viewer', { é: 'ü' }); // created 10 080
  store.touch(old.id);                                       // alice last seen 10 080 (MRU)
  store.destroy(store.create('dave', 'viewer').id);           // counters travel too
  return { store, old, idle, fresh };
}

t.test('round trip: ids, refs, data, CSRF, order and counters survive; times are rebased', async (t) => {
  const clock = new ManualClock(0);
  const { store, old, idle, fresh } = populated(clock);
  clock.set(10_090);
  const before = store.list();
  const csrf = store.get(old.id, { touch: false })!.csrfToken;
  const snapshot = store.writeSnapshot();

  // The new process: its monotonic clock starts over near zero; 5 ms of downtime.
  const restarted = new ManualClock(3);
  const copy = createStore({ ...OPTIONS, clock: restarted, restoreFrom: { snapshot, elapsedMs: 5 } });
  const shift = 3 - 5 - 10_090;
  t.same(copy.list().map((e) => ({ ...e })),
    before.map((e) => ({ ...e, createdMs: e.createdMs + shift, lastSeenMs: e.lastSeenMs + shift,
      idleExpiresMs: e.idleExpiresMs + shift, absoluteExpiresMs: e.absoluteExpiresMs + shift })),
    'same sessions, same MRU-first order, every time moved by (now - downtime - writeNow)');
  t.equal(copy.get(old.id, { touch: false })?.csrfToken, csrf, 'CSRF secret kept');
  t.same(copy.get(fresh.id, { touch: false })?.data, { é: 'ü' });
  t.same(
    (({ created, destroyed, active }) => ({ created, destroyed, active }))(copy.stats()),
    { created: 4, destroyed: 1, active: 3 });

  // Expiry counts the downtime: bob was last seen 40 ms + 5 ms ago, so 55 ms remain.
  restarted.advance(54.5);
  t.ok(copy.get(idle.id, { touch: false }), 'bob alive just before his idle limit');
  restarted.advance(0.5);
  t.equal(copy.get(idle.id), undefined, 'bob expired exactly at the rebased idle limit');
  t.equal(copy.stats().expiredIdle, 1);
});

t.test('downtime longer than the idle timeout expires everything on first use', async (t) => {
  const clock = new ManualClock(0);
  const { store, old, fresh } = populated(clock);
  const snapshot = store.writeSnapshot();
  const copy = createStore({ ...OPTIONS, clock: new ManualClock(0), restoreFrom: { snapshot, elapsedMs: 100 } });
  t.equal(copy.get(old.id), undefined);
  t.equal(copy.get(fresh.id), undefined);
  t.equal(copy.stats().active, 0);
});

t.test('absolute expiry survives restarts', async (t) => {
  const clock = new ManualClock(0);
  const store = createStore({ ...OPTIONS, clock });
  const { id } = store.create('alice', 'admin');
  let current = store;
  // Restart every 90 ms (touching in between) until the 1 000 ms absolute limit.
  for (let lived = 0; lived < 990; lived += 90) {
    clock.advance(80);
    t.ok(current.touch(id), `alive after ${lived + 80} ms`);
    const snapshot = current.writeSnapshot();
    clock.advance(10);
    current = createStore({ ...OPTIONS, clock, restoreFrom: { snapshot, elapsedMs: 10 } });
  }
  clock.advance(10);
  t.equal(current.get(id), undefined, 'gone at 1 000 ms in total');
  t.equal(current.stats().expiredAbsolute, 1);
});

function rehash(snapshot: Buffer): Buffer {
  const hash = createHash('sha256').update(snapshot.subarray(0, 48)).update(snapshot.subarray(80)).digest();
  hash.copy(snapshot, 48);
  return snapshot;
}

t.test('mismatched or damaged snapshots are refused and leave the store empty', async (t) => {
  const clock = new ManualClock(0);
  const { store } = populated(clock);
  const good = store.writeSnapshot();
  const edit = (fn: (b: Buffer) => void, fix = false) => {
    const b = Buffer.from(good);
    fn(b);
    return fix ? rehash(b) : b;
  };
  const rows: Array<[string, Uint8Array, Partial<StoreOptions>, string]> = [
    ['empty', new Uint8Array(0), {}, 'magic'],
    ['not a snapshot', Buffer.from('{"sessions":[]}'), {}, 'magic'],
    ['bad magic', edit((b) => b.write('X', 0)), {}, 'magic'],
    ['future version', edit((b) => b.writeUInt32LE(2, 8)), {}, 'version'],
    ['other capacity', good, { capacity: 9 }, 'layout'],
    ['other slotBytes', good, { slotBytes: 65 }, 'layout'],
    ['other maxUsers', good, { maxUsers: 7 }, 'layout'],
    ['other per-user cap', good, { maxSessionsPerUser: 3 }, 'layout'],
    ['truncated', good.subarray(0, good.length - 1), {}, 'length'],
    ['one byte extra', Buffer.concat([good, Buffer.alloc(1)]), {}, 'length'],
    ['flipped state byte', edit((b) => { b[200] = b[200]! ^ 1; }), {}, 'checksum'],
    ['flipped name byte', edit((b) => { b[b.length - 3] = b[b.length - 3]! ^ 1; }), {}, 'checksum'],
    // A consistent hash over inconsistent state: the structure walk must catch it.
    ['LRU link loops', edit((b) => { corruptRegion(b, 'lruNext'); }, true), {}, 'structure'],
    ['names not JSON', edit((b) => { b[b.length - 1] = 0x7b; }, true), {}, 'structure'],
    ...structureCases(good).map(([name, snapshot]): [string, Uint8Array, Partial<StoreOptions>, string] => [name, snapshot, {}, 'structure']),
  ];
  for (const [name, snapshot, change, reason] of rows) {
    const target = createStore({ ...OPTIONS, ...change, clock });
    const { id } = target.create('zed', 'admin');
    let caught: unknown;
    try {
      target.restoreSnapshot(snapshot, 0);
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof SnapshotError, `${name}: SnapshotError`);
    t.match(caught, { code: 'ERR_SNAPSHOT_INVALID', reason }, `${name}: reason ${reason}`);
    t.equal(target.stats().active, 0, `${name}: store left empty`);
    t.equal(target.get(id), undefined, `${name}: earlier sessions gone too`);
    t.ok(target.create('zed', 'admin').id, `${name}: store still usable`);
    t.throws(() => createStore({ ...OPTIONS, ...change, clock, restoreFrom: { snapshot, elapsedMs: 0 } }),
      { code: 'ERR_SNAPSHOT_INVALID', reason }, `${name}: createStore refuses too`);
  }
  t.throws(() => store.restoreSnapshot(good, -1), ConfigError);
  t.throws(() => store.restoreSnapshot(good, NaN), { message: /^elapsedMs: / });
});

/** Point the first LRU link of the snapshot back at itself (regions follow layout.ts). */
function corruptRegion(b: Buffer, _region: 'lruNext'): void {
  // capacity 8: counters 64 B, createdMs 64, lastSeenMs 64, heads 32, generation 32,
  // lruPrev 9 (pad to 16), then lruNext; header is 80 bytes.
  const lruNextAt = 80 + 64 + 64 + 64 + 32 + 32 + 16;
  const sentinel = 8;
  const first = b[lruNextAt + sentinel]!;
  b[lruNextAt + first] = first;
}

/** Byte offset of `region` inside a snapshot of an OPTIONS store (header, then state). */
function at(region: RegionName, index = 0): number {
  const r = computeLayout(resolveStoreOptions(OPTIONS)).regions[region];
  const elementBytes = r.byteLength / r.length;
  return 80 + r.byteOffset + index * elementBytes;
}

/** Rewrite the name tables of a snapshot (length field and hash follow). */
function withNames(snapshot: Buffer, edit: (names: { users: Array<[number, string]>; roles: string[] }) => void): Buffer {
  const stateBytes = snapshot.readUInt32LE(32);
  const names = JSON.parse(snapshot.toString('utf8', 80 + stateBytes)) as { users: Array<[number, string]>; roles: string[] };
  edit(names);
  const text = Buffer.from(JSON.stringify(names), 'utf8');
  const out = Buffer.concat([snapshot.subarray(0, 80 + stateBytes), text]);
  out.writeUInt32LE(text.length, 36);
  return rehash(out);
}

/**
 * Consistent hashes over inconsistent state, one per structure check: each must be refused
 * (a restored store walks these lists without bounds checks). OPTIONS: capacity 8, so links,
 * slot users, user counts, data lengths and roles are single bytes; heads are u32.
 */
function structureCases(good: Buffer): Array<[string, Buffer]> {
  const mru = good[at('lruNext', 8)]!;
  const user = good[at('slotUser', mru)]!;
  const freeSlot = good.readUInt32LE(at('heads', 0));
  const freeUser = good.readUInt32LE(at('heads', 1));
  const edit = (fn: (b: Buffer) => void, from = good): Buffer => {
    const b = Buffer.from(from);
    fn(b);
    return rehash(b);
  };
  // alice with two sessions, so her list can skip one while the counts still add up.
  const two = createStore({ ...OPTIONS, clock: new ManualClock(0) });
  two.create('alice', 'admin');
  two.create('alice', 'admin');
  two.create('bob', 'viewer');
  const pair = two.writeSnapshot();
  const aliceHead = pair[at('userHead', pair[at('slotUser', 0)]!)]!;
  return [
    ['LRU tail link wrong', edit((b) => { b[at('lruPrev', 8)] = mru; })],
    ['user list skips a session', edit((b) => { b[at('userNext', aliceHead)] = aliceHead; b[at('userPrev', aliceHead)] = aliceHead; }, pair)],
    ['age list loops', edit((b) => { const first = b[at('ageNext', 8)]!; b[at('ageNext', first)] = first; })],
    ['LRU back link wrong', edit((b) => { b[at('lruPrev', mru)] = mru; })],
    ['free list loops', edit((b) => { b[at('lruNext', freeSlot)] = freeSlot; })],
    ['active count too high', edit((b) => { b.writeUInt32LE(b.readUInt32LE(at('heads', 2)) + 1, at('heads', 2)); })],
    ['active count too low', edit((b) => { b.writeUInt32LE(b.readUInt32LE(at('heads', 2)) - 1, at('heads', 2)); })],
    ['role count beyond the table', edit((b) => { b.writeUInt32LE(300, at('heads', 3)); })],
    ['slot role out of range', edit((b) => { b[at('slotRole', mru)] = 7; })],
    ['data longer than the slot', edit((b) => { b[at('dataLength', mru)] = OPTIONS.slotBytes + 1; })],
    ['user count off by one', edit((b) => { b[at('userCount', user)] = b[at('userCount', user)]! + 1; })],
    ['slot owned by a free user entry', edit((b) => { b[at('slotUser', mru)] = freeUser; })],
    ['user free list loops', edit((b) => { b[at('userHead', freeUser)] = freeUser; })],
    ['session time not finite', edit((b) => { b.writeDoubleLE(Number.NaN, at('createdMs', mru)); })],
    ['user table short', withNames(good, (n) => { n.users.pop(); })],
    ['user index out of range', withNames(good, (n) => { n.users[0]![0] = 99; })],
    ['user index repeated', withNames(good, (n) => { n.users[1]![0] = n.users[0]![0]; })],
    ['user name repeated', withNames(good, (n) => { n.users[1]![1] = n.users[0]![1]; })],
    ['user name not a string', withNames(good, (n) => { (n.users[0] as unknown[])[1] = 5; })],
    ['role table short', withNames(good, (n) => { n.roles.pop(); })],
    ['role name repeated', withNames(good, (n) => { n.roles[1] = n.roles[0]!; })],
    ['names not an object', withNames(good, (n) => { (n as { users: unknown }).users = 'x'; })],
  ];
}

t.test('a snapshot never carries unused random bytes', async (t) => {
  const clock = new ManualClock(0);
  const store = createStore({ ...OPTIONS, clock });
  store.create('alice', 'admin'); // draws a block of random bytes, uses 32
  const snapshot = store.writeSnapshot();
  // capacity 8: the random block (1 024 B) sits right after the 24-byte id scratch.
  const a = createStore({ ...OPTIONS, clock, restoreFrom: { snapshot, elapsedMs: 0 } });
  const b = createStore({ ...OPTIONS, clock, restoreFrom: { snapshot, elapsedMs: 0 } });
  t.not(a.create('bob', 'admin').id.slice(10), b.create('bob', 'admin').id.slice(10),
    'two restores of one snapshot mint different secrets');
});

t.test('a restored store draws fresh random bytes whatever the snapshot says', async (t) => {
  const clock = new ManualClock(0);
  const store = createStore({ ...OPTIONS, clock });
  store.create('alice', 'admin');
  const snapshot = store.writeSnapshot();
  // A forged snapshot claiming its (zeroed) random block is unused.
  snapshot.writeUInt32LE(0, at('heads', 5));
  const restored = createStore({ ...OPTIONS, clock, restoreFrom: { snapshot: rehash(snapshot), elapsedMs: 0 } });
  const { id } = restored.create('bob', 'admin');
  // Bytes 8.. of the id are the secret: base64url characters 11.. only encode secret bits.
  t.notMatch(id.slice(11), /^A+$/, 'the new secret is not the zeroed block');
});
