/**
 * When each user last signed in, for the users page: known since this process started (the
 * users file keeps no such field, and writing it on every login would wear a router's flash).
 *
 * Timed on the monotonic clock, like sessions: a wall-clock jump (NTP syncing a device that
 * booted at 1970) does not make a sign-in an hour old look fifty years old. Bounded: one
 * entry per user the file may hold, and an entry goes with its user.
 */
import type { MonotonicClock } from '../util/clock.js';

export class LastSignIns {
  readonly #clock: MonotonicClock;
  readonly #maxEntries: number;
  /** user → monotonic ms; Map order is insertion order, refreshed on every sign-in (oldest first). */
  readonly #at = new Map<string, number>();

  constructor(clock: MonotonicClock, maxEntries: number) {
    this.#clock = clock;
    this.#maxEntries = maxEntries;
  }

  /** A successful sign-in of `user`, now. */
  record(user: string): void {
    this.#at.delete(user);
    this.#at.set(user, this.#clock.now());
    // More entries than users can exist only if the file shrank without forget(): drop the oldest.
    if (this.#at.size > this.#maxEntries) {
      const oldest = this.#at.keys().next().value;
      if (oldest !== undefined) this.#at.delete(oldest);
    }
  }

  /** How long ago `user` last signed in (ms), or undefined when not since start. */
  agoMs(user: string): number | undefined {
    const at = this.#at.get(user);
    return at === undefined ? undefined : Math.max(0, this.#clock.now() - at);
  }

  /** A removed user's entry goes with them (a new user of the same name never signed in). */
  forget(user: string): void {
    this.#at.delete(user);
  }

  get size(): number {
    return this.#at.size;
  }
}
