/**
 * Every device-profile field in one table: type, unit, range, default and what it costs.
 * Validation, `RINGLET_*` environment overrides, CLI flags and the README's configuration
 * reference are all derived from this table, so they cannot drift apart.
 *
 * Where a lower layer enforces a hard bound of its own (for a library caller who builds a
 * store, a throttle or a cache directly, past this table), the table's range uses that
 * layer's constant, so each number is written once. The other numbers here are device
 * policy: narrower than what the code could take, wide enough for any appliance.
 */
import { DEFAULT_VERIFIED_CACHE_ENTRIES, MAX_VERIFIED_CACHE_ENTRIES } from '../session/verified-cache.js';
import { DEFAULT_ABSOLUTE_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_SLOT_BYTES, MAX_CAPACITY, MAX_SLOT_BYTES } from '../store/index.js';
import {
  MAX_FREE_ATTEMPTS, MAX_HASH_CONCURRENCY, MAX_THROTTLE_ENTRIES, MIN_THROTTLE_ENTRIES,
  SCRYPT_LOG_N_MAX, SCRYPT_LOG_N_MIN, SCRYPT_P_MAX, SCRYPT_P_MIN, SCRYPT_R_MAX, SCRYPT_R_MIN,
} from '../users/index.js';
import { DAY_MS, HOUR_MS, MAX_CREDENTIAL_LIFETIME_MS, MAX_TIMER_MS, MINUTE_MS } from '../util/durations.js';

export type SessionMode = 'ram' | 'cookie';

export interface DeviceProfile {
  name: string;
  description: string;
  mode: SessionMode;
  capacity: number;
  slotBytes: number;
  maxSessionsPerUser: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  bearerTokenTtlMs: number;
  tokenMintsPerUserPerMinute: number;
  scryptLogN: number;
  scryptR: number;
  scryptP: number;
  hashConcurrency: number;
  hashQueueLength: number;
  hashMaxWaitMs: number;
  throttleEntries: number;
  throttleFreeAttempts: number;
  throttleBaseDelayMs: number;
  throttleMaxDelayMs: number;
  throttleForgetAfterMs: number;
  revocationEntries: number;
  verifiedCacheEntries: number;
  maxHeaderBytes: number;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxTunnels: number;
  maxTunnelsPerSession: number;
  tunnelSweepIntervalMs: number;
  memoryBudgetBytes: number;
  nodeFlags: string[];
  /** Variables whoever starts node must set (read before any JavaScript runs), e.g. glibc's malloc tuning. */
  launchEnv: Record<string, string>;
  insecureScryptBelowOwasp: boolean;
}

/** The profile fields whose values are of type `T`. */
type FieldsOfType<T> = {
  [K in keyof DeviceProfile]: DeviceProfile[K] extends T ? K : never;
}[keyof DeviceProfile];

export type BooleanField = FieldsOfType<boolean>;
export type IntegerField = FieldsOfType<number>;

export interface BooleanFieldSpec {
  kind: 'boolean';
  default: boolean;
  doc: string;
}

export interface IntegerFieldSpec {
  kind: 'integer';
  unit: 'sessions' | 'bytes' | 'ms' | 'count' | 'log2';
  min: number;
  max: number;
  default: number;
  doc: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Integer fields. Ranges refuse unbounded or absurd configurations: a store larger than
 * 1M sessions or a 64 KiB slot is not an appliance; a scrypt cost above 2^20 needs more
 * than 1 GiB per hash.
 */
export const INTEGER_FIELDS: Readonly<Record<IntegerField, IntegerFieldSpec>> = {
  capacity: { kind: 'integer', unit: 'sessions', min: 1, max: MAX_CAPACITY, default: 256,
    doc: 'RAM store slots; the least recently used session is evicted when full' },
  slotBytes: { kind: 'integer', unit: 'bytes', min: 0, max: MAX_SLOT_BYTES, default: DEFAULT_SLOT_BYTES,
    doc: 'bytes of session data (UTF-8 JSON) each slot holds' },
  maxSessionsPerUser: { kind: 'integer', unit: 'sessions', min: 1, max: MAX_CAPACITY, default: 8,
    doc: "a user's own least recently used session goes when they exceed this" },
  idleTimeoutMs: { kind: 'integer', unit: 'ms', min: 1_000, max: MAX_TIMER_MS, default: DEFAULT_IDLE_TIMEOUT_MS,
    doc: 'a session unused this long expires' },
  absoluteTimeoutMs: { kind: 'integer', unit: 'ms', min: 1_000, max: MAX_CREDENTIAL_LIFETIME_MS, default: DEFAULT_ABSOLUTE_TIMEOUT_MS,
    doc: 'a session expires this long after login, however active' },
  bearerTokenTtlMs: { kind: 'integer', unit: 'ms', min: 1_000, max: MAX_CREDENTIAL_LIFETIME_MS, default: HOUR_MS,
    doc: 'lifetime of a bearer token from POST /token' },
  tokenMintsPerUserPerMinute: { kind: 'integer', unit: 'count', min: 1, max: 10_000, default: 10,
    doc: 'bearer tokens one user may mint per minute (POST /token; then 429 + Retry-After)' },
  scryptLogN: { kind: 'integer', unit: 'log2', min: SCRYPT_LOG_N_MIN, max: SCRYPT_LOG_N_MAX, default: 15,
    doc: 'scrypt cost N = 2^scryptLogN for new password hashes' },
  scryptR: { kind: 'integer', unit: 'count', min: SCRYPT_R_MIN, max: SCRYPT_R_MAX, default: 8,
    doc: 'scrypt block size r; memory per hash is 128 * N * r bytes' },
  scryptP: { kind: 'integer', unit: 'count', min: SCRYPT_P_MIN, max: SCRYPT_P_MAX, default: 3,
    doc: "scrypt parallelism p (computed sequentially by Node: time, not memory); must meet OWASP's table for N and r" },
  hashConcurrency: { kind: 'integer', unit: 'count', min: 1, max: MAX_HASH_CONCURRENCY, default: 2,
    doc: 'password hashes computed at once; each holds 128 * N * r bytes' },
  hashQueueLength: { kind: 'integer', unit: 'count', min: 0, max: 1024, default: 8,
    doc: 'logins that may wait for a hashing slot before 503 + Retry-After' },
  hashMaxWaitMs: { kind: 'integer', unit: 'ms', min: 0, max: MINUTE_MS, default: 2_000,
    doc: 'longest wait for a hashing slot before 503 + Retry-After' },
  throttleEntries: { kind: 'integer', unit: 'count', min: MIN_THROTTLE_ENTRIES, max: MAX_THROTTLE_ENTRIES, default: 1_024,
    doc: 'fixed table of failed-login counters keyed by client address and user name' },
  throttleFreeAttempts: { kind: 'integer', unit: 'count', min: 1, max: MAX_FREE_ATTEMPTS, default: 5,
    doc: 'failed logins per key before back-off starts' },
  throttleBaseDelayMs: { kind: 'integer', unit: 'ms', min: 1, max: HOUR_MS, default: 1_000,
    doc: 'first back-off delay; doubles with each further failure' },
  throttleMaxDelayMs: { kind: 'integer', unit: 'ms', min: 1, max: DAY_MS, default: 5 * MINUTE_MS,
    doc: 'back-off ceiling (there is no permanent lockout)' },
  throttleForgetAfterMs: { kind: 'integer', unit: 'ms', min: 1_000, max: 7 * DAY_MS, default: HOUR_MS,
    doc: 'a key with no failure for this long starts afresh' },
  revocationEntries: { kind: 'integer', unit: 'count', min: 8, max: 65_536, default: 256,
    doc: 'bounded tables for logout-everywhere (per-user not-before) and revoked token ids' },
  verifiedCacheEntries: { kind: 'integer', unit: 'count', min: 0, max: MAX_VERIFIED_CACHE_ENTRIES, default: DEFAULT_VERIFIED_CACHE_ENTRIES,
    doc: 'recently verified cookie-mode cookies and bearer tokens kept (per cache), so a repeated one skips AES-GCM/HMAC; 0 verifies every time' },
  maxHeaderBytes: { kind: 'integer', unit: 'bytes', min: 1 * KiB, max: 64 * KiB, default: 8 * KiB,
    doc: 'request line + headers; larger gets 431' },
  maxBodyBytes: { kind: 'integer', unit: 'bytes', min: 256, max: 1 * MiB, default: 8 * KiB,
    doc: 'request bodies ringlet reads itself (login, token, forms); larger gets 413' },
  headersTimeoutMs: { kind: 'integer', unit: 'ms', min: 100, max: 5 * MINUTE_MS, default: 10_000,
    doc: 'a client must send all headers within this (slowloris defence)' },
  requestTimeoutMs: { kind: 'integer', unit: 'ms', min: 100, max: 30 * MINUTE_MS, default: 30_000,
    doc: 'a whole request, body included, must arrive within this' },
  keepAliveTimeoutMs: { kind: 'integer', unit: 'ms', min: 100, max: 10 * MINUTE_MS, default: 5_000,
    doc: 'idle keep-alive connections close after this' },
  maxConnections: { kind: 'integer', unit: 'count', min: 1, max: 65_536, default: 64,
    doc: 'open connections; at the limit the oldest idle keep-alive or unfinished-header connection is closed for a newcomer; only when every connection is mid-request or a tunnel is the newcomer refused' },
  maxConnectionsPerAddress: { kind: 'integer', unit: 'count', min: 1, max: 65_536, default: 16,
    doc: "open connections from one client address (IPv6: one /64), judged on the socket peer; more are refused without harming that address's others; trusted proxies are exempt; a browser opens up to 6; at or above maxConnections it has no effect" },
  maxTunnels: { kind: 'integer', unit: 'count', min: 0, max: 65_536, default: 16,
    doc: 'WebSocket tunnels through the reverse proxy at once (0: none); beyond it a handshake gets 503' },
  maxTunnelsPerSession: { kind: 'integer', unit: 'count', min: 1, max: 1_024, default: 4,
    doc: "a session's own oldest tunnel is closed when it opens more than this" },
  tunnelSweepIntervalMs: { kind: 'integer', unit: 'ms', min: 100, max: 10 * MINUTE_MS, default: 2_000,
    doc: 'how often open tunnels re-check their session (expiry, eviction, user changes); logout closes them at once' },
  memoryBudgetBytes: { kind: 'integer', unit: 'bytes', min: 16 * MiB, max: 64 * 1024 * MiB, default: 96 * MiB,
    doc: 'peak RSS the device can give ringlet; start is refused when the footprint exceeds it' },
};

/**
 * Boolean fields. The one there is must stay off outside tests: it admits scrypt costs
 * below OWASP's table, which no device needs (raising p costs time, not memory).
 */
export const BOOLEAN_FIELDS: Readonly<Record<BooleanField, BooleanFieldSpec>> = {
  insecureScryptBelowOwasp: { kind: 'boolean', default: false,
    doc: "INSECURE: accept a scrypt cost below OWASP's table (fast test suites only); the server warns at start" },
};

export const MODES: readonly SessionMode[] = ['ram', 'cookie'];

/** Node flags a profile may set; anything else could change semantics or security. */
export const ALLOWED_NODE_FLAG_RE =
  /^--(max-old-space-size|max-semi-space-size|stack-size)=\d{1,6}$|^--(jitless|lite-mode|optimize-for-size|gc-interval=\d{1,9})$/;

/**
 * Launch variables a profile may ask for: each is read by the C library or libuv before any
 * JavaScript runs, so only the process that starts node can set them. Values are decimal
 * integers. MALLOC_MMAP_THRESHOLD_ fixes glibc's mmap threshold, so each freed scrypt block
 * goes back to the OS instead of staying in a worker thread's arena (see README "Memory").
 */
export const LAUNCH_ENV_NAMES: readonly string[] = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_ARENA_MAX', 'UV_THREADPOOL_SIZE'];

/** At most this many launch variables per profile. */
export const MAX_LAUNCH_ENV_ENTRIES = 4;

export const PROFILE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** `idleTimeoutMs` → `idle-timeout-ms` (CLI flag) and `IDLE_TIMEOUT_MS` (env suffix). */
export function kebabCase(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(field: string): string {
  return `RINGLET_${kebabCase(field).replace(/-/g, '_').toUpperCase()}`;
}
