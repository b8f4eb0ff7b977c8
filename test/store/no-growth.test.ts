/**
 * A million operations at capacity must not grow the heap: every structure is sized at
 * construction. Runs under --expose-gc (tap's node-arg). The same measurement applied to
 * a loop that does leak must exceed the threshold, so this test can fail.
 */
import t from 'tap';
import { createStore } from '../../src/store/index.js';
import { SeededRandom } from '../support/seeded-random.js';

const gc = (globalThis as { gc?: () => void }).gc;
const THRESHOLD_BYTES = 1024 * 1024;

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

t.test('heap stays flat across 1M operations at capacity', { skip: gc ? false : 'needs --expose-gc' }, async (t) => {
  const capacity = 1_000;
  let now = 0;
  const store = createStore({ capacity, slotBytes: 64, maxSessionsPerUser: 16, clock: { now: () => now } });
  const users = Array.from({ length: 100 }, (_, i) => `user${i}`);
  const ids: string[] = [];
  for (let i = 0; i < capacity; i++) ids.push(store.create(users[i % users.length]!, 'viewer', { i }).id);
  const rnd = new SeededRandom(42);
  const stale = ids[0]!.slice(0, 31) + (ids[0]![31] === 'A' ? 'B' : 'A');

  const run = (ops: number) => {
    for (let i = 0; i < ops; i++) {
      now += 0.01;
      const k = rnd.int(capacity);
      const r = rnd.next();
      if (r < 0.4) store.get(ids[k]!);
      else if (r < 0.6) store.touch(ids[k]!);
      else if (r < 0.7) store.get(stale);
      else if (r < 0.75) store.get(ids[k]!, { touch: false });
      else if (r < 0.8) store.update(ids[k]!, { i });
      else ids[k] = store.create(users[k % users.length]!, 'viewer', { i }).id; // evicts someone
    }
  };
  run(100_000); // warm up: JIT, id strings replaced once
  const before = heapAfterGc();
  run(1_000_000);
  const growth = heapAfterGc() - before;
  t.ok(growth < THRESHOLD_BYTES, `heap growth ${growth} B over 1M operations (< ${THRESHOLD_BYTES})`);
  t.equal(store.stats().active, capacity, 'still at capacity');

  // The control: the same measurement notices a leak of ~40 B per operation.
  const leak: object[] = [];
  const beforeLeak = heapAfterGc();
  for (let i = 0; i < 1_000_000; i++) if (i % 25 === 0) leak.push({ i });
  t.ok(heapAfterGc() - beforeLeak > THRESHOLD_BYTES, 'the measurement detects a real leak');
  t.ok(leak.length > 0);
});
