import t from 'tap';
import { ManualClock } from '../support/clock.js';
import { LoginThrottle, THROTTLE_WAYS, throttleFootprintBytes } from '../../src/users/index.js';
import type { LoginThrottleOptions } from '../../src/users/index.js';

const SECOND = 1000;
const OPTS: LoginThrottleOptions = { entries: 1024, freeAttempts: 5, baseDelayMs: SECOND, maxDelayMs: 300 * SECOND, forgetAfterMs: 3600 * SECOND };

t.test('options are validated, naming the field and range', (t) => {
  const cases: [Partial<Record<keyof LoginThrottleOptions, unknown>>, string, RegExp][] = [
    [{ entries: 7 }, 'entries', /from 8 to 1048576/],
    [{ entries: 2 ** 21 }, 'entries', /from 8 to 1048576/],
    [{ entries: 10.5 }, 'entries', /integer/],
    [{ freeAttempts: 0 }, 'freeAttempts', /from 1 to 100/],
    [{ baseDelayMs: 0 }, 'baseDelayMs', /from 1 to 2147483647/],
    [{ maxDelayMs: 500 }, 'maxDelayMs', /from 1000 to 2147483647/],
    [{ forgetAfterMs: 299 * SECOND }, 'forgetAfterMs', /from 300000 to 2147483647/],
    [{ hashKey: new Uint8Array(8) }, 'hashKey', /at least 16 bytes/],
  ];
  for (const [over, field, message] of cases) {
    t.throws(() => new LoginThrottle({ ...OPTS, ...over } as LoginThrottleOptions), { name: 'ConfigError', field, message }, field);
  }
  t.end();
});

t.test('back-off sequence: free attempts, then doubling from base to the cap', (t) => {
  const throttle = new LoginThrottle(OPTS);
  // failures recorded (all at t=0) -> wait answered at t=0
  const expected = [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map((s) => s * SECOND);
  const seen: number[] = [];
  for (let f = 1; f <= expected.length; f++) {
    throttle.recordFailure('ip:192.0.2.1', 0);
    seen.push(throttle.check('ip:192.0.2.1', 0));
  }
  t.same(seen, expected);
  t.equal(throttle.check('ip:192.0.2.2', 0), 0, 'another key is unaffected');
  t.end();
});

t.test('the wait counts down from the last failure', (t) => {
  const throttle = new LoginThrottle(OPTS);
  for (let i = 0; i < 6; i++) throttle.recordFailure('user:admin', 10_000); // wait 2 s
  const table: [number, number][] = [[10_000, 2000], [10_500, 1500], [11_999, 1], [12_000, 0], [50_000, 0]];
  for (const [now, wait] of table) t.equal(throttle.check('user:admin', now), wait, `at ${now}`);
  throttle.recordFailure('user:admin', 50_000); // 7th failure: 4 s from 50 s
  t.equal(throttle.check('user:admin', 51_000), 3000, 'a new failure restarts the wait, doubled');
  t.end();
});

t.test('cap holds for any number of failures (saturating counter)', (t) => {
  const throttle = new LoginThrottle({ ...OPTS, freeAttempts: 1, baseDelayMs: 1, maxDelayMs: 2 ** 31 - 1, forgetAfterMs: 2 ** 31 - 1 });
  for (let i = 0; i < 70_000; i++) throttle.recordFailure('k', 0);
  t.equal(throttle.check('k', 0), 2 ** 31 - 1, 'capped, no overflow, no NaN');
  t.equal(throttle.delayAfter(1e9), 2 ** 31 - 1);
  t.end();
});

t.test('forget after forgetAfterMs without failures; no permanent lockout', (t) => {
  const throttle = new LoginThrottle(OPTS);
  for (let i = 0; i < 40; i++) throttle.recordFailure('ip:x', 0);
  t.equal(throttle.check('ip:x', 0), 300 * SECOND);
  t.equal(throttle.check('ip:x', 300 * SECOND), 0, 'the cap passes');
  t.equal(throttle.check('ip:x', 3600 * SECOND - 1), 0);
  throttle.recordFailure('ip:x', 3600 * SECOND - 1);
  t.equal(throttle.check('ip:x', 3600 * SECOND - 1), 300 * SECOND, 'still remembered just before forgetting');
  const later = 2 * 3600 * SECOND;
  t.equal(throttle.check('ip:x', later), 0, 'forgotten');
  for (let i = 0; i < 4; i++) throttle.recordFailure('ip:x', later);
  t.equal(throttle.check('ip:x', later), 0, 'counting starts afresh: four failures are free again');
  throttle.recordFailure('ip:x', later);
  t.equal(throttle.check('ip:x', later), SECOND);
  t.end();
});

t.test('success clears the key only', (t) => {
  const throttle = new LoginThrottle(OPTS);
  for (let i = 0; i < 8; i++) {
    throttle.recordFailure('user:alice', 0);
    throttle.recordFailure('ip:10.0.0.1', 0);
  }
  throttle.recordSuccess('user:alice');
  t.equal(throttle.check('user:alice', 0), 0);
  t.equal(throttle.check('ip:10.0.0.1', 0), 8 * SECOND, 'the address keeps its failures');
  throttle.recordSuccess('user:nobody');
  t.equal(throttle.stats().used, 1);
  t.end();
});

t.test('injected clock is used when nowMs is omitted', (t) => {
  const clock = new ManualClock(5_000);
  const throttle = new LoginThrottle({ ...OPTS, clock });
  for (let i = 0; i < 5; i++) throttle.recordFailure('k');
  t.equal(throttle.check('k'), SECOND);
  clock.advance(400);
  t.equal(throttle.check('k'), 600);
  t.end();
});

t.test('table full: a new key replaces the entry whose back-off ends soonest', (t) => {
  // entries = 8: a single bucket, so every key competes for the same 8 ways.
  const opts = { ...OPTS, entries: 8, forgetAfterMs: 3600 * SECOND };
  const throttle = new LoginThrottle(opts);
  for (let k = 0; k < 8; k++) for (let i = 0; i < 5; i++) throttle.recordFailure(`k${k}`, k * 10); // each waits 1 s from k*10
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map((k) => throttle.check(`k${k}`, 100)), [900, 910, 920, 930, 940, 950, 960, 970]);
  throttle.recordFailure('newcomer', 100);
  t.equal(throttle.check('k0', 100), 0, 'k0 (earliest end) was replaced');
  t.same([1, 2, 3, 4, 5, 6, 7].map((k) => throttle.check(`k${k}`, 100)), [910, 920, 930, 940, 950, 960, 970], 'the others stay');
  t.equal(throttle.stats().replaced, 1);
  t.equal(throttle.stats().used, 8);
  t.end();
});

t.test('an attacker in back-off survives a flood of fresh keys; forgotten entries go first', (t) => {
  const throttle = new LoginThrottle({ ...OPTS, entries: 8 });
  for (let i = 0; i < 20; i++) throttle.recordFailure('ip:attacker', 1000);
  for (let n = 0; n < 1000; n++) throttle.recordFailure(`user:flood${n}`, 2000 + n);
  t.equal(throttle.check('ip:attacker', 3000), 300 * SECOND - 2000, 'still throttled after 1000 distinct keys');

  const t2 = new LoginThrottle({ ...OPTS, entries: 8 });
  t2.recordFailure('stale', 0);
  for (let k = 0; k < 7; k++) for (let i = 0; i < 6; i++) t2.recordFailure(`busy${k}`, 3600 * SECOND);
  t2.recordFailure('fresh', 3600 * SECOND); // 'stale' is forgotten now, so it is taken without a replacement
  t.equal(t2.stats().replaced, 0);
  t.same([0, 1, 2, 3, 4, 5, 6].map((k) => t2.check(`busy${k}`, 3600 * SECOND)), Array(7).fill(2 * SECOND));
  t.end();
});

t.test('footprint: exact typed-array bytes, rounded to whole buckets', (t) => {
  const table: [number, number][] = [[8, 8], [9, 16], [1000, 1000], [1024, 1024], [1_048_576, 1_048_576]];
  for (const [entries, capacity] of table) {
    const throttle = new LoginThrottle({ ...OPTS, entries });
    t.equal(throttle.entries, capacity, `${entries} -> ${capacity} entries`);
    t.equal(throttleFootprintBytes(entries), capacity * 18, `${entries}: 18 bytes per entry`);
    t.equal(throttle.footprintBytes(), throttleFootprintBytes(entries), `${entries}: allocated equals computed`);
    t.equal(throttle.stats().footprintBytes, throttleFootprintBytes(entries));
  }
  t.equal(THROTTLE_WAYS, 8);
  t.end();
});

t.test('100k distinct keys do not grow memory', { skip: typeof globalThis.gc !== 'function' && 'needs --expose-gc' }, (t) => {
  const gc = globalThis.gc as () => void;
  const throttle = new LoginThrottle({ ...OPTS, entries: 1024 });
  for (let i = 0; i < 5_000; i++) throttle.recordFailure(`warm:${i}`, i);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) {
    throttle.recordFailure(`ip:198.51.${i >> 8}.${i & 255}:${i}`, 10_000 + i);
    throttle.check(`user:u${i}`, 10_000 + i);
  }
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  t.ok(growth < 512 * 1024, `heap growth ${growth} bytes (a Map of 100k keys would take megabytes)`);
  const s = throttle.stats();
  t.equal(s.used, 1024, 'every way in use, never more');
  t.equal(s.footprintBytes, throttleFootprintBytes(1024), 'footprint unchanged');
  t.ok(s.replaced >= 100_000 - 1024, 'older keys were replaced');
  t.end();
});

t.test('a fixed hash key gives the same placement; keys are not confused', (t) => {
  const hashKey = new Uint8Array(32).fill(7);
  const a = new LoginThrottle({ ...OPTS, entries: 64, hashKey });
  const b = new LoginThrottle({ ...OPTS, entries: 64, hashKey });
  for (let i = 0; i < 200; i++) {
    a.recordFailure(`k${i}`, i);
    b.recordFailure(`k${i}`, i);
  }
  const waits = (x: LoginThrottle) => Array.from({ length: 200 }, (_, i) => x.check(`k${i}`, 500));
  t.same(waits(a), waits(b), 'deterministic under the same key');
  t.same(a.stats(), b.stats());
  const c = new LoginThrottle({ ...OPTS, entries: 64 });
  for (let i = 0; i < 6; i++) c.recordFailure('ip:1', 0);
  t.equal(c.check('ip:1', 0), 2 * SECOND);
  t.equal(c.check('ip:1 ', 0), 0, 'a one-character difference is another key');
  t.equal(c.check('IP:1', 0), 0);
  t.end();
});
