/**
 * The RAM session store: fixed slots in one ArrayBuffer, exact LRU, lazy expiry.
 *
 * Link surgery lives in this one file (it reads best in one place). Three intrusive lists thread
 * through the slots, all index-based in typed arrays:
 *
 *   LRU list   circular, sentinel S = capacity. next[S] = most recent, prev[S] = least.
 *   age list   circular, sentinel S = capacity. next[S] = oldest created, prev[S] = newest.
 *   user list  circular per user, no sentinel. userHead[u] = that user's most recent,
 *              userPrev[userHead[u]] = that user's least recent.
 *   free list  singly linked through lruNext of free slots; heads[HEAD_FREE] = top, `capacity` = empty.
 *
 *   unlink(s):          next[prev[s]] = next[s]; prev[next[s]] = prev[s]
 *   pushFront(S, s):    n = next[S]; next[s] = n; prev[s] = S; prev[n] = s; next[S] = s
 *   pushBack(S, s):     p = prev[S]; prev[s] = p; next[s] = S; next[p] = s; prev[S] = s
 *   userFront(u, s):    if s == userPrev[head]: head = s            (rotate, O(1))
 *                       else unlink; insert before head; head = s
 *
 * Expiry is lazy (no timers: one per session would not be bounded): an id that resolves to an expired session is
 * reclaimed on the spot. create(), list() and stats() first sweep the two list ends that
 * can hold expired sessions: LRU end (smallest lastSeen, so the first to go idle) and the
 * age-list head (smallest created, so the first to hit the absolute limit). Each session
 * is reclaimed once, so the sweep is amortised O(1).
 *
 * A session is valid while now < idleExpiresMs and now < absoluteExpiresMs; at exactly
 * the limit it is expired. When both limits have passed, the earlier one is the reason.
 *
 * All state is private (`#` fields): the secrets and links are reachable only through the
 * SessionStore methods. Views read their slot through a SlotReader, which has no way to
 * the id secret; snapshot.ts owns the file format and the checks a restore needs.
 */
import { RingletError } from '../errors.js';
import { fillRandom } from '../util/random-pool.js';
import type { MonotonicClock } from '../util/clock.js';
import {
  computeLayout, CSRF_BYTES, HEAD_ACTIVE, HEAD_FREE, HEAD_RANDOM_USED, HEAD_ROLES, HEAD_USER_FREE, HEAD_USERS,
  ID_BYTES, MAX_ROLES, RANDOM_BLOCK_BYTES, SECRET_BYTES, SECRETS_PER_SLOT, storeArrays,
} from './layout.js';
import type { StoreLayout, UintArray } from './layout.js';
import { encodeSessionData } from './data-json.js';
import { resolveStoreOptions, validateElapsedMs } from './options.js';
import type { ResolvedStoreOptions, StoreOptions } from './options.js';
import { decodeId, decodeRef, encodeRef, readU32, writeU32 } from './session-id.js';
import { decodeSnapshot, encodeSnapshot, SnapshotError } from './snapshot.js';
import type { SnapshotNames } from './snapshot.js';
import type {
  CreatedSession, EvictedSession, EvictionReason, GetOptions, SessionListEntry, SessionSnapshot, SessionStore,
  SessionView, StoreStats,
} from './types.js';

/** Longest user or role name, in UTF-16 code units: names are interned and kept. */
export const MAX_NAME_CHARS = 256;

// counters[] indices
const CREATED = 0;
const EVICTED_LRU = 1;
const EVICTED_USER_CAP = 2;
const EXPIRED_IDLE = 3;
const EXPIRED_ABSOLUTE = 4;
const DESTROYED = 5;

const LIVE = 0;
const IDLE = 1;
const ABSOLUTE = 2;
type Expiry = typeof LIVE | typeof IDLE | typeof ABSOLUTE;

/** `console.log(store)` or of a view must never print secrets (README, "What is logged, and what never is"). */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * create()'s result. The evicted session's details are kept as fields and the `evicted`
 * object is built only when read: one object per create instead of two.
 */
class Created implements CreatedSession {
  readonly id: string;
  readonly reclaimedExpired: number;
  readonly #slot: number;
  readonly #generation: number;
  readonly #evictedUser: string | undefined;
  readonly #evictedReason: EvictionReason;
  /** slot * 2^32 + generation of the evicted session. */
  readonly #evictedHandle: number;

  constructor(id: string, slot: number, generation: number, reclaimedExpired: number,
    evictedUser: string | undefined, evictedReason: EvictionReason, evictedHandle: number) {
    this.id = id;
    this.#slot = slot;
    this.#generation = generation;
    this.reclaimedExpired = reclaimedExpired;
    this.#evictedUser = evictedUser;
    this.#evictedReason = evictedReason;
    this.#evictedHandle = evictedHandle;
  }

  get ref(): string {
    return encodeRef(this.#slot, this.#generation);
  }

  get evicted(): EvictedSession | undefined {
    if (this.#evictedUser === undefined) return undefined;
    const handle = this.#evictedHandle;
    return { ref: encodeRef(Math.floor(handle / 2 ** 32), handle % 2 ** 32), user: this.#evictedUser, reason: this.#evictedReason };
  }

  toJSON(): { id: string; ref: string; evicted: EvictedSession | undefined; reclaimedExpired: number } {
    return { id: this.id, ref: this.ref, evicted: this.evicted, reclaimedExpired: this.reclaimedExpired };
  }
}

/**
 * What a view and a list entry may read of a slot: its public fields, its CSRF token
 * and its data. No way to the id secret, the links or the counters.
 */
interface SlotReader {
  readonly generation: ArrayLike<number>;
  readonly slotUser: ArrayLike<number>;
  readonly slotRole: ArrayLike<number>;
  readonly createdMs: ArrayLike<number>;
  readonly lastSeenMs: ArrayLike<number>;
  readonly dataLength: ArrayLike<number>;
  readonly userNames: readonly string[];
  readonly roleNames: readonly string[];
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  csrfToken(slot: number): string;
  dataJson(slot: number): string | undefined;
}

/** The per-store reused view; reads straight from the store's arrays. */
class RingView implements SessionView {
  slot = 0;
  readonly #r: SlotReader;

  constructor(reader: SlotReader) {
    this.#r = reader;
  }

  get ref(): string {
    return encodeRef(this.slot, this.#r.generation[this.slot]!);
  }
  get handle(): number {
    return this.slot * 2 ** 32 + this.#r.generation[this.slot]!;
  }
  get user(): string {
    return this.#r.userNames[this.#r.slotUser[this.slot]!]!;
  }
  get role(): string {
    return this.#r.roleNames[this.#r.slotRole[this.slot]!]!;
  }
  get createdMs(): number {
    return this.#r.createdMs[this.slot]!;
  }
  get lastSeenMs(): number {
    return this.#r.lastSeenMs[this.slot]!;
  }
  get idleExpiresMs(): number {
    return this.#r.lastSeenMs[this.slot]! + this.#r.idleTimeoutMs;
  }
  get absoluteExpiresMs(): number {
    return this.#r.createdMs[this.slot]! + this.#r.absoluteTimeoutMs;
  }
  get csrfToken(): string {
    return this.#r.csrfToken(this.slot);
  }
  get dataBytes(): number {
    return this.#r.dataLength[this.slot]!;
  }
  get dataJson(): string | undefined {
    return this.#r.dataJson(this.slot);
  }
  get data(): unknown {
    const json = this.#r.dataJson(this.slot);
    return json === undefined ? undefined : JSON.parse(json);
  }
  snapshot(): SessionSnapshot {
    return {
      ref: this.ref, user: this.user, role: this.role, createdMs: this.createdMs, lastSeenMs: this.lastSeenMs,
      idleExpiresMs: this.idleExpiresMs, absoluteExpiresMs: this.absoluteExpiresMs, csrfToken: this.csrfToken,
      dataBytes: this.dataBytes, data: this.data,
    };
  }
  toJSON(): SessionSnapshot {
    return this.snapshot();
  }
  [INSPECT](): string {
    return `SessionView { ref: '${this.ref}', user: ${JSON.stringify(this.user)}, role: ${JSON.stringify(this.role)} }`;
  }
}

/** One row of list(): never the id or the CSRF secret. */
function listEntry(r: SlotReader, s: number): SessionListEntry {
  return {
    ref: encodeRef(s, r.generation[s]!),
    user: r.userNames[r.slotUser[s]!]!,
    role: r.roleNames[r.slotRole[s]!]!,
    createdMs: r.createdMs[s]!,
    lastSeenMs: r.lastSeenMs[s]!,
    idleExpiresMs: r.lastSeenMs[s]! + r.idleTimeoutMs,
    absoluteExpiresMs: r.createdMs[s]! + r.absoluteTimeoutMs,
    dataBytes: r.dataLength[s]!,
    data: r.dataJson(s),
  };
}

function checkName(field: 'user' | 'role', name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS) {
    throw new RingletError('ERR_NAME_INVALID', `${field} must be a non-empty string of at most ${MAX_NAME_CHARS} characters`);
  }
  return name;
}

/** The store behind `createStore`; its public surface is `SessionStore`, nothing more. */
class RingStore implements SessionStore {
  readonly #options: ResolvedStoreOptions;
  readonly #layout: StoreLayout;
  readonly #buffer: ArrayBuffer;
  readonly #clock: MonotonicClock;
  readonly #capacity: number;
  /** userHead/slotUser value meaning "no user" (= maxUsers). */
  readonly #nilUser: number;

  readonly #counters: Float64Array;
  readonly #createdMs: Float64Array;
  readonly #lastSeenMs: Float64Array;
  readonly #heads: Uint32Array;
  readonly #generation: Uint32Array;
  readonly #lruPrev: UintArray;
  readonly #lruNext: UintArray;
  readonly #agePrev: UintArray;
  readonly #ageNext: UintArray;
  readonly #userPrev: UintArray;
  readonly #userNext: UintArray;
  readonly #slotUser: UintArray;
  readonly #userHead: UintArray;
  readonly #userCount: UintArray;
  readonly #dataLength: UintArray;
  readonly #slotRole: Uint8Array;
  readonly #secrets: Uint8Array;
  readonly #secretsBuf: Buffer;
  readonly #idScratch: Uint8Array;
  readonly #idScratchBuf: Buffer;
  readonly #randomBlock: Uint8Array;
  readonly #dataBuf: Buffer;

  /** Interned names; bounded by maxUsers and MAX_ROLES. Maps because keys come from outside. */
  readonly #userNames: string[];
  readonly #userIndex = new Map<string, number>();
  readonly #roleNames: string[];
  readonly #roleIndex = new Map<string, number>();

  readonly #reader: SlotReader;
  readonly #sessionView: RingView;
  /** The clock reading taken by the last successful #resolve(). */
  #resolvedAtMs = 0;

  constructor(options: StoreOptions) {
    const o = resolveStoreOptions(options);
    this.#options = o;
    this.#clock = o.clock;
    this.#capacity = o.capacity;
    this.#nilUser = o.maxUsers;
    this.#layout = computeLayout(o);
    this.#buffer = new ArrayBuffer(this.#layout.totalBytes);
    const a = storeArrays(this.#layout, this.#buffer);
    this.#counters = a.counters;
    this.#createdMs = a.createdMs;
    this.#lastSeenMs = a.lastSeenMs;
    this.#heads = a.heads;
    this.#generation = a.generation;
    this.#lruPrev = a.lruPrev;
    this.#lruNext = a.lruNext;
    this.#agePrev = a.agePrev;
    this.#ageNext = a.ageNext;
    this.#userPrev = a.userPrev;
    this.#userNext = a.userNext;
    this.#slotUser = a.slotUser;
    this.#userHead = a.userHead;
    this.#userCount = a.userCount;
    this.#dataLength = a.dataLength;
    this.#slotRole = a.slotRole;
    this.#secrets = a.secrets;
    this.#idScratch = a.idScratch;
    this.#randomBlock = a.randomBlock;
    const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#secretsBuf = asBuffer(a.secrets);
    this.#idScratchBuf = asBuffer(a.idScratch);
    this.#dataBuf = asBuffer(a.data);
    this.#userNames = new Array<string>(o.maxUsers).fill('');
    this.#roleNames = new Array<string>(MAX_ROLES).fill('');
    this.#reader = {
      generation: a.generation, slotUser: a.slotUser, slotRole: a.slotRole, createdMs: a.createdMs,
      lastSeenMs: a.lastSeenMs, dataLength: a.dataLength, userNames: this.#userNames, roleNames: this.#roleNames,
      idleTimeoutMs: o.idleTimeoutMs, absoluteTimeoutMs: o.absoluteTimeoutMs,
      csrfToken: (s) => this.#csrfToken(s),
      dataJson: (s) => this.#readData(s),
    };
    this.#sessionView = new RingView(this.#reader);
    this.#reset();
    if (options.restoreFrom !== undefined) {
      this.restoreSnapshot(options.restoreFrom.snapshot, options.restoreFrom.elapsedMs);
    }
  }

  /** Empty every list and table; generations restart too (nothing can refer to them any more). */
  #reset(): void {
    new Uint8Array(this.#buffer).fill(0);
    const cap = this.#capacity;
    this.#lruPrev[cap] = this.#lruNext[cap] = cap;
    this.#agePrev[cap] = this.#ageNext[cap] = cap;
    for (let s = 0; s < cap; s++) {
      this.#lruNext[s] = s + 1;
      this.#slotUser[s] = this.#nilUser;
    }
    this.#lruNext[cap - 1] = cap;
    this.#heads[HEAD_FREE] = 0;
    for (let u = 0; u < this.#nilUser; u++) this.#userHead[u] = u + 1;
    this.#heads[HEAD_USER_FREE] = 0;
    this.#heads[HEAD_RANDOM_USED] = RANDOM_BLOCK_BYTES;
    this.#userNames.fill('');
    this.#userIndex.clear();
    this.#roleNames.fill('');
    this.#roleIndex.clear();
  }

  // ---- link surgery -------------------------------------------------------------------

  #pushFront(prev: UintArray, next: UintArray, s: number): void {
    const S = this.#capacity;
    const n = next[S]!;
    next[s] = n;
    prev[s] = S;
    prev[n] = s;
    next[S] = s;
  }

  #pushBack(prev: UintArray, next: UintArray, s: number): void {
    const S = this.#capacity;
    const p = prev[S]!;
    prev[s] = p;
    next[s] = S;
    next[p] = s;
    prev[S] = s;
  }

  #unlink(prev: UintArray, next: UintArray, s: number): void {
    const p = prev[s]!;
    const n = next[s]!;
    next[p] = n;
    prev[n] = p;
  }

  /** Add `s` as user `u`'s most recent session. */
  #userAdd(u: number, s: number): void {
    const count = this.#userCount[u]!;
    if (count === 0) {
      this.#userPrev[s] = this.#userNext[s] = s;
    } else {
      this.#userInsertBefore(this.#userHead[u]!, s);
    }
    this.#userHead[u] = s;
    this.#userCount[u] = count + 1;
  }

  /** Link `s` into a user circle just before its head `h` (the tail end); callers then make it the head. */
  #userInsertBefore(h: number, s: number): void {
    const t = this.#userPrev[h]!;
    this.#userNext[t] = s;
    this.#userPrev[s] = t;
    this.#userNext[s] = h;
    this.#userPrev[h] = s;
  }

  #userToFront(u: number, s: number): void {
    const h = this.#userHead[u]!;
    if (h === s) return;
    if (this.#userPrev[h] !== s) {
      this.#unlink(this.#userPrev, this.#userNext, s);
      this.#userInsertBefore(h, s);
    }
    // s was the tail: making it the head rotates the circle, no links change.
    this.#userHead[u] = s;
  }

  #touchSlot(s: number, now: number): void {
    this.#lastSeenMs[s] = now;
    const S = this.#capacity;
    if (this.#lruNext[S] !== s) {
      this.#unlink(this.#lruPrev, this.#lruNext, s);
      this.#pushFront(this.#lruPrev, this.#lruNext, s);
    }
    this.#userToFront(this.#slotUser[s]!, s);
  }

  /** Take `s` out of every list, wipe its secrets and data, return it to the free list. */
  #release(s: number): void {
    this.#unlink(this.#lruPrev, this.#lruNext, s);
    this.#unlink(this.#agePrev, this.#ageNext, s);
    const u = this.#slotUser[s]!;
    const count = this.#userCount[u]! - 1;
    this.#userCount[u] = count;
    if (count === 0) {
      this.#userIndex.delete(this.#userNames[u]!);
      this.#userNames[u] = '';
      this.#userHead[u] = this.#heads[HEAD_USER_FREE]!;
      this.#heads[HEAD_USER_FREE] = u;
      this.#heads[HEAD_USERS] = this.#heads[HEAD_USERS]! - 1;
    } else {
      this.#unlink(this.#userPrev, this.#userNext, s);
      if (this.#userHead[u] === s) this.#userHead[u] = this.#userNext[s]!;
    }
    const secretsAt = s * SECRETS_PER_SLOT;
    this.#secrets.fill(0, secretsAt, secretsAt + SECRETS_PER_SLOT);
    const dataAt = s * this.#options.slotBytes;
    this.#dataBuf.fill(0, dataAt, dataAt + this.#dataLength[s]!);
    this.#dataLength[s] = 0;
    this.#slotUser[s] = this.#nilUser;
    this.#lruNext[s] = this.#heads[HEAD_FREE]!;
    this.#heads[HEAD_FREE] = s;
    this.#heads[HEAD_ACTIVE] = this.#heads[HEAD_ACTIVE]! - 1;
  }

  #count(counter: number): void {
    this.#counters[counter] = this.#counters[counter]! + 1;
  }

  // ---- expiry -------------------------------------------------------------------------

  #expiry(s: number, now: number): Expiry {
    const absolute = this.#createdMs[s]! + this.#options.absoluteTimeoutMs;
    const idle = this.#lastSeenMs[s]! + this.#options.idleTimeoutMs;
    if (now < absolute && now < idle) return LIVE;
    return absolute <= idle ? ABSOLUTE : IDLE;
  }

  #reclaim(s: number, reason: Expiry): void {
    this.#count(reason === ABSOLUTE ? EXPIRED_ABSOLUTE : EXPIRED_IDLE);
    this.#release(s);
  }

  /** Reclaim every expired session; see the file comment for why two list ends suffice. */
  #sweep(now: number): number {
    const S = this.#capacity;
    let reclaimed = 0;
    for (let s = this.#lruPrev[S]!; s !== S; s = this.#lruPrev[S]!) {
      const reason = this.#expiry(s, now);
      if (reason === LIVE) break;
      this.#reclaim(s, reason);
      reclaimed++;
    }
    for (let s = this.#ageNext[S]!; s !== S; s = this.#ageNext[S]!) {
      const reason = this.#expiry(s, now);
      if (reason === LIVE) break;
      this.#reclaim(s, reason);
      reclaimed++;
    }
    return reclaimed;
  }

  // ---- lookup -------------------------------------------------------------------------

  /**
   * The live slot for `id`, or -1. Reclaims the slot if it has expired. Never throws.
   * The clock is read only once the secret matched (into `#resolvedAtMs`): reading it
   * boxes a double, and a forged or stale cookie should allocate nothing.
   */
  #resolve(id: unknown): number {
    const bytes = this.#idScratch;
    if (!decodeId(id, bytes)) return -1;
    const s = readU32(bytes, 0);
    if (s >= this.#capacity || this.#slotUser[s] === this.#nilUser || this.#generation[s] !== readU32(bytes, 4)) return -1;
    // Slot and generation are public (the ref shows them); only the secret needs constant time.
    const secrets = this.#secrets;
    const at = s * SECRETS_PER_SLOT;
    let diff = 0;
    for (let i = 0; i < SECRET_BYTES; i++) diff |= bytes[8 + i]! ^ secrets[at + i]!;
    if (diff !== 0) return -1;
    const now = this.#clock.now();
    this.#resolvedAtMs = now;
    const reason = this.#expiry(s, now);
    if (reason !== LIVE) {
      this.#reclaim(s, reason);
      return -1;
    }
    return s;
  }

  #resolveRef(ref: unknown, now: number): number {
    return this.#resolveHandle(decodeRef(ref), now);
  }

  #resolveHandle(packed: number, now: number): number {
    if (!Number.isSafeInteger(packed) || packed < 0) return -1;
    const s = Math.floor(packed / 2 ** 32);
    if (s >= this.#capacity || this.#slotUser[s] === this.#nilUser || this.#generation[s] !== packed % 2 ** 32) return -1;
    const reason = this.#expiry(s, now);
    if (reason !== LIVE) {
      this.#reclaim(s, reason);
      return -1;
    }
    return s;
  }

  #readData(s: number): string | undefined {
    const length = this.#dataLength[s]!;
    if (length === 0) return undefined;
    const at = s * this.#options.slotBytes;
    return this.#dataBuf.toString('utf8', at, at + length);
  }

  #writeData(s: number, json: string | undefined): void {
    const at = s * this.#options.slotBytes;
    const old = this.#dataLength[s]!;
    const length = json === undefined ? 0 : this.#dataBuf.write(json, at, this.#options.slotBytes, 'utf8');
    if (old > length) this.#dataBuf.fill(0, at + length, at + old);
    this.#dataLength[s] = length;
  }

  #csrfToken(s: number): string {
    const at = s * SECRETS_PER_SLOT + SECRET_BYTES;
    return this.#secretsBuf.toString('base64url', at, at + CSRF_BYTES);
  }

  #showView(s: number): SessionView {
    this.#sessionView.slot = s;
    return this.#sessionView;
  }

  // ---- create(), step by step ---------------------------------------------------------

  /** Whether user `u` (undefined: a new user) already has maxSessionsPerUser sessions. */
  #atUserCap(u: number | undefined): boolean {
    return u !== undefined && this.#userCount[u]! >= this.#options.maxSessionsPerUser;
  }

  /**
   * The live session create() must remove to make room, or -1: user `u`'s own LRU
   * session when they are at their cap, else the global LRU session when the store is full.
   */
  #victimFor(u: number | undefined, atUserCap: boolean): number {
    if (atUserCap) return this.#userPrev[this.#userHead[u!]!]!;
    if (this.#heads[HEAD_ACTIVE] === this.#capacity) return this.#lruPrev[this.#capacity]!;
    return -1;
  }

  /** Remove a live session to make room (counted by reason; create() reports it). */
  #evict(victim: number, reason: EvictionReason): void {
    this.#count(reason === 'lru' ? EVICTED_LRU : EVICTED_USER_CAP);
    this.#release(victim);
  }

  /** A new user needs a free entry, unless the victim was the last session of its user. */
  #checkUserRoom(u: number | undefined, victim: number): void {
    if (u === undefined && this.#heads[HEAD_USERS] === this.#options.maxUsers
      && (victim < 0 || this.#userCount[this.#slotUser[victim]!] !== 1)) {
      throw new RingletError('ERR_STORE_FULL', `the user table is full (maxUsers ${this.#options.maxUsers})`);
    }
  }

  /** The role's index, interning it if new. @throws ERR_STORE_FULL when the table is full. */
  #internRole(role: string): number {
    let r = this.#roleIndex.get(role);
    if (r === undefined) {
      if (this.#heads[HEAD_ROLES] === MAX_ROLES) throw new RingletError('ERR_STORE_FULL', `the role table is full (${MAX_ROLES} roles)`);
      r = this.#heads[HEAD_ROLES]!;
      this.#heads[HEAD_ROLES] = r + 1;
      this.#roleNames[r] = role;
      this.#roleIndex.set(role, r);
    }
    return r;
  }

  /** The user's index, taking a free entry for a new user (room was checked). */
  #internUser(user: string): number {
    let u = this.#userIndex.get(user);
    if (u === undefined) {
      u = this.#heads[HEAD_USER_FREE]!;
      this.#heads[HEAD_USER_FREE] = this.#userHead[u]!;
      this.#userNames[u] = user;
      this.#userIndex.set(user, u);
      this.#heads[HEAD_USERS] = this.#heads[HEAD_USERS]! + 1;
    }
    return u;
  }

  /** Pop a free slot and give it a new generation, so ids and refs of its past sessions miss. */
  #allocateSlot(): number {
    const s = this.#heads[HEAD_FREE]!;
    this.#heads[HEAD_FREE] = this.#lruNext[s]!;
    this.#generation[s] = (this.#generation[s]! + 1) >>> 0;
    return s;
  }

  /** Copy SECRETS_PER_SLOT fresh CSPRNG bytes (id secret, CSRF secret) to slot `s`, wiping them from the block. */
  #writeSecrets(s: number): void {
    const block = this.#randomBlock;
    let used = this.#heads[HEAD_RANDOM_USED]!;
    if (used + SECRETS_PER_SLOT > RANDOM_BLOCK_BYTES) {
      fillRandom(block);
      used = 0;
    }
    const secrets = this.#secrets;
    const at = s * SECRETS_PER_SLOT;
    for (let i = 0; i < SECRETS_PER_SLOT; i++) {
      secrets[at + i] = block[used + i]!;
      block[used + i] = 0;
    }
    this.#heads[HEAD_RANDOM_USED] = used + SECRETS_PER_SLOT;
  }

  /** Fill in slot `s` for user `u` and role `r` and link it in: most recent, newest, user's most recent. */
  #link(s: number, u: number, r: number, now: number): void {
    this.#createdMs[s] = now;
    this.#lastSeenMs[s] = now;
    this.#slotUser[s] = u;
    this.#slotRole[s] = r;
    this.#pushFront(this.#lruPrev, this.#lruNext, s);
    this.#pushBack(this.#agePrev, this.#ageNext, s);
    this.#userAdd(u, s);
    this.#heads[HEAD_ACTIVE] = this.#heads[HEAD_ACTIVE]! + 1;
  }

  /** The id of slot `s`: slot | generation | secret, base64url; the scratch is wiped after. */
  #encodeId(s: number): string {
    const idBytes = this.#idScratch;
    writeU32(idBytes, 0, s);
    writeU32(idBytes, 4, this.#generation[s]!);
    // A loop, not set(subarray()): a subarray is a ~100-byte object per create.
    const secrets = this.#secrets;
    const at = s * SECRETS_PER_SLOT;
    for (let i = 0; i < SECRET_BYTES; i++) idBytes[8 + i] = secrets[at + i]!;
    const id = this.#idScratchBuf.toString('base64url', 0, ID_BYTES);
    idBytes.fill(0);
    return id;
  }

  /** Unused random bytes would predict the next sessions' secrets: never persisted, and
   * never taken from a snapshot (a forged one could claim a zeroed block is unused). */
  #discardRandomBlock(): void {
    this.#randomBlock.fill(0);
    this.#heads[HEAD_RANDOM_USED] = RANDOM_BLOCK_BYTES;
  }

  // ---- public API ---------------------------------------------------------------------

  create(user: string, role: string, data?: unknown): CreatedSession {
    checkName('user', user);
    checkName('role', role);
    // Everything that can refuse runs before anything changes.
    const json = encodeSessionData(data, this.#options.slotBytes, 'slot');
    const now = this.#clock.now();
    const reclaimedExpired = this.#sweep(now);

    const known = this.#userIndex.get(user);
    const atUserCap = this.#atUserCap(known);
    const reason: EvictionReason = atUserCap ? 'user-cap' : 'lru';
    const victim = this.#victimFor(known, atUserCap);
    this.#checkUserRoom(known, victim);
    const r = this.#internRole(role);

    let evictedUser: string | undefined;
    let evictedHandle = 0;
    if (victim >= 0) {
      evictedUser = this.#userNames[this.#slotUser[victim]!]!;
      evictedHandle = victim * 2 ** 32 + this.#generation[victim]!;
      this.#evict(victim, reason);
    }

    // After the eviction: the victim may have been this user's last session, freeing their entry.
    const u = this.#internUser(user);
    const s = this.#allocateSlot();
    this.#writeSecrets(s);
    this.#link(s, u, r, now);
    this.#writeData(s, json);
    this.#count(CREATED);
    return new Created(this.#encodeId(s), s, this.#generation[s]!, reclaimedExpired, evictedUser, reason, evictedHandle);
  }

  get(id: unknown, options?: GetOptions): SessionView | undefined {
    const s = this.#resolve(id);
    if (s < 0) return undefined;
    if (options?.touch !== false) this.#touchSlot(s, this.#resolvedAtMs);
    return this.#showView(s);
  }

  touch(id: unknown): boolean {
    const s = this.#resolve(id);
    if (s < 0) return false;
    this.#touchSlot(s, this.#resolvedAtMs);
    return true;
  }

  update(id: unknown, data: unknown): boolean {
    const json = encodeSessionData(data, this.#options.slotBytes, 'slot');
    const s = this.#resolve(id);
    if (s < 0) return false;
    this.#writeData(s, json);
    return true;
  }

  destroy(id: unknown): boolean {
    const s = this.#resolve(id);
    if (s < 0) return false;
    this.#count(DESTROYED);
    this.#release(s);
    return true;
  }

  destroyUser(user: string): number {
    if (typeof user !== 'string') return 0;
    const u = this.#userIndex.get(user);
    if (u === undefined) return 0;
    const now = this.#clock.now();
    let ended = 0;
    // #release() frees the user entry with the last session; count down a copy.
    for (let left = this.#userCount[u]!; left > 0; left--) {
      const s = this.#userHead[u]!;
      const reason = this.#expiry(s, now);
      if (reason === LIVE) {
        this.#count(DESTROYED);
        this.#release(s);
        ended++;
      } else {
        this.#reclaim(s, reason);
      }
    }
    return ended;
  }

  getByRef(ref: unknown): SessionView | undefined {
    const s = this.#resolveRef(ref, this.#clock.now());
    return s < 0 ? undefined : this.#showView(s);
  }

  getByHandle(handle: number): SessionView | undefined {
    const s = this.#resolveHandle(handle, this.#clock.now());
    return s < 0 ? undefined : this.#showView(s);
  }

  updateByHandle(handle: number, data: unknown): boolean {
    const json = encodeSessionData(data, this.#options.slotBytes, 'slot');
    const s = this.#resolveHandle(handle, this.#clock.now());
    if (s < 0) return false;
    this.#writeData(s, json);
    return true;
  }

  destroyByRef(ref: unknown): boolean {
    const s = this.#resolveRef(ref, this.#clock.now());
    if (s < 0) return false;
    this.#count(DESTROYED);
    this.#release(s);
    return true;
  }

  list(user?: string): SessionListEntry[] {
    this.#sweep(this.#clock.now());
    const out: SessionListEntry[] = [];
    if (user === undefined) {
      const S = this.#capacity;
      for (let s = this.#lruNext[S]!; s !== S; s = this.#lruNext[s]!) out.push(listEntry(this.#reader, s));
      return out;
    }
    const u = typeof user === 'string' ? this.#userIndex.get(user) : undefined;
    if (u === undefined) return out;
    let s = this.#userHead[u]!;
    for (let left = this.#userCount[u]!; left > 0; left--, s = this.#userNext[s]!) out.push(listEntry(this.#reader, s));
    return out;
  }

  stats(): StoreStats {
    this.#sweep(this.#clock.now());
    const c = this.#counters;
    return {
      capacity: this.#capacity,
      active: this.#heads[HEAD_ACTIVE]!,
      users: this.#heads[HEAD_USERS]!,
      bytes: this.#layout.totalBytes,
      slotBytes: this.#options.slotBytes,
      created: c[CREATED]!,
      evicted: c[EVICTED_LRU]! + c[EVICTED_USER_CAP]!,
      evictedLru: c[EVICTED_LRU]!,
      evictedUserCap: c[EVICTED_USER_CAP]!,
      expiredIdle: c[EXPIRED_IDLE]!,
      expiredAbsolute: c[EXPIRED_ABSOLUTE]!,
      destroyed: c[DESTROYED]!,
    };
  }

  [INSPECT](): string {
    // No sweep here: inspecting must not change state.
    return `SessionStore { capacity: ${this.#capacity}, occupied: ${this.#heads[HEAD_ACTIVE]}, bytes: ${this.#layout.totalBytes} }`;
  }

  // ---- snapshots (format and checks: snapshot.ts) -------------------------------------

  writeSnapshot(): Buffer {
    const now = this.#clock.now();
    this.#sweep(now);
    this.#discardRandomBlock();
    const users: Array<[number, string]> = [];
    for (const [name, u] of this.#userIndex) users.push([u, name]);
    const names: SnapshotNames = { users, roles: this.#roleNames.slice(0, this.#heads[HEAD_ROLES]) };
    return encodeSnapshot(this.#options, this.#layout, new Uint8Array(this.#buffer), names, now);
  }

  restoreSnapshot(snapshot: Uint8Array, elapsedMs: number): void {
    validateElapsedMs('elapsedMs', elapsedMs);
    if (!(snapshot instanceof Uint8Array)) throw new SnapshotError('magic', 'snapshot must be a Buffer or Uint8Array');
    this.#reset();
    let names: SnapshotNames;
    try {
      names = decodeSnapshot(snapshot, this.#options, this.#layout, this.#buffer, this.#clock.now(), elapsedMs);
    } catch (error) {
      this.#reset();
      throw error;
    }
    names.roles.forEach((role, r) => {
      this.#roleNames[r] = role;
      this.#roleIndex.set(role, r);
    });
    for (const [u, name] of names.users) {
      this.#userNames[u] = name;
      this.#userIndex.set(name, u);
    }
    this.#discardRandomBlock();
  }
}

/**
 * Create a RAM session store. Every byte it needs is allocated here, once.
 *
 * @throws ConfigError naming the field and the allowed range; SnapshotError when
 *   `restoreFrom` is given and does not fit.
 * @example
 * const store = createStore({ capacity: 256, slotBytes: 256, idleTimeoutMs: 900_000,
 *   absoluteTimeoutMs: 43_200_000, maxSessionsPerUser: 8 });
 * const { id } = store.create('admin', 'admin', { theme: 'dark' });
 * store.get(id)?.user; // 'admin' (the view is reused: copy what you keep)
 */
export function createStore(options: StoreOptions): SessionStore {
  return new RingStore(options);
}
