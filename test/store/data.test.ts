import t from 'tap';
import { createStore } from '../../src/store/index.js';
import { ManualClock } from '../support/clock.js';

const clock = new ManualClock(0);

t.test('data round-trips as UTF-8 JSON and fits byte-exactly', async (t) => {
  const store = createStore({ capacity: 2, slotBytes: 20, clock });
  const rows: Array<[string, unknown, number]> = [
    ['nothing', undefined, 0],
    ['null', null, 4],
    ['number', 12345, 5],
    ['string', 'abc', 5],
    ['object', { a: 1 }, 7],
    ['exactly 20 bytes', { k: 'x'.repeat(12) }, 20],
    ['multi-byte exactly 20', { k: 'é'.repeat(5) + 'xx' }, 20],
    ['emoji', ['😀', '😀'], 15],
  ];
  for (const [name, data, bytes] of rows) {
    const { id } = store.create('alice', 'admin', data);
    const view = store.get(id)!;
    t.same(view.data, data, `${name}: value`);
    t.equal(view.dataBytes, bytes, `${name}: ${bytes} bytes`);
    t.equal(view.dataJson, data === undefined ? undefined : JSON.stringify(data));
  }
});

t.test('data too large is ERR_DATA_TOO_LARGE, never truncation, nothing changes', async (t) => {
  const store = createStore({ capacity: 2, slotBytes: 20, clock });
  const { id } = store.create('alice', 'admin', { keep: 1 });
  const before = JSON.stringify(store.get(id, { touch: false }));
  const statsBefore = store.stats();
  const tooBig: Array<[string, unknown]> = [
    ['21 ASCII bytes', { k: 'x'.repeat(13) }],
    ['21 bytes from 2-byte chars', { k: 'é'.repeat(5) + 'xxx' }],
    ['20 UTF-16 units but 40+ bytes', 'é'.repeat(18)],
    ['huge', 'x'.repeat(100_000)],
  ];
  for (const [name, data] of tooBig) {
    t.throws(() => store.update(id, data), { code: 'ERR_DATA_TOO_LARGE', message: 'session data exceeds the 20-byte slot' }, `update: ${name}`);
    t.throws(() => store.create('bob', 'admin', data), { code: 'ERR_DATA_TOO_LARGE' }, `create: ${name}`);
  }
  t.equal(JSON.stringify(store.get(id, { touch: false })), before, 'session unchanged');
  t.same(store.stats(), statsBefore, 'no session created, nothing evicted');
  t.equal(store.list('bob').length, 0);
});

t.test('zero-byte slots hold sessions without data', async (t) => {
  const store = createStore({ capacity: 1, slotBytes: 0, clock });
  const { id } = store.create('alice', 'admin');
  t.equal(store.get(id)?.data, undefined);
  t.throws(() => store.update(id, 0), { code: 'ERR_DATA_TOO_LARGE' });
  t.ok(store.update(id, undefined), 'clearing is fine');
});

t.test('update replaces data and wipes the tail; it is not activity', async (t) => {
  const store = createStore({ capacity: 2, slotBytes: 64, clock });
  const { id } = store.create('alice', 'admin', { long: 'x'.repeat(40) });
  const seen = store.get(id, { touch: false })!.lastSeenMs;
  clock.advance(5);
  t.ok(store.update(id, { s: 1 }));
  const view = store.get(id, { touch: false })!;
  t.same(view.data, { s: 1 });
  t.equal(view.lastSeenMs, seen, 'update does not touch');
  t.ok(store.update(id, undefined));
  t.equal(store.get(id, { touch: false })?.dataBytes, 0);
});

t.test('unusable arguments are typed errors', async (t) => {
  const store = createStore({ capacity: 2, clock });
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const rows: Array<[string, () => unknown, string]> = [
    ['cyclic data', () => store.create('a', 'r', cycle), 'ERR_DATA_NOT_JSON'],
    ['BigInt data', () => store.create('a', 'r', 1n), 'ERR_DATA_NOT_JSON'],
    ['function data', () => store.create('a', 'r', () => 1), 'ERR_DATA_NOT_JSON'],
    ['empty user', () => store.create('', 'r'), 'ERR_NAME_INVALID'],
    ['user too long', () => store.create('u'.repeat(257), 'r'), 'ERR_NAME_INVALID'],
    ['role not a string', () => store.create('a', 7 as unknown as string), 'ERR_NAME_INVALID'],
  ];
  for (const [name, fn, code] of rows) t.throws(fn, { name: 'RingletError', code }, name);
  t.equal(store.stats().active, 0);
});

t.test('bounded name tables: maxUsers and 255 roles', async (t) => {
  const store = createStore({ capacity: 4, maxUsers: 2, clock });
  store.create('b', 'r');
  store.create('a', 'r');
  t.throws(() => store.create('c', 'r'), { code: 'ERR_STORE_FULL', message: 'the user table is full (maxUsers 2)' });
  t.equal(store.stats().active, 2, 'nothing evicted by the refused create');
  store.create('a', 'r');
  store.create('a', 'r');
  // Full store: the LRU victim is b's only session, which frees a user entry for c.
  const c = store.create('c', 'r');
  t.equal(c.evicted?.user, 'b');
  const roles = createStore({ capacity: 300, clock });
  for (let i = 0; i < 255; i++) roles.create('u', `role${i}`);
  t.throws(() => roles.create('u', 'one-too-many'), { code: 'ERR_STORE_FULL' });
  t.ok(roles.create('u', 'role7'), 'known roles still work');
});
