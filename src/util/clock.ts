/**
 * Clocks are injected everywhere time matters, so tests can boot "in 1970" and jump
 * (test/support/clock.ts has the hand-driven clock they use).
 *
 * - A monotonic clock (`MonotonicClock`) drives RAM-store expiry: it never jumps when NTP
 *   syncs on a router that booted without a real-time clock.
 * - A wall clock (`WallClock`) is only used for claims other parties read (`iat`, `exp`).
 */
import { performance } from 'node:perf_hooks';

/** Milliseconds on a clock that never goes backwards and ignores wall-clock changes. */
export interface MonotonicClock {
  now(): number;
}

/** Milliseconds since the Unix epoch, as the system believes it (may be wrong or jump). */
export interface WallClock {
  now(): number;
}

export const systemMonotonicClock: MonotonicClock = {
  now: () => performance.now(),
};

export const systemWallClock: WallClock = {
  now: () => Date.now(),
};
