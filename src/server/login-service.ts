/**
 * Password login policy: throttle first (cheap, before any hashing), then the bounded
 * hashing pool, then a verify that costs the same for unknown users as for known ones
 * whatever costs the users file holds (users/login-verify.ts). A successful login whose
 * stored hash is weaker than the profile's cost is upgraded in the background: one more
 * hash under the same bound, then at most one locked write, applied only if the user still
 * has the hash that was verified. Every outcome is one of a closed set, so routes, metrics
 * and logs cannot disagree.
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
import type { HashLimiter, LoginThrottle, ScryptCost, ScryptFunction, UsersStore } from '../users/index.js';
import { describeScryptCost, hashIsWeaker, hashPassword, loginHashShapes, MAX_USER_NAME_CHARS, parseScryptHash, upgradeUserHash, verifyLogin } from '../users/index.js';
import type { Logger } from '../web/index.js';

export type LoginOutcome =
  | { result: 'success'; user: string; role: Role; mustChangePassword: boolean }
  | { result: 'failure' }
  | { result: 'throttled'; retryAfterMs: number }
  | { result: 'busy'; retryAfterMs: number };

/** The login throttle counted in the shared-state engine (engine/shared-throttle.ts); undefined answers: decide locally. */
export interface SharedLoginThrottle {
  check(keys: readonly string[]): Promise<number | undefined>;
  recordFailure(addressKey: string, userKey: string, pairKey: string): Promise<boolean>;
  recordSuccess(userKey: string): Promise<boolean>;
}

export interface LoginServiceDeps {
  users: UsersStore;
  limiter: HashLimiter;
  throttle: LoginThrottle;
  cost: ScryptCost;
  clock: MonotonicClock;
  /** Retry-After for a busy hashing pool. */
  busyRetryAfterMs: number;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Tests: sees every scrypt computation a login makes (default node:crypto's). */
  scryptImpl?: ScryptFunction;
  /** The engine's counts, with --shared-state; the local table stays the fallback. */
  shared?: SharedLoginThrottle | undefined;
  /** With --shared-state: a password or removal of this user from another instance is not applied here yet. */
  userChangePending?: ((user: string) => boolean) | undefined;
  /** With --shared-state: resolves when such a change being applied has been. */
  userChangeApplied?: ((user: string) => Promise<void>) | undefined;
}

export interface AuthenticateOptions {
  /** Upgrade a weaker stored hash after success (default true; the password change route writes a new hash anyway). */
  upgradeHash?: boolean;
}

/** Resolves when `promise` settles or after `ms`, whichever is first. */
function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Re-verifications of one attempt against a hash that changed while it hashed (see `#settle`). */
const MAX_REVERIFICATIONS = 2;

export class LoginService {
  /** Users whose hash upgrade is in flight: concurrent logins of one user upgrade once. */
  readonly #upgrading = new Map<string, Promise<void>>();
  /** The stored hash each successful outcome verified (see `confirm`). */
  readonly #verified = new WeakMap<LoginOutcome, string>();
  /** Per user, the last hash upgrade made here (from → to): the same password, so still verified. */
  readonly #upgraded = new Map<string, { from: string; to: string }>();

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

  async authenticate(username: string, password: string, clientAddress: string, options: AuthenticateOptions = {}): Promise<LoginOutcome> {
    let wait = this.throttledFor(username, clientAddress);
    const shared = this.deps.shared;
    if (wait === 0 && shared !== undefined) wait = (await shared.check(this.throttleKeys(username, clientAddress))) ?? 0;
    if (wait > 0) return { result: 'throttled', retryAfterMs: wait };
    // One table for the whole attempt: the user and the shapes the attempt hashes agree.
    const db = this.deps.users.current();
    const user = username.length <= MAX_USER_NAME_CHARS ? db.get(username) : undefined;
    const shapes = loginHashShapes(db, this.deps.cost);
    let ok: boolean;
    try {
      ok = await this.deps.limiter.run(() => verifyLogin(password, user?.hash, shapes, this.deps.scryptImpl));
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
    // A password from another instance on its way into the file: verified against it once
    // it is there (bounded; `confirm` answers busy if it is still not).
    if (this.deps.userChangePending?.(user.name) === true && this.deps.userChangeApplied !== undefined) {
      await waitAtMost(this.deps.userChangeApplied(user.name), this.deps.busyRetryAfterMs);
    }
    // Last, after every wait on the engine: no await between this check and the outcome.
    let verifiedHash: string;
    try {
      const settled = await this.#settle(user.name, user.hash, password);
      if (settled === undefined) return { result: 'failure' };
      verifiedHash = settled;
    } catch (err) {
      if (err instanceof RingletError && err.code === 'ERR_HASHING_BUSY') return { result: 'busy', retryAfterMs: this.deps.busyRetryAfterMs };
      throw err;
    }
    if (options.upgradeHash !== false && hashIsWeaker(verifiedHash, this.deps.cost)) this.#upgrade(user.name, verifiedHash, password);
    const outcome: LoginOutcome = { result: 'success', user: user.name, role: user.role, mustChangePassword: user.mustChangePassword };
    this.#verified.set(outcome, verifiedHash);
    return outcome;
  }

  /**
   * The stored hash the password is verified against once hashing is over, or undefined
   * when it no longer is the user's password. The hash may have changed while the attempt
   * hashed: upgraded at login (here, or on another instance through the shared engine: the
   * same password under a new salt and cost) or set anew (a reset or another's change). Only
   * verifying against the new hash tells the two apart, so it does — at most
   * MAX_REVERIFICATIONS times, and only when the hash moved.
   */
  async #settle(name: string, verified: string, password: string): Promise<string | undefined> {
    let hash = verified;
    for (let round = 0; round <= MAX_REVERIFICATIONS; round++) {
      const now = this.deps.users.current().get(name);
      if (now === undefined) return undefined;
      if (now.hash === hash || this.#isOwnUpgrade(name, hash, now.hash)) return hash;
      if (round === MAX_REVERIFICATIONS) return undefined;
      const current = now.hash;
      if (!(await this.deps.limiter.run(() => verifyLogin(password, current, [], this.deps.scryptImpl)))) return undefined;
      hash = current;
    }
    return undefined;
  }

  /**
   * For a password change whose write found another hash than the one the current password
   * was verified against: the hash that password verifies against now (the same password
   * re-hashed meanwhile), or undefined (a new password: that change wins). Throws
   * ERR_HASHING_BUSY when the hashing bound is full.
   */
  reverify(name: string, verifiedHash: string, password: string): Promise<string | undefined> {
    return this.#settle(name, verifiedHash, password);
  }

  #isOwnUpgrade(name: string, from: string, to: string): boolean {
    const upgraded = this.#upgraded.get(name);
    return upgraded !== undefined && upgraded.from === from && upgraded.to === to;
  }

  /**
   * The outcome as the users table stands *now*. Hashing takes a while, and the user may
   * have been changed meanwhile — the password changed or reset (and every credential of
   * the old one revoked), the user removed, the role changed — so the caller confirms
   * right before it issues a session or token, with no `await` in between: a password that
   * is no longer the user's, or a user who is gone, is a failure; a role or must-change
   * flag that changed is taken as it is now. A revocation made before the issue then
   * covers nothing this login hands out, since it hands out nothing for the old password.
   */
  confirm(outcome: LoginOutcome): LoginOutcome {
    if (outcome.result !== 'success') return outcome;
    // Another instance set a new password (and revoked the old one's credentials) that is
    // still on its way into this file: nothing is issued for the old one meanwhile.
    if (this.deps.userChangePending?.(outcome.user) === true) return { result: 'busy', retryAfterMs: this.deps.busyRetryAfterMs };
    const verified = this.#verified.get(outcome);
    const record = this.deps.users.current().get(outcome.user);
    if (verified === undefined || record === undefined) return { result: 'failure' };
    if (record.hash !== verified && !this.#isOwnUpgrade(outcome.user, verified, record.hash)) return { result: 'failure' };
    const confirmed: LoginOutcome = { result: 'success', user: record.name, role: record.role, mustChangePassword: record.mustChangePassword };
    this.#verified.set(confirmed, record.hash);
    return confirmed;
  }

  /** Resolves when every hash upgrade started so far has finished (tests, shutdown). */
  async upgradesSettled(): Promise<void> {
    while (this.#upgrading.size > 0) await Promise.all(this.#upgrading.values());
  }

  /**
   * Rehash the password just verified at the profile's cost, after the answer (the login
   * does not wait), under the same hashing bound; then one locked write that applies only
   * if `verifiedHash` is still the user's. Never fails the login: a busy pool, a locked or
   * damaged file only postpone the upgrade to a later login.
   */
  #upgrade(user: string, verifiedHash: string, password: string): void {
    if (this.#upgrading.has(user)) return;
    const from = describeScryptCost(parseScryptHash(verifiedHash).cost);
    const task = (async () => {
      try {
        const hash = await this.deps.limiter.run(() => hashPassword(password, this.deps.cost));
        // Known before the write: the store shows the new hash before update() resolves, and
        // a login confirming in between must take it for the same password. A fresh salt
        // makes `hash` unique, so the entry vouches for nothing if the write never lands.
        this.#upgraded.set(user, { from: verifiedHash, to: hash });
        const after = await this.deps.users.update((db) => upgradeUserHash(db, user, verifiedHash, hash));
        if (after.get(user)?.hash === hash) {
          this.deps.log?.info('password_hash_upgraded', { user, from, to: describeScryptCost(this.deps.cost) });
        }
      } catch (err) {
        const reason = err instanceof RingletError ? err.code : err instanceof Error ? err.name : 'error';
        this.deps.log?.warn('password_hash_upgrade_postponed', { user, reason });
      } finally {
        this.#upgrading.delete(user);
      }
    })();
    this.#upgrading.set(user, task);
  }
}
