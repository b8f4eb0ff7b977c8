/**
 * Store options: validated once, at construction (README, "Architecture"). Every limit is a
 * named constant saying what it bounds; anything outside is a ConfigError naming the field
 * and the allowed range, so an unbounded or absurd store never starts. These are the
 * store's own hard bounds, for a library caller who builds a store directly; the
 * device-profile schema (config/profile-schema.ts) declares its fields' ranges with these
 * same constants.
 */
import { ConfigError } from '../errors.js';
import { systemMonotonicClock } from '../util/clock.js';
import type { MonotonicClock } from '../util/clock.js';
import { HOUR_MS, MAX_CREDENTIAL_LIFETIME_MS, MINUTE_MS } from '../util/durations.js';
import { describeGiven, integerOption } from '../util/options.js';

/** Most slots a store may have: an appliance bound (2^20). */
export const MAX_CAPACITY = 1_048_576;
/** Largest per-slot data area (UTF-8 JSON). */
export const MAX_SLOT_BYTES = 65_536;
/** Longest idle or absolute timeout: the longest any credential lives (400 days). */
export const MAX_TIMEOUT_MS = MAX_CREDENTIAL_LIFETIME_MS;
/** Largest total allocation: a store bigger than 1 GiB is not an appliance session table. */
export const MAX_STORE_BYTES = 1024 * 1024 * 1024;

export const DEFAULT_SLOT_BYTES = 256;
export const DEFAULT_IDLE_TIMEOUT_MS = 15 * MINUTE_MS;
export const DEFAULT_ABSOLUTE_TIMEOUT_MS = 12 * HOUR_MS;

/** A snapshot to load at construction (see `SessionStore.restoreSnapshot`). */
export interface RestoreFrom {
  snapshot: Uint8Array;
  /** Downtime between `writeSnapshot()` and this start, added to every session's age. */
  elapsedMs: number;
}

/** Options for `createStore`. Only `capacity` is required. */
export interface StoreOptions {
  /** Number of session slots (1 to 1 048 576). When full, create evicts the LRU session. */
  capacity: number;
  /** Bytes of UTF-8 JSON session data per slot (0 to 65 536; default 256). */
  slotBytes?: number;
  /** A session unused this long expires (1 ms to 400 days; default 15 min). */
  idleTimeoutMs?: number;
  /** A session expires this long after creation, however active (1 ms to 400 days; default 12 h). */
  absoluteTimeoutMs?: number;
  /** A user creating one more session loses their own LRU session (1 to capacity; default capacity). */
  maxSessionsPerUser?: number;
  /** Distinct users with live sessions at once (1 to capacity; default capacity, which can never fill). */
  maxUsers?: number;
  /** Monotonic milliseconds; default `performance.now()`. Times may be fractional. */
  clock?: MonotonicClock;
  /** Load this snapshot at construction; throws `SnapshotError` when it does not fit. */
  restoreFrom?: RestoreFrom;
}

/** Every option checked and given (a snapshot to restore is loaded once, not kept). */
export type ResolvedStoreOptions = Required<Omit<StoreOptions, 'restoreFrom'>>;

/**
 * Check every option once and fill in defaults.
 *
 * @throws ConfigError naming the field and the allowed range.
 */
export function resolveStoreOptions(options: StoreOptions): ResolvedStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options', 'must be an object with at least { capacity }');
  }
  const capacity = integerOption(options.capacity, 'capacity', 1, MAX_CAPACITY);
  const slotBytes = integerOption(options.slotBytes ?? DEFAULT_SLOT_BYTES, 'slotBytes', 0, MAX_SLOT_BYTES);
  const idleTimeoutMs = integerOption(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeoutMs', 1, MAX_TIMEOUT_MS);
  const absoluteTimeoutMs = integerOption(options.absoluteTimeoutMs ?? DEFAULT_ABSOLUTE_TIMEOUT_MS, 'absoluteTimeoutMs', 1, MAX_TIMEOUT_MS);
  const maxSessionsPerUser = integerOption(options.maxSessionsPerUser ?? capacity, 'maxSessionsPerUser', 1, capacity);
  const maxUsers = integerOption(options.maxUsers ?? capacity, 'maxUsers', 1, capacity);
  const clock = options.clock ?? systemMonotonicClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    throw new ConfigError('clock', 'must be an object with a now() method returning monotonic milliseconds');
  }
  if (capacity * slotBytes > MAX_STORE_BYTES) {
    throw new ConfigError('slotBytes',
      `capacity × slotBytes must be at most ${MAX_STORE_BYTES} bytes (got ${capacity * slotBytes}); lower capacity or slotBytes`);
  }
  if (options.restoreFrom !== undefined) {
    const r = options.restoreFrom;
    if (typeof r !== 'object' || r === null || !(r.snapshot instanceof Uint8Array)) {
      throw new ConfigError('restoreFrom', 'must be { snapshot: Uint8Array, elapsedMs: number }');
    }
    validateElapsedMs('restoreFrom.elapsedMs', r.elapsedMs);
  }
  return { capacity, slotBytes, idleTimeoutMs, absoluteTimeoutMs, maxSessionsPerUser, maxUsers, clock };
}

/** Longest downtime a snapshot is restored across: 100 × the longest timeout (every session is long gone by then). */
const MAX_ELAPSED_MS = MAX_TIMEOUT_MS * 100;

/** Downtime must be a finite, non-negative number of milliseconds (fractions allowed: monotonic clocks have them). */
export function validateElapsedMs(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_ELAPSED_MS) {
    throw new ConfigError(field, `must be a finite number of milliseconds from 0 to ${MAX_ELAPSED_MS}, got ${describeGiven(value)}`);
  }
  return value;
}
