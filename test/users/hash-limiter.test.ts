import t from 'tap';
import { RingletError } from '../../src/errors.js';
import { ManualClock } from '../support/clock.js';
import { HashLimiter, hashPassword, verifyPassword } from '../../src/users/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Fake work that records how many run at once. */
function tracker() {
  const state = { inFlight: 0, peak: 0 };
  const work = (ms: number, value: number) => async (): Promise<number> => {
    state.inFlight++;
    state.peak = Math.max(state.peak, state.inFlight);
    await sleep(ms);
    state.inFlight--;
    return value;
  };
  return { state, work };
}

t.test('options are validated, naming the field and range', (t) => {
  const ok = { maxConcurrent: 2, maxQueued: 8, maxWaitMs: 1000 };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ ...ok, maxConcurrent: 0 }, 'maxConcurrent', /from 1 to 64/],
    [{ ...ok, maxConcurrent: 65 }, 'maxConcurrent', /from 1 to 64/],
    [{ ...ok, maxConcurrent: 1.5 }, 'maxConcurrent', /integer/],
    [{ ...ok, maxQueued: -1 }, 'maxQueued', /from 0 to 65536/],
    [{ ...ok, maxQueued: 1e9 }, 'maxQueued', /from 0 to 65536/],
    [{ ...ok, maxWaitMs: -1 }, 'maxWaitMs', /from 0 to 2147483647/],
    [{ ...ok, maxWaitMs: 2 ** 31 }, 'maxWaitMs', /from 0 to 2147483647/],
    [{ ...ok, maxWaitMs: '5' }, 'maxWaitMs', /integer/],
  ];
  for (const [opts, field, message] of cases) {
    t.throws(() => new HashLimiter(opts as never), { name: 'ConfigError', field, message }, `${field}=${String(opts[field])}`);
  }
  t.end();
});

for (const maxConcurrent of [1, 2, 4]) {
  t.test(`never more than ${maxConcurrent} in flight under 50 parallel runs`, async (t) => {
    const { state, work } = tracker();
    const limiter = new HashLimiter({ maxConcurrent, maxQueued: 64, maxWaitMs: 60_000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => limiter.run(work(3, i))));
    t.same(results, Array.from({ length: 50 }, (_, i) => i), 'every run resolves with its own value, in order');
    t.equal(state.peak, maxConcurrent, 'observed peak equals the bound');
    const s = limiter.stats();
    t.equal(s.peakInFlight, maxConcurrent);
    t.equal(s.inFlight, 0);
    t.equal(s.queued, 0);
    t.equal(s.rejected, 0);
    t.equal(s.completed, 50);
  });
}

t.test('queue full: ERR_HASHING_BUSY at once, fn not called; the rest complete', async (t) => {
  const { state, work } = tracker();
  const limiter = new HashLimiter({ maxConcurrent: 2, maxQueued: 3, maxWaitMs: 60_000 });
  let calledRejected = 0;
  const runs = Array.from({ length: 10 }, (_, i) =>
    limiter.run(i < 5 ? work(10, i) : async () => { calledRejected++; return -1; }).then(
      (v) => ({ ok: true, v }),
      (e: unknown) => ({ ok: false, code: (e as RingletError).code, message: (e as Error).message }),
    ),
  );
  t.same(limiter.stats().queued, 3, 'the ring is full');
  const results = await Promise.all(runs);
  t.same(results.slice(0, 5).map((r) => r.ok), [true, true, true, true, true]);
  for (const r of results.slice(5)) t.match(r, { ok: false, code: 'ERR_HASHING_BUSY', message: /queue full/ });
  t.equal(calledRejected, 0, 'refused work never runs');
  t.equal(state.peak, 2);
  t.equal(limiter.stats().rejected, 5);
});

t.test('maxQueued 0 or maxWaitMs 0: busy means refuse at once', async (t) => {
  for (const opts of [{ maxQueued: 0, maxWaitMs: 1000 }, { maxQueued: 4, maxWaitMs: 0 }]) {
    const limiter = new HashLimiter({ maxConcurrent: 1, ...opts });
    const first = limiter.run(() => sleep(5).then(() => 'done'));
    await t.rejects(limiter.run(async () => 'never'), { code: 'ERR_HASHING_BUSY' }, JSON.stringify(opts));
    t.equal(await first, 'done');
    t.equal(await limiter.run(async () => 'free again'), 'free again');
  }
});

t.test('wait timeout (real timer): ERR_HASHING_BUSY while the slot is still held', async (t) => {
  const limiter = new HashLimiter({ maxConcurrent: 1, maxQueued: 4, maxWaitMs: 20 });
  let release!: () => void;
  const held = limiter.run(() => new Promise<string>((r) => { release = () => r('held'); }));
  let ran = false;
  const waiting = limiter.run(async () => { ran = true; });
  await t.rejects(waiting, { code: 'ERR_HASHING_BUSY', message: /waited too long/ });
  t.equal(ran, false, 'timed-out work never runs');
  t.equal(limiter.stats().timedOut, 1);
  t.equal(limiter.stats().queued, 0);
  release();
  t.equal(await held, 'held');
});

t.test('wait timeout (injected clock): expired waiters are refused when a slot frees', async (t) => {
  const clock = new ManualClock(1000);
  const limiter = new HashLimiter({ maxConcurrent: 1, maxQueued: 4, maxWaitMs: 500_000, clock });
  let release!: () => void;
  const held = limiter.run(() => new Promise<void>((r) => { release = r; }));
  const early = limiter.run(async () => 'early');
  clock.advance(400_000);
  const late = limiter.run(async () => 'late');
  clock.advance(100_000); // early's deadline reached, late's not
  release();
  await held;
  await t.rejects(early, { code: 'ERR_HASHING_BUSY' }, 'the expired waiter is refused');
  t.equal(await late, 'late', 'the next one, still in time, runs');
  t.same(limiter.stats(), { inFlight: 0, queued: 0, rejected: 1, timedOut: 1, peakInFlight: 1, completed: 2 });
});

t.test('errors from the work pass through and free the slot; sync throws too', async (t) => {
  const limiter = new HashLimiter({ maxConcurrent: 1, maxQueued: 2, maxWaitMs: 60_000 });
  await t.rejects(limiter.run(async () => { throw new Error('boom'); }), { message: 'boom' });
  await t.rejects(limiter.run(() => { throw new Error('sync boom'); }), { message: 'sync boom' });
  t.equal(await limiter.run(async () => 7), 7);
  t.equal(limiter.stats().inFlight, 0);
});

t.test('memory stays bounded: 20k refused runs do not grow the heap', { skip: typeof globalThis.gc !== 'function' && 'needs --expose-gc' }, async (t) => {
  const gc = globalThis.gc as () => void;
  const limiter = new HashLimiter({ maxConcurrent: 1, maxQueued: 16, maxWaitMs: 60_000 });
  let release!: () => void;
  const held = limiter.run(() => new Promise<void>((r) => { release = r; }));
  const queued = Array.from({ length: 16 }, () => limiter.run(async () => undefined));
  const burst = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await limiter.run(async () => undefined).catch(() => undefined);
  };
  await burst(2_000);
  gc();
  const before = process.memoryUsage().heapUsed;
  await burst(20_000);
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  t.ok(growth < 1024 * 1024, `heap growth ${growth} bytes under 1 MiB`);
  t.equal(limiter.stats().queued, 16, 'the queue never exceeds maxQueued');
  t.equal(limiter.stats().rejected, 22_000);
  release();
  await held;
  await Promise.all(queued);
});

t.test('with real scrypt work', async (t) => {
  const limiter = new HashLimiter({ maxConcurrent: 2, maxQueued: 16, maxWaitMs: 60_000 });
  const cost = { logN: 10, r: 8, p: 1 };
  const hashes = await Promise.all(Array.from({ length: 6 }, (_, i) => limiter.run(() => hashPassword(`password number ${i}`, cost))));
  const checks = await Promise.all(hashes.map((h, i) => limiter.run(() => verifyPassword(`password number ${i}`, h))));
  t.same(checks, [true, true, true, true, true, true]);
  t.ok(limiter.stats().peakInFlight <= 2);
});
