/**
 * Password login policy: throttle first (cheap, before any hashing), then the bounded
 * hashing pool, then a verify that costs the same for unknown users as for known ones.
 * Every outcome is one of a closed set, so routes, metrics and logs cannot disagree.
 *
 * With shared state (`--shared-state`), failures are also counted in the engine, so several
 * instances allow together what one would: an attempt goes ahead only when the local table
 * and the engine both allow it, and every failure is recorded in both. The engine is asked
 * with a bounded wait; without an answer in time the local table decides alone.
 */
import { RingletError } from '../errors.js';
import type { MonotonicClock } from '../util/clock.js';
import { addressKey } from '../util/address-key.js';
import type { Role } from '../access/roles.js';
import type { HashLimiter, LoginThrottle, ScryptCost, UsersDb } from '../users/index.js';
import { dummyVerify, verifyPassword } from '../users/index.js';

export type LoginOutcome =
  | { result: 'success'; user: string; role: Role; mustChangePassword: boolean }
  | { result: 'failure' }
  | { result: 'throttled'; retryAfterMs: number }
  | { result: 'busy'; retryAfterMs: number };

/** Bounds on what is hashed at all: longer input is refused before any work. */
export const MAX_USERNAME_CHARS = 64;
export const MAX_PASSWORD_BYTES = 1024;

/** The login throttle counted in the shared-state engine (engine/shared-throttle.ts); undefined answers: decide locally. */
export interface SharedLoginThrottle {
  check(keys: readonly string[]): Promise<number | undefined>;
  recordFailure(addressKey: string, userKey: string, pairKey: string): Promise<boolean>;
  recordSuccess(userKey: string): Promise<boolean>;
}

export interface LoginServiceDeps {
  users: () => UsersDb;
  limiter: HashLimiter;
  throttle: LoginThrottle;
  cost: ScryptCost;
  clock: MonotonicClock;
  /** Retry-After for a busy hashing pool. */
  busyRetryAfterMs: number;
  /** The engine's counts, with --shared-state; the local table stays the fallback. */
  shared?: SharedLoginThrottle | undefined;
}

export class LoginService {
  constructor(private readonly deps: LoginServiceDeps) {}

  private throttleKeys(username: string, clientAddress: string): [string, string] {
    return [`ip:${addressKey(clientAddress)}`, `user:${username.toLowerCase()}`];
  }

  /** The wait (ms) before this address or user may try again; 0 when allowed. */
  throttledFor(username: string, clientAddress: string): number {
    const now = this.deps.clock.now();
    const [ipKey, userKey] = this.throttleKeys(username, clientAddress);
    return Math.max(this.deps.throttle.check(ipKey, now), this.deps.throttle.check(userKey, now));
  }

  async authenticate(username: string, password: string, clientAddress: string): Promise<LoginOutcome> {
    let wait = this.throttledFor(username, clientAddress);
    const shared = this.deps.shared;
    if (wait === 0 && shared !== undefined) wait = (await shared.check(this.throttleKeys(username, clientAddress))) ?? 0;
    if (wait > 0) return { result: 'throttled', retryAfterMs: wait };
    const user = username.length <= MAX_USERNAME_CHARS ? this.deps.users().get(username) : undefined;
    let ok: boolean;
    try {
      ok = await this.deps.limiter.run(() =>
        user !== undefined ? verifyPassword(password, user.hash) : dummyVerify(password, this.deps.cost).then(() => false),
      );
    } catch (err) {
      if (err instanceof RingletError && err.code === 'ERR_HASHING_BUSY') return { result: 'busy', retryAfterMs: this.deps.busyRetryAfterMs };
      throw err;
    }
    const [ipKey, userKey] = this.throttleKeys(username, clientAddress);
    const now = this.deps.clock.now();
    if (!ok || user === undefined) {
      this.deps.throttle.recordFailure(ipKey, now);
      // The per-user key counts addresses, not attempts: one address (already held back by
      // its own key) must not be able to lock the account's owner out; a distributed attack
      // on one name still backs that name off.
      const pairKey = `pair:${addressKey(clientAddress)}|${username.toLowerCase()}`;
      if (this.deps.throttle.failures(pairKey, now) === 0) this.deps.throttle.recordFailure(userKey, now);
      this.deps.throttle.recordFailure(pairKey, now);
      // Answered after the engine counted it (bounded): the next guess, on any instance, sees it.
      await shared?.recordFailure(ipKey, userKey, pairKey);
      return { result: 'failure' };
    }
    // Only the user's counter resets: an attacker holding one valid account must not be
    // able to wipe their address's failures by logging into it between guesses.
    this.deps.throttle.recordSuccess(userKey);
    await shared?.recordSuccess(userKey);
    return { result: 'success', user: user.name, role: user.role, mustChangePassword: user.mustChangePassword };
  }
}
