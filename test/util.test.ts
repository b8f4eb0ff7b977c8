import t from 'tap';
import { fillRandom, randomBytesPooled } from '../src/util/random-pool.js';
import { SeededRandom } from './support/seeded-random.js';
import { ManualClock } from './support/clock.js';

t.test('pooled random bytes are never handed out twice', (t) => {
  const seen = new Set<string>();
  // 3 pool refills' worth of 16-byte draws: any reuse of pool bytes would repeat a value.
  for (let i = 0; i < 800; i++) {
    const hex = randomBytesPooled(16).toString('hex');
    t.notOk(seen.has(hex), 'draw is fresh');
    seen.add(hex);
  }
  t.end();
});

t.test('fillRandom fills exactly the requested window across a pool boundary', (t) => {
  const target = Buffer.alloc(6000);
  fillRandom(target, 10, 5000);
  t.same([...target.subarray(0, 10)].filter((b) => b !== 0), [], 'prefix untouched');
  t.same([...target.subarray(5010)].filter((b) => b !== 0), [], 'suffix untouched');
  const window = target.subarray(10, 5010);
  t.ok(window.filter((b) => b === 0).length < 100, 'window looks random');
  t.end();
});

t.test('SeededRandom is deterministic per seed', (t) => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const c = new SeededRandom(43);
  const seqA = Array.from({ length: 5 }, () => a.int(1000));
  t.same(Array.from({ length: 5 }, () => b.int(1000)), seqA);
  t.not(Array.from({ length: 5 }, () => c.int(1000)).join(), seqA.join());
  t.end();
});

t.test('ManualClock moves only when told', (t) => {
  const clock = new ManualClock(5);
  t.equal(clock.now(), 5);
  clock.advance(10);
  t.equal(clock.now(), 15);
  clock.set(0);
  t.equal(clock.now(), 0);
  t.end();
});
