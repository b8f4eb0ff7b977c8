/** The public shape of the RAM session store. Implementation: ring-store.ts. */
import type { RestoreFrom } from './options.js';

/** Why create() removed a live session to make room. Expired sessions are never reported here. */
export type EvictionReason = 'lru' | 'user-cap';

/** A live session create() removed; for logs and metrics. */
export interface EvictedSession {
  readonly ref: string;
  readonly user: string;
  readonly reason: EvictionReason;
}

/** What create() returns. `id` is the secret the client keeps; nothing else here is secret. */
export interface CreatedSession {
  /** 32 base64url characters (128 random bits); put it in the cookie, never in a log. */
  readonly id: string;
  /** Non-secret handle for admin lists and logs. */
  readonly ref: string;
  /** A live session removed to make room (global LRU or this user's own LRU), if any. */
  readonly evicted: EvictedSession | undefined;
  /** Expired sessions reclaimed by this call before it looked for room. */
  readonly reclaimedExpired: number;
}

/** What every copy of a session says about it: never its id. Times in the store clock's ms. */
export interface SessionFacts {
  ref: string;
  user: string;
  role: string;
  createdMs: number;
  lastSeenMs: number;
  idleExpiresMs: number;
  absoluteExpiresMs: number;
  dataBytes: number;
}

/** A copy of a session, safe to keep (no id; includes the CSRF token the owner needs). */
export interface SessionSnapshot extends SessionFacts {
  csrfToken: string;
  data: unknown;
}

/**
 * A read-only view of one session, REUSED by the store: it is valid only until the next
 * call on the same store (any method). Copy what you need, or call `snapshot()`.
 * Reading `user`, `role` and the times allocates nothing; `ref`, `csrfToken`,
 * `dataJson` and `data` build a string or value when read.
 * Times are in the store clock's milliseconds; a session is valid while now < both expiries.
 */
export interface SessionView {
  readonly ref: string;
  /** The ref as a number (slot · 2^32 + generation): as public as the ref, and free to read. */
  readonly handle: number;
  readonly user: string;
  readonly role: string;
  readonly createdMs: number;
  readonly lastSeenMs: number;
  readonly idleExpiresMs: number;
  readonly absoluteExpiresMs: number;
  /** The session's CSRF secret (128 bits) as 22 base64url characters. */
  readonly csrfToken: string;
  readonly dataBytes: number;
  /** The stored UTF-8 JSON text, or undefined when the session has no data. */
  readonly dataJson: string | undefined;
  /** The stored data, parsed on each read. */
  readonly data: unknown;
  snapshot(): SessionSnapshot;
  toJSON(): SessionSnapshot;
}

/** One row of `list()`: never the id or the CSRF secret. */
export interface SessionListEntry extends SessionFacts {
  /** The stored UTF-8 JSON text, or undefined. */
  data: string | undefined;
}

export interface StoreStats {
  capacity: number;
  /** Live sessions (expired ones are reclaimed before counting). */
  active: number;
  /** Distinct users with live sessions. */
  users: number;
  /** Bytes allocated for session state; equals `storeFootprintBytes(options)`. */
  bytes: number;
  slotBytes: number;
  created: number;
  /** Live sessions removed to make room: `evictedLru + evictedUserCap`. */
  evicted: number;
  evictedLru: number;
  evictedUserCap: number;
  expiredIdle: number;
  expiredAbsolute: number;
  /** Removed by destroy / destroyByRef / destroyUser. */
  destroyed: number;
}

export interface GetOptions {
  /** Count this read as activity (move to most-recently-used, extend idle expiry). Default true. */
  touch?: boolean;
}

export interface SessionStore {
  /**
   * Start a session. Reclaims expired sessions first; then, if `user` is at
   * `maxSessionsPerUser`, removes that user's least recently used session, else if the
   * store is full, removes the least recently used session of anyone.
   *
   * @throws RingletError `ERR_DATA_TOO_LARGE` when the JSON of `data` exceeds slotBytes
   *   (nothing changes); `ERR_NAME_INVALID` for an empty or over-long user/role;
   *   `ERR_DATA_NOT_JSON` for data JSON cannot represent; `ERR_STORE_FULL` when the user
   *   or role table is full.
   */
  create(user: string, role: string, data?: unknown): CreatedSession;
  /** The session for `id`, or undefined (unknown, malformed, expired, evicted, destroyed). Never throws. */
  get(id: unknown, options?: GetOptions): SessionView | undefined;
  /** Count as activity. False when the id resolves to no session. */
  touch(id: unknown): boolean;
  /** Replace the session's data (not counted as activity). False when no session. @throws like create for data. */
  update(id: unknown, data: unknown): boolean;
  destroy(id: unknown): boolean;
  /** Ends every session of `user`; returns how many live sessions ended. */
  destroyUser(user: string): number;
  /** Admin lookup by non-secret ref; never counts as activity. */
  getByRef(ref: unknown): SessionView | undefined;
  /** Like getByRef, for a view's numeric `handle`; undefined once that session is gone. Never throws. */
  getByHandle(handle: number): SessionView | undefined;
  /**
   * Like update, for a view's numeric `handle` (the caller holds a session, not its id); false
   * once that session is gone. Not counted as activity. @throws like create for data.
   */
  updateByHandle(handle: number, data: unknown): boolean;
  destroyByRef(ref: unknown): boolean;
  /** Live sessions, most recently used first; only `user`'s when given. */
  list(user?: string): SessionListEntry[];
  stats(): StoreStats;
  /** Serialise the whole store (times as ages); see snapshot.ts for the format. */
  writeSnapshot(): Buffer;
  /**
   * Replace the store's contents with a snapshot, adding `elapsedMs` of downtime to every
   * session's age. On any mismatch the store is left empty and a SnapshotError is thrown.
   */
  restoreSnapshot(snapshot: Uint8Array, elapsedMs: number): void;
}

export type { RestoreFrom };
