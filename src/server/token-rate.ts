/**
 * `POST /token` per user: a token bucket of `tokenMintsPerUserPerMinute`, refilled evenly
 * over a minute. A live cookie session mints without hashing a password, and every minted
 * token a user revokes takes room in the revocation tables: this bounds both. Checked after
 * authentication (a wrong password must not spend the real user's allowance), for the
 * password grant and the session grant alike.
 *
 * The table is bounded (TOKEN_RATE_USERS): keys are authenticated user names, so it only
 * fills when that many users mint at once; then a user whose bucket is full again goes
 * first (nothing is lost), else the least recently used one (who gets one fresh burst).
 */
import type { MonotonicClock } from '../util/clock.js';
import { MINUTE_MS } from '../util/durations.js';

export const TOKEN_RATE_WINDOW_MS = MINUTE_MS;
/** Users whose allowance is tracked at once. */
export const TOKEN_RATE_USERS = 64;

interface Bucket {
  tokens: number;
  atMs: number;
}

export type TokenRateVerdict = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenRate {
  readonly #perWindow: number;
  readonly #clock: MonotonicClock;
  readonly #buckets = new Map<string, Bucket>();
  refused = 0;

  constructor(perMinute: number, clock: MonotonicClock) {
    this.#perWindow = perMinute;
    this.#clock = clock;
  }

  #refill(b: Bucket, now: number): void {
    b.tokens = Math.min(this.#perWindow, b.tokens + ((now - b.atMs) * this.#perWindow) / TOKEN_RATE_WINDOW_MS);
    b.atMs = now;
  }

  /** Spends one mint of `user`'s allowance, or says how long until one is back. */
  take(user: string): TokenRateVerdict {
    const now = this.#clock.now();
    let b = this.#buckets.get(user);
    if (b === undefined) {
      this.#makeRoom(now);
      b = { tokens: this.#perWindow, atMs: now };
    } else {
      this.#refill(b, now);
      this.#buckets.delete(user); // re-inserted below: Map order is least recently used first
    }
    this.#buckets.set(user, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    this.refused++;
    return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * TOKEN_RATE_WINDOW_MS) / this.#perWindow) };
  }

  #makeRoom(now: number): void {
    if (this.#buckets.size < TOKEN_RATE_USERS) return;
    for (const [user, b] of this.#buckets) {
      this.#refill(b, now);
      if (b.tokens >= this.#perWindow) this.#buckets.delete(user);
    }
    if (this.#buckets.size >= TOKEN_RATE_USERS) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
  }
}
