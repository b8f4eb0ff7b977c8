/** Test clocks: time moves only when a test says so. */
import type { MonotonicClock, WallClock } from '../../src/util/clock.js';

/** A hand-driven clock for tests: starts at `startMs`, moves only when told. */
export class ManualClock implements MonotonicClock, WallClock {
  private current: number;

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(ms: number): void {
    this.current = ms;
  }
}
