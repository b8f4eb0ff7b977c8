import t from 'tap';
import { createStore, ID_CHARS, refOfHandle } from '../../src/store/index.js';
import { ManualClock } from '../support/clock.js';

const clock = new ManualClock(0);

t.test('ids are 32 base64url characters with 128+ random bits, all different', async (t) => {
  const store = createStore({ capacity: 64, clock });
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const { id } = store.create(`u${i % 50}`, 'r');
    t.equal(id.length, ID_CHARS);
    if (!/^[A-Za-z0-9_-]{32}$/.test(id)) t.fail(`id alphabet: ${id}`);
    seen.add(id);
  }
  t.equal(seen.size, 1000, 'no id repeats, even for reused slots');
});

t.test('malformed ids resolve to nothing and never throw', async (t) => {
  const store = createStore({ capacity: 4, clock });
  const { id } = store.create('alice', 'admin');
  const flip = (i: number, c: string) => id.slice(0, i) + c + id.slice(i + 1);
  const cases: Array<[string, unknown]> = [
    ['empty', ''],
    ['one char short', id.slice(1)],
    ['one char long', id + 'A'],
    ['padding', id.slice(0, 31) + '='],
    ['standard base64 +', flip(20, '+')],
    ['standard base64 /', flip(20, '/')],
    ['space', flip(5, ' ')],
    ['non-ASCII é', flip(30, 'é')],
    ['non-ASCII only', 'é'.repeat(32)],
    ['astral', '😀'.repeat(16)],
    ['NUL', flip(0, '\0')],
    ['10 kB', 'A'.repeat(10_240)],
    ['10 kB of the id', id.repeat(320)],
    ['wrong secret', flip(31, id[31] === 'A' ? 'B' : 'A')],
    ['wrong generation', flip(9, id[9] === 'A' ? 'B' : 'A')],
    ['slot out of range', '____' + id.slice(4)],
    ['lowercased', id.toLowerCase() === id ? id.toUpperCase() : id.toLowerCase()],
    ['number', 42],
    ['undefined', undefined],
    ['null', null],
    ['object', { toString: () => id }],
    ['array', [id]],
  ];
  for (const [name, bad] of cases) {
    t.equal(store.get(bad), undefined, `get: ${name}`);
    t.equal(store.get(bad, { touch: false }), undefined, `peek: ${name}`);
    t.equal(store.touch(bad), false, `touch: ${name}`);
    t.equal(store.update(bad, { a: 1 }), false, `update: ${name}`);
    t.equal(store.destroy(bad), false, `destroy: ${name}`);
  }
  t.equal(store.get(id)?.user, 'alice', 'the real id still works after all that');
  t.equal(store.stats().destroyed, 0);
});

t.test('a stale id never reaches a reused slot', async (t) => {
  const store = createStore({ capacity: 1, clock });
  const first = store.create('alice', 'admin');
  const second = store.create('bob', 'viewer'); // evicts alice; same slot, next generation
  t.equal(second.evicted?.user, 'alice');
  t.equal(second.evicted?.reason, 'lru');
  t.equal(second.evicted?.ref, first.ref, 'the eviction names the old ref');
  t.not(second.ref, first.ref, 'refs differ across reuse');
  t.equal(first.id.slice(0, 4), second.id.slice(0, 4), 'same slot');
  t.equal(store.get(first.id), undefined, 'stale id misses');
  t.equal(store.getByRef(first.ref), undefined, 'stale ref misses');
  t.equal(store.destroyByRef(first.ref), false);
  // Forge: the old secret with the new generation must still miss (the secret is per session).
  const forged = second.id.slice(0, 10) + first.id.slice(10);
  t.equal(store.get(forged), undefined, 'old secret under the new generation misses');
  t.equal(store.get(second.id)?.user, 'bob');
  store.destroy(second.id);
  const third = store.create('carol', 'viewer');
  t.equal(store.get(second.id), undefined, 'destroyed then reused: still a miss');
  t.equal(store.get(third.id)?.user, 'carol');
});

t.test('refs: non-secret, stable, strict', async (t) => {
  const store = createStore({ capacity: 3, clock });
  const a = store.create('alice', 'admin', { n: 1 });
  t.match(a.ref, /^[0-9a-f]{14}$/);
  t.notOk(a.id.includes(a.ref), 'the ref is not part of the id text');
  const view = store.get(a.id);
  t.equal(view?.ref, a.ref, 'view ref = create ref');
  store.touch(a.id);
  t.equal(store.list()[0]?.ref, a.ref, 'stable across touches');
  for (const bad of ['', a.ref.toUpperCase() === a.ref ? 'x' : a.ref.toUpperCase(), a.ref + '0', 'zzzzzzzzzzzzzz', 12, null]) {
    t.equal(store.getByRef(bad), undefined, `bad ref ${String(bad)}`);
    t.equal(store.destroyByRef(bad), false);
  }
  const before = store.get(a.id, { touch: false })!.lastSeenMs;
  clock.advance(10);
  t.equal(store.getByRef(a.ref)?.lastSeenMs, before, 'getByRef never touches');
  t.ok(store.destroyByRef(a.ref));
  t.equal(store.get(a.id), undefined);
  t.equal(store.stats().destroyed, 1);
});

t.test('list() and the view never expose the id; inspect shows no secrets', async (t) => {
  const store = createStore({ capacity: 2, clock });
  const a = store.create('alice', 'admin', { theme: 'dark' });
  const view = store.get(a.id)!;
  const secretPart = a.id.slice(10);
  const csrf = view.csrfToken;
  t.match(csrf, /^[A-Za-z0-9_-]{22}$/, 'CSRF token is 128 bits of base64url');
  const { inspect } = await import('node:util');
  for (const text of [JSON.stringify(store.list()), inspect(store.list()), inspect(view), inspect(store), String(store)]) {
    t.notOk(text.includes(secretPart), 'no id secret');
    t.notOk(text.includes(csrf), 'no CSRF secret');
  }
  t.same(Object.keys(store.list()[0]!).sort(),
    ['absoluteExpiresMs', 'createdMs', 'data', 'dataBytes', 'idleExpiresMs', 'lastSeenMs', 'ref', 'role', 'user']);
});

t.test('no property path from the store, a view or a result reaches the secrets or the links', async (t) => {
  const store = createStore({ capacity: 2, clock });
  const created = store.create('alice', 'admin', { theme: 'dark' });
  const view = store.get(created.id)!;
  const seen = new Set<unknown>();
  const reached: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) return;
    seen.add(value);
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Map) reached.push(path);
    // Own properties of the object and of its prototypes (methods are not descended into).
    for (let o: object | null = value as object; o !== null && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o) as object | null) {
      for (const key of Reflect.ownKeys(o)) {
        const d = Object.getOwnPropertyDescriptor(o, key)!;
        if ('value' in d && typeof d.value !== 'function') walk(d.value, `${path}.${String(key)}`);
      }
    }
  };
  walk(store, 'store');
  walk(view, 'view');
  walk(created, 'created');
  t.strictSame(reached, [], 'no typed array, buffer or name index is reachable');
  t.strictSame(JSON.parse(JSON.stringify(store)), {}, 'JSON of the store is empty');
  t.notOk('secrets' in store, 'no secrets member');
});

t.test('a forged, stale or malformed id reads no clock and changes nothing', async (t) => {
  let reads = 0;
  const store = createStore({ capacity: 2, clock: { now: () => (reads++, 0) } });
  const a = store.create('alice', 'admin');
  const b = store.create('bob', 'admin');
  const order = JSON.stringify(store.list());
  reads = 0;
  const forged = [a.id.slice(0, 31) + (a.id[31] === 'A' ? 'B' : 'A'), 'A'.repeat(32), 'é'.repeat(32), '', b.id + 'x'];
  for (const id of forged) {
    store.get(id);
    store.touch(id);
    store.update(id, { x: 1 });
    store.destroy(id);
  }
  t.equal(reads, 0, 'no clock reads for misses');
  t.equal(JSON.stringify(store.list()), order, 'LRU order and data unchanged');
});

t.test('handles: the ref in numeric form, strict, stale after reuse', async (t) => {
  const store = createStore({ capacity: 1, clock });
  const a = store.create('alice', 'admin');
  const handle = store.get(a.id, { touch: false })!.handle;
  t.equal(refOfHandle(handle), a.ref, 'refOfHandle(view.handle) is the ref');
  t.equal(store.getByHandle(handle)?.user, 'alice');
  const before = store.get(a.id, { touch: false })!.lastSeenMs;
  clock.advance(10);
  t.equal(store.getByHandle(handle)?.lastSeenMs, before, 'getByHandle never touches');
  for (const bad of [NaN, -1, handle + 0.5, Infinity, 2 ** 53, handle + 1, handle + 2 ** 32]) {
    t.equal(store.getByHandle(bad), undefined, `bad handle ${bad}`);
  }
  store.create('bob', 'viewer'); // evicts alice: same slot, next generation
  t.equal(store.getByHandle(handle), undefined, 'a reused slot is not reached through the old handle');
});

t.test('updateByHandle: the data of the handle\'s session only, never activity, the same size rule as update', async (t) => {
  const store = createStore({ capacity: 1, slotBytes: 16, clock });
  const a = store.create('alice', 'admin', { n: 1 });
  const view = store.get(a.id, { touch: false })!;
  const handle = view.handle;
  const before = view.lastSeenMs;
  clock.advance(10);
  t.equal(store.updateByHandle(handle, { n: 2 }), true);
  t.same(store.getByHandle(handle)?.data, { n: 2 });
  t.equal(store.getByHandle(handle)?.lastSeenMs, before, 'not counted as activity');
  t.throws(() => store.updateByHandle(handle, 'x'.repeat(15)), { code: 'ERR_DATA_TOO_LARGE' }, '17 bytes of JSON in a 16-byte slot');
  t.same(store.getByHandle(handle)?.data, { n: 2 }, 'nothing changed');
  for (const bad of [NaN, -1, handle + 0.5, handle + 2 ** 32]) t.equal(store.updateByHandle(bad, { n: 3 }), false, `bad handle ${bad}`);
  store.create('bob', 'viewer'); // evicts alice: same slot, next generation
  t.equal(store.updateByHandle(handle, { n: 4 }), false, 'a reused slot is not reached through the old handle');
  t.equal(store.list()[0]?.data, undefined, 'bob\'s data untouched');
});
