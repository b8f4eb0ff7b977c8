/**
 * A bound on password hashes computed at once (README, "Floods", hashing is bounded: each scrypt
 * holds `128 * N * r` bytes; on a 64 MB device four concurrent logins must not kill the
 * process). Beyond the bound a caller waits briefly in a fixed-size FIFO ring; when the
 * ring is full, or the wait would exceed `maxWaitMs`, it gets RingletError `ERR_HASHING_BUSY`
 * and the server answers 503 with Retry-After.
 *
 * Note on Node's thread pool: `crypto.scrypt` runs on libuv's pool (UV_THREADPOOL_SIZE,
 * 4 by default), shared with file system and DNS work. Keep `maxConcurrent` below the
 * pool size so a login burst cannot stall a users-file write.
 */
import { ConfigError, RingletError } from '../errors.js';
import type { MonotonicClock } from '../util/clock.js';
import { systemMonotonicClock } from '../util/clock.js';
import { MAX_TIMER_MS } from '../util/durations.js';
import { integerOption } from '../util/options.js';

/** Upper bounds for the options: beyond these the bound is no longer a bound on a device. */
export const MAX_HASH_CONCURRENCY = 64;
export const MAX_HASH_QUEUE = 65_536;

export interface HashLimiterOptions {
  /** Hashes running at once, 1..64. */
  maxConcurrent: number;
  /** Callers that may wait for a slot, 0..65536 (0: refuse at once when all slots are busy). */
  maxQueued: number;
  /** Longest wait for a slot, 0..2^31-1 ms (0: never wait). */
  maxWaitMs: number;
  /** Monotonic clock for deadlines (injectable for tests). */
  clock?: MonotonicClock;
}

export interface HashLimiterStats {
  inFlight: number;
  queued: number;
  /** Callers refused with ERR_HASHING_BUSY, queue full and timed out together. */
  rejected: number;
  /** Of `rejected`, those that waited and timed out. */
  timedOut: number;
  /** Highest `inFlight` seen. */
  peakInFlight: number;
  /** Runs that finished (resolved or rejected by their own work). */
  completed: number;
}

interface Waiter {
  start: () => void;
  fail: (err: RingletError) => void;
}

function busy(reason: string): RingletError {
  return new RingletError('ERR_HASHING_BUSY', `password hashing busy: ${reason}`);
}

/**
 * Runs async work with at most `maxConcurrent` in flight, FIFO, bounded waiting.
 *
 * @example
 * const limiter = new HashLimiter({ maxConcurrent: 2, maxQueued: 8, maxWaitMs: 2000 });
 * try { ok = await limiter.run(() => verifyPassword(pw, hash)); }
 * catch (e) { if (e instanceof RingletError && e.code === 'ERR_HASHING_BUSY') reply503(); else throw e; }
 */
export class HashLimiter {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly maxWaitMs: number;
  readonly #clock: MonotonicClock;
  // The queue: a ring of fixed size, allocated once (memory does not follow load).
  readonly #waiters: (Waiter | undefined)[];
  readonly #deadlines: Float64Array;
  #head = 0;
  #count = 0;
  #inFlight = 0;
  #peakInFlight = 0;
  #rejected = 0;
  #timedOut = 0;
  #completed = 0;
  // One timer for the whole queue, armed for the head's deadline: every waiter waits
  // the same maxWaitMs, so FIFO order is deadline order.
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HashLimiterOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object');
    this.maxConcurrent = integerOption(options.maxConcurrent, 'maxConcurrent', 1, MAX_HASH_CONCURRENCY);
    this.maxQueued = integerOption(options.maxQueued, 'maxQueued', 0, MAX_HASH_QUEUE);
    this.maxWaitMs = integerOption(options.maxWaitMs, 'maxWaitMs', 0, MAX_TIMER_MS);
    this.#clock = options.clock ?? systemMonotonicClock;
    this.#waiters = new Array<Waiter | undefined>(this.maxQueued).fill(undefined);
    this.#deadlines = new Float64Array(this.maxQueued);
  }

  /**
   * Run `fn` when a slot is free. Resolves or rejects with `fn`'s own result; rejects
   * with RingletError `ERR_HASHING_BUSY` (without calling `fn`) when the queue is full or no
   * slot frees within `maxWaitMs`.
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#inFlight++;
        if (this.#inFlight > this.#peakInFlight) this.#peakInFlight = this.#inFlight;
        let work: Promise<T>;
        try {
          work = fn();
        } catch (err) {
          work = Promise.reject(err);
        }
        // The slot is released before the caller hears back, so a caller that awaits one
        // run and starts another finds the slot free.
        work.then(
          (value) => {
            this.#release();
            resolve(value);
          },
          (err: unknown) => {
            this.#release();
            reject(err);
          },
        );
      };
      if (this.#inFlight < this.maxConcurrent && this.#count === 0) {
        start();
        return;
      }
      if (this.#count >= this.maxQueued || this.maxWaitMs === 0) {
        this.#rejected++;
        reject(busy('queue full'));
        return;
      }
      const tail = (this.#head + this.#count) % this.maxQueued;
      this.#waiters[tail] = { start, fail: reject };
      this.#deadlines[tail] = this.#clock.now() + this.maxWaitMs;
      this.#count++;
      if (this.#timer === undefined) this.#arm();
    });
  }

  /** Counters for metrics. */
  stats(): HashLimiterStats {
    return {
      inFlight: this.#inFlight,
      queued: this.#count,
      rejected: this.#rejected,
      timedOut: this.#timedOut,
      peakInFlight: this.#peakInFlight,
      completed: this.#completed,
    };
  }

  #release(): void {
    this.#inFlight--;
    this.#completed++;
    this.#drain();
  }

  #shift(): Waiter {
    const waiter = this.#waiters[this.#head] as Waiter;
    this.#waiters[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.maxQueued;
    this.#count--;
    return waiter;
  }

  /** Refuse every waiter whose deadline has passed (they are all at the head). */
  #expire(): void {
    const now = this.#clock.now();
    while (this.#count > 0 && (this.#deadlines[this.#head] as number) <= now) {
      this.#rejected++;
      this.#timedOut++;
      this.#shift().fail(busy('waited too long for a slot'));
    }
  }

  #drain(): void {
    this.#expire();
    while (this.#count > 0 && this.#inFlight < this.maxConcurrent) this.#shift().start();
    this.#rearm();
  }

  #rearm(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#count > 0) this.#arm();
  }

  #arm(): void {
    const delayMs = Math.max(1, Math.min(MAX_TIMER_MS, (this.#deadlines[this.#head] as number) - this.#clock.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
      if (this.#count > 0) this.#arm();
    }, delayMs);
    // Not unref()'d: a waiting caller is owed an answer, and the timer lives at most maxWaitMs.
  }
}
