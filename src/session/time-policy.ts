/**
 * The untrusted-wall-clock rule (README, "Cookie mode, bearer tokens and keys", Untrusted wall clocks).
 *
 * Routers boot at 1970 (no RTC) and jump when NTP syncs. ringlet therefore times every
 * session on the monotonic clock of the running process (its "boot"), and writes wall-clock
 * `iat`/`exp` into tokens only for the benefit of other instances and standard JOSE tools:
 *
 * - A token carries `bid` (this process's random boot id) and monotonic times. When `bid`
 *   matches, idle and absolute limits are checked on the monotonic clock: wall-clock jumps
 *   of any size (+50 years, −1 hour) change nothing.
 * - A token from another boot (a restart, another node) is checked on the wall clock with a
 *   small leeway — but only if the wall clock is trusted now AND was trusted when the token
 *   was minted (claim `wt`). Otherwise it is rejected: it cannot be timed safely.
 * - The wall clock is trusted when it reads at or after `trustedFloorMs` (the build date):
 *   a device that booted "in 1970" mints boot-bound tokens that die with the process.
 */
import { randomBytesPooled } from '../util/random-pool.js';
import type { MonotonicClock, WallClock } from '../util/clock.js';

/** 2026-11-01T00:00:00Z: no correct clock reads earlier than this release. */
export const DEFAULT_TRUSTED_FLOOR_MS = Date.UTC(2026, 10, 1);

export interface SessionClocks {
  monotonic: MonotonicClock;
  wall: WallClock;
  trustedFloorMs: number;
  /** Random per process: tokens minted here can be timed on this process's monotonic clock. */
  bootId: string;
  /**
   * The highest trusted wall time this boot has put into a credential (0 before the first).
   * A revocation is recorded no earlier than it, so a wall clock that ran ahead and was set
   * back cannot make a credential minted meanwhile look newer than the revocation.
   */
  mintedWallHighMs: number;
}

export function createSessionClocks(
  monotonic: MonotonicClock,
  wall: WallClock,
  trustedFloorMs = DEFAULT_TRUSTED_FLOOR_MS,
  bootId = randomBytesPooled(9).toString('base64url'),
): SessionClocks {
  return { monotonic, wall, trustedFloorMs, bootId, mintedWallHighMs: 0 };
}

export function wallClockTrusted(clocks: SessionClocks): boolean {
  return clocks.wall.now() >= clocks.trustedFloorMs;
}
