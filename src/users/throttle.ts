/**
 * Failed-login throttle in a fixed-size table (README, "Floods": 429 +
 * Retry-After, growing back-off, per client address and per user name).
 *
 * Policy, for a key with `f` recent failures (none older than `forgetAfterMs` apart):
 *   wait(f) = 0                                             when f < freeAttempts
 *           = min(maxDelayMs, baseDelayMs * 2^(f - freeAttempts))  otherwise
 * counted from the last failure. With 5 free attempts, 1 s base and a 300 s cap:
 * failures 1-4 wait 0, the 5th 1 s, then 2, 4, 8, ... 256, 300, 300 s. There is no
 * permanent lockout: the wait is capped, and a key with no failure for `forgetAfterMs`
 * starts afresh. A success clears the key.
 *
 * Layout: `entries` rounded up to whole buckets of 8 ways (set-associative, like a CPU
 * cache): a key maps to one bucket and lives in one of its 8 ways, so every operation
 * looks at 8 slots at most. Per way: a 64-bit fingerprint (two Uint32Array), a saturating
 * Uint16Array failure count and a Float64Array last-failure time. Allocated once.
 *
 * Keys are hashed with HMAC-SHA256 under a random per-instance key: bucket from bytes
 * 0-3, fingerprint from bytes 4-11. An attacker cannot aim keys at one bucket without
 * the key. Two distinct keys with the same bucket and fingerprint would share an entry
 * (about 2^-64 per pair: a documented, negligible false sharing).
 *
 * Trade-off when a bucket is full: a new key replaces the way whose back-off ends
 * soonest (an empty or forgotten way first, then the one with the earliest
 * `lastFailure + wait`). Keys still in back-off are therefore the last to go, but a flood
 * of distinct keys that are themselves in back-off can push out an attacker's entry.
 * That is why the server checks both the per-address key and the per-user key: flooding
 * one out does not clear the other, and the per-user key of a targeted account keeps
 * being refreshed by the attack itself.
 */
import { createHmac } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { MonotonicClock } from '../util/clock.js';
import { systemMonotonicClock } from '../util/clock.js';
import { randomBytesPooled } from '../util/random-pool.js';
import { MAX_TIMER_MS } from '../util/durations.js';
import { integerOption } from '../util/options.js';

/** Ways per bucket: every operation inspects at most this many entries. */
export const THROTTLE_WAYS = 8;
/** Failure counts saturate here (the wait is capped long before). */
const MAX_FAILURES = 0xffff;
/** Bytes per entry: fingerprint 4 + 4, failures 2, last failure 8. */
const ENTRY_BYTES = 4 + 4 + 2 + 8;
/** Table sizes: one bucket at least; at most 2^20 entries (18 MiB). */
export const MIN_THROTTLE_ENTRIES = THROTTLE_WAYS;
export const MAX_THROTTLE_ENTRIES = 1_048_576;
/** Failures before back-off starts: more than 100 free guesses is no throttle. */
export const MAX_FREE_ATTEMPTS = 100;

export interface LoginThrottleOptions {
  /** Table size, 8..1048576, rounded up to a multiple of 8. */
  entries: number;
  /** Failures before back-off starts, 1..100. */
  freeAttempts: number;
  /** First wait, 1..2^31-1 ms; doubles per further failure. */
  baseDelayMs: number;
  /** Longest wait, baseDelayMs..2^31-1 ms. */
  maxDelayMs: number;
  /** A key with no failure for this long is forgotten, maxDelayMs..2^31-1 ms. */
  forgetAfterMs: number;
  /** Used when a call omits `nowMs`. Monotonic milliseconds. */
  clock?: MonotonicClock;
  /** HMAC key for hashing keys (tests only; default 32 random bytes). */
  hashKey?: Uint8Array;
}

export interface LoginThrottleStats {
  /** Capacity in entries (after rounding). */
  entries: number;
  /** Entries holding a key (some may be past forgetAfterMs, reused lazily). */
  used: number;
  failuresRecorded: number;
  /** `check` calls that answered with a wait. */
  throttled: number;
  /** Live entries pushed out by a new key (a full bucket). */
  replaced: number;
  footprintBytes: number;
}

function capacityFor(entries: number): number {
  return Math.ceil(entries / THROTTLE_WAYS) * THROTTLE_WAYS;
}

/**
 * Exact bytes of typed arrays a {@link LoginThrottle} with this `entries` allocates
 * (18 per entry after rounding up to a multiple of 8).
 */
export function throttleFootprintBytes(entries: number): number {
  return capacityFor(entries) * ENTRY_BYTES;
}

/**
 * Fixed-size failed-login counters keyed by strings such as `ip:<addr>` and
 * `user:<name>`. Every operation is O(1): one HMAC and at most 8 slots.
 *
 * @example
 * const throttle = new LoginThrottle({ entries: 1024, freeAttempts: 5, baseDelayMs: 1000,
 *   maxDelayMs: 300_000, forgetAfterMs: 3_600_000 });
 * const waitMs = Math.max(throttle.check(`ip:${addr}`, now), throttle.check(`user:${name}`, now));
 * if (waitMs > 0) reply429(Math.ceil(waitMs / 1000));
 */
export class LoginThrottle {
  readonly entries: number;
  readonly freeAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly forgetAfterMs: number;
  readonly #buckets: number;
  readonly #clock: MonotonicClock;
  readonly #hashKey: Buffer;
  readonly #fpHi: Uint32Array;
  readonly #fpLo: Uint32Array;
  /** 0 = empty way. */
  readonly #failures: Uint16Array;
  readonly #lastFailureMs: Float64Array;
  // Set by #find: bucket base index and fingerprint of the last key looked up.
  #base = 0;
  #hi = 0;
  #lo = 0;
  #used = 0;
  #failuresRecorded = 0;
  #throttled = 0;
  #replaced = 0;

  constructor(options: LoginThrottleOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object');
    const entries = integerOption(options.entries, 'entries', MIN_THROTTLE_ENTRIES, MAX_THROTTLE_ENTRIES);
    this.freeAttempts = integerOption(options.freeAttempts, 'freeAttempts', 1, MAX_FREE_ATTEMPTS);
    this.baseDelayMs = integerOption(options.baseDelayMs, 'baseDelayMs', 1, MAX_TIMER_MS);
    this.maxDelayMs = integerOption(options.maxDelayMs, 'maxDelayMs', this.baseDelayMs, MAX_TIMER_MS);
    // Forgetting a key before its wait is over would make the cap unreachable.
    this.forgetAfterMs = integerOption(options.forgetAfterMs, 'forgetAfterMs', this.maxDelayMs, MAX_TIMER_MS);
    this.#clock = options.clock ?? systemMonotonicClock;
    if (options.hashKey !== undefined && options.hashKey.length < 16) throw new ConfigError('hashKey', 'must be at least 16 bytes');
    this.#hashKey = options.hashKey !== undefined ? Buffer.from(options.hashKey) : randomBytesPooled(32);
    this.entries = capacityFor(entries);
    this.#buckets = this.entries / THROTTLE_WAYS;
    this.#fpHi = new Uint32Array(this.entries);
    this.#fpLo = new Uint32Array(this.entries);
    this.#failures = new Uint16Array(this.entries);
    this.#lastFailureMs = new Float64Array(this.entries);
  }

  /** The wait after `failures` failures, per the policy in the module comment. */
  delayAfter(failures: number): number {
    if (failures < this.freeAttempts) return 0;
    const doublings = failures - this.freeAttempts;
    // 2^31 already exceeds any allowed maxDelayMs; avoid computing huge powers.
    if (doublings >= 31) return this.maxDelayMs;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** doublings);
  }

  /** Way index holding `key`, or -1. Leaves the bucket and fingerprint in #base/#hi/#lo. */
  #find(key: string): number {
    const digest = createHmac('sha256', this.#hashKey).update(key, 'utf8').digest();
    this.#base = (digest.readUInt32BE(0) % this.#buckets) * THROTTLE_WAYS;
    this.#hi = digest.readUInt32BE(4);
    this.#lo = digest.readUInt32BE(8);
    for (let i = this.#base; i < this.#base + THROTTLE_WAYS; i++) {
      if (this.#failures[i] !== 0 && this.#fpHi[i] === this.#hi && this.#fpLo[i] === this.#lo) return i;
    }
    return -1;
  }

  #forgotten(i: number, nowMs: number): boolean {
    return nowMs - (this.#lastFailureMs[i] as number) >= this.forgetAfterMs;
  }

  #clear(i: number): void {
    if (this.#failures[i] !== 0) this.#used--;
    this.#failures[i] = 0;
    this.#fpHi[i] = 0;
    this.#fpLo[i] = 0;
    this.#lastFailureMs[i] = 0;
  }

  /**
   * 0 when `key` may try now, otherwise the milliseconds to wait (for Retry-After).
   * Cheap: call it before any password hashing.
   */
  check(key: string, nowMs: number = this.#clock.now()): number {
    const i = this.#find(key);
    if (i < 0) return 0;
    if (this.#forgotten(i, nowMs)) {
      this.#clear(i);
      return 0;
    }
    const elapsed = Math.max(0, nowMs - (this.#lastFailureMs[i] as number));
    const wait = Math.max(0, this.delayAfter(this.#failures[i] as number) - elapsed);
    if (wait > 0) this.#throttled++;
    return wait;
  }

  /** Failures currently counted for `key`: 0 when it has none or they were forgotten. */
  failures(key: string, nowMs: number = this.#clock.now()): number {
    const i = this.#find(key);
    if (i < 0 || this.#forgotten(i, nowMs)) return 0;
    return this.#failures[i] as number;
  }

  /** Count a failed login for `key` at `nowMs`. */
  recordFailure(key: string, nowMs: number = this.#clock.now()): void {
    this.#failuresRecorded++;
    let i = this.#find(key);
    if (i >= 0 && this.#forgotten(i, nowMs)) this.#clear(i);
    else if (i >= 0) {
      this.#failures[i] = Math.min(MAX_FAILURES, (this.#failures[i] as number) + 1);
      this.#lastFailureMs[i] = nowMs;
      return;
    }
    i = this.#victim(nowMs);
    if (this.#failures[i] === 0) this.#used++;
    this.#fpHi[i] = this.#hi;
    this.#fpLo[i] = this.#lo;
    this.#failures[i] = 1;
    this.#lastFailureMs[i] = nowMs;
  }

  /** A successful login: forget `key`'s failures. */
  recordSuccess(key: string): void {
    const i = this.#find(key);
    if (i >= 0) this.#clear(i);
  }

  /** The way in #base's bucket a new key takes: empty, else forgotten, else the one whose back-off ends first. */
  #victim(nowMs: number): number {
    let best = this.#base;
    let bestEnds = Infinity;
    for (let i = this.#base; i < this.#base + THROTTLE_WAYS; i++) {
      const failures = this.#failures[i] as number;
      if (failures === 0) return i;
      if (this.#forgotten(i, nowMs)) {
        this.#clear(i);
        return i;
      }
      const ends = (this.#lastFailureMs[i] as number) + this.delayAfter(failures);
      if (ends < bestEnds) {
        bestEnds = ends;
        best = i;
      }
    }
    this.#replaced++;
    return best;
  }

  /** Bytes held by the table's typed arrays (equals {@link throttleFootprintBytes}). */
  footprintBytes(): number {
    return this.#fpHi.byteLength + this.#fpLo.byteLength + this.#failures.byteLength + this.#lastFailureMs.byteLength;
  }

  stats(): LoginThrottleStats {
    return {
      entries: this.entries,
      used: this.#used,
      failuresRecorded: this.#failuresRecorded,
      throttled: this.#throttled,
      replaced: this.#replaced,
      footprintBytes: this.footprintBytes(),
    };
  }
}
