/**
 * The RAM session store: fixed slots in one ArrayBuffer, exact LRU, lazy expiry.
 *
 * Link surgery lives in this one file (STYLE.md allows it). Three intrusive lists thread
 * through the slots, all index-based in typed arrays:
 *
 *   LRU list   circular, sentinel S = capacity. next[S] = most recent, prev[S] = least.
 *   age list   circular, sentinel S = capacity. next[S] = oldest created, prev[S] = newest.
 *   user list  circular per user, no sentinel. userHead[u] = that user's most recent,
 *              userPrev[userHead[u]] = that user's least recent.
 *   free list  singly linked through lruNext of free slots; heads[FREE] = top, `capacity` = empty.
 *
 *   unlink(s):          next[prev[s]] = next[s]; prev[next[s]] = prev[s]
 *   pushFront(S, s):    n = next[S]; next[s] = n; prev[s] = S; prev[n] = s; next[S] = s
 *   pushBack(S, s):     p = prev[S]; prev[s] = p; next[s] = S; next[p] = s; prev[S] = s
 *   userFront(u, s):    if s == userPrev[head]: head = s            (rotate, O(1))
 *                       else unlink; insert before head; head = s
 *
 * Expiry is lazy (no timers, STYLE.md 7): an id that resolves to an expired session is
 * reclaimed on the spot. create(), list() and stats() first sweep the two list ends that
 * can hold expired sessions: LRU end (smallest lastSeen, so the first to go idle) and the
 * age-list head (smallest created, so the first to hit the absolute limit). Each session
 * is reclaimed once, so the sweep is amortised O(1).
 *
 * A session is valid while now < idleExpiresMs and now < absoluteExpiresMs; at exactly
 * the limit it is expired. When both limits have passed, the earlier one is the reason.
 */
import { RingletError } from '../errors.js';
import { fillRandom } from '../util/random-pool.js';
import type { MonotonicClock } from '../util/clock.js';
import { computeLayout, CSRF_BYTES, ID_BYTES, RANDOM_BLOCK_BYTES, SECRET_BYTES, SECRETS_PER_SLOT } from './layout.js';
import type { ElementKind, Region, RegionName, StoreLayout } from './layout.js';
import { resolveStoreOptions, validateElapsedMs } from './options.js';
import type { ResolvedStoreOptions, StoreOptions } from './options.js';
import { decodeId, decodeRef, encodeRef, readU32, writeU32 } from './session-id.js';
import { decodeSnapshot, encodeSnapshot, SnapshotError } from './snapshot.js';
import type {
  CreatedSession, EvictedSession, EvictionReason, GetOptions, SessionListEntry, SessionSnapshot, SessionStore,
  SessionView, StoreStats,
} from './types.js';

/** Longest user or role name, in UTF-16 code units: names are interned and kept. */
export const MAX_NAME_CHARS = 256;
/** Distinct roles a store interns (roles are few: admin, viewer, ...); slotRole is a u8. */
export const MAX_ROLES = 255;

// heads[] indices
const FREE = 0;
const USER_FREE = 1;
const ACTIVE = 2;
const ROLES = 3;
const USERS = 4;
/** Bytes of randomBlock already used (RANDOM_BLOCK_BYTES = empty, refill before use). */
const RANDOM_USED = 5;
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

type UintArray = Uint8Array | Uint16Array | Uint32Array;

/** `console.log(store)` or of a view must never print secrets (STYLE.md 4). */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

function view(buffer: ArrayBuffer, region: Region): UintArray | Float64Array {
  const ctor: Record<ElementKind, new (b: ArrayBuffer, o: number, l: number) => UintArray | Float64Array> = {
    u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, f64: Float64Array,
  };
  return new ctor[region.kind](buffer, region.byteOffset, region.length);
}

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

/** The per-store reused view; reads straight from the store's arrays. */
class RingView implements SessionView {
  slot = 0;
  private readonly store: RingStore;

  constructor(store: RingStore) {
    this.store = store;
  }

  get ref(): string {
    return encodeRef(this.slot, this.store.generation[this.slot]!);
  }
  get handle(): number {
    return this.slot * 2 ** 32 + this.store.generation[this.slot]!;
  }
  get user(): string {
    return this.store.userNames[this.store.slotUser[this.slot]!]!;
  }
  get role(): string {
    return this.store.roleNames[this.store.slotRole[this.slot]!]!;
  }
  get createdMs(): number {
    return this.store.createdMs[this.slot]!;
  }
  get lastSeenMs(): number {
    return this.store.lastSeenMs[this.slot]!;
  }
  get idleExpiresMs(): number {
    return this.store.lastSeenMs[this.slot]! + this.store.options.idleTimeoutMs;
  }
  get absoluteExpiresMs(): number {
    return this.store.createdMs[this.slot]! + this.store.options.absoluteTimeoutMs;
  }
  get csrfToken(): string {
    const at = this.slot * SECRETS_PER_SLOT + SECRET_BYTES;
    return this.store.secretsBuf.toString('base64url', at, at + CSRF_BYTES);
  }
  get dataBytes(): number {
    return this.store.dataLength[this.slot]!;
  }
  get dataJson(): string | undefined {
    return this.store.readData(this.slot);
  }
  get data(): unknown {
    const json = this.store.readData(this.slot);
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

function checkName(field: 'user' | 'role', name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS) {
    throw new RingletError('ERR_MALFORMED', `${field} must be a non-empty string of at most ${MAX_NAME_CHARS} characters`);
  }
  return name;
}

/** JSON text of `data` and its UTF-8 length; undefined data is "no data". */
function encodeData(data: unknown, slotBytes: number): string | undefined {
  if (data === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    throw new RingletError('ERR_MALFORMED', 'session data cannot be serialised as JSON');
  }
  if (json === undefined) throw new RingletError('ERR_MALFORMED', 'session data cannot be serialised as JSON');
  // UTF-8 needs at most 3 bytes per UTF-16 unit: short text skips the byte count.
  if (json.length * 3 > slotBytes && Buffer.byteLength(json, 'utf8') > slotBytes) {
    throw new RingletError('ERR_DATA_TOO_LARGE', `session data exceeds the ${slotBytes}-byte slot`);
  }
  return json;
}

/** @internal Use `createStore`. Fields are internal; the public type is `SessionStore`. */
export class RingStore implements SessionStore {
  readonly options: ResolvedStoreOptions;
  readonly layout: StoreLayout;
  readonly buffer: ArrayBuffer;
  readonly clock: MonotonicClock;
  readonly capacity: number;
  readonly nilUser: number;

  readonly counters: Float64Array;
  readonly createdMs: Float64Array;
  readonly lastSeenMs: Float64Array;
  readonly heads: Uint32Array;
  readonly generation: Uint32Array;
  readonly lruPrev: UintArray;
  readonly lruNext: UintArray;
  readonly agePrev: UintArray;
  readonly ageNext: UintArray;
  readonly userPrev: UintArray;
  readonly userNext: UintArray;
  readonly slotUser: UintArray;
  readonly userHead: UintArray;
  readonly userCount: UintArray;
  readonly dataLength: UintArray;
  readonly slotRole: Uint8Array;
  readonly secrets: Uint8Array;
  readonly secretsBuf: Buffer;
  readonly idScratch: Uint8Array;
  readonly idScratchBuf: Buffer;
  readonly randomBlock: Uint8Array;
  readonly dataBuf: Buffer;

  /** Interned names; bounded by maxUsers and MAX_ROLES. Maps because keys come from outside. */
  readonly userNames: string[];
  readonly userIndex = new Map<string, number>();
  readonly roleNames: string[];
  readonly roleIndex = new Map<string, number>();

  private readonly sessionView: RingView;
  /** The clock reading taken by the last successful resolve(). */
  private resolvedAtMs = 0;

  constructor(options: StoreOptions) {
    const o = resolveStoreOptions(options);
    this.options = o;
    this.clock = o.clock;
    this.capacity = o.capacity;
    this.nilUser = o.maxUsers;
    this.layout = computeLayout(o);
    this.buffer = new ArrayBuffer(this.layout.totalBytes);
    const r = (name: RegionName) => view(this.buffer, this.layout.regions[name]);
    this.counters = r('counters') as Float64Array;
    this.createdMs = r('createdMs') as Float64Array;
    this.lastSeenMs = r('lastSeenMs') as Float64Array;
    this.heads = r('heads') as Uint32Array;
    this.generation = r('generation') as Uint32Array;
    this.lruPrev = r('lruPrev') as UintArray;
    this.lruNext = r('lruNext') as UintArray;
    this.agePrev = r('agePrev') as UintArray;
    this.ageNext = r('ageNext') as UintArray;
    this.userPrev = r('userPrev') as UintArray;
    this.userNext = r('userNext') as UintArray;
    this.slotUser = r('slotUser') as UintArray;
    this.userHead = r('userHead') as UintArray;
    this.userCount = r('userCount') as UintArray;
    this.dataLength = r('dataLength') as UintArray;
    this.slotRole = r('slotRole') as Uint8Array;
    this.secrets = r('secrets') as Uint8Array;
    this.idScratch = r('idScratch') as Uint8Array;
    this.randomBlock = r('randomBlock') as Uint8Array;
    const region = (name: RegionName) => this.layout.regions[name];
    this.secretsBuf = Buffer.from(this.buffer, region('secrets').byteOffset, region('secrets').byteLength);
    this.idScratchBuf = Buffer.from(this.buffer, region('idScratch').byteOffset, ID_BYTES);
    this.dataBuf = Buffer.from(this.buffer, region('data').byteOffset, region('data').byteLength);
    this.userNames = new Array<string>(o.maxUsers).fill('');
    this.roleNames = new Array<string>(MAX_ROLES).fill('');
    this.sessionView = new RingView(this);
    this.reset();
    if (options.restoreFrom !== undefined) {
      this.restoreSnapshot(options.restoreFrom.snapshot, options.restoreFrom.elapsedMs);
    }
  }

  /** Empty every list and table; generations restart too (nothing can refer to them any more). */
  private reset(): void {
    new Uint8Array(this.buffer).fill(0);
    const cap = this.capacity;
    this.lruPrev[cap] = this.lruNext[cap] = cap;
    this.agePrev[cap] = this.ageNext[cap] = cap;
    for (let s = 0; s < cap; s++) {
      this.lruNext[s] = s + 1;
      this.slotUser[s] = this.nilUser;
    }
    this.lruNext[cap - 1] = cap;
    this.heads[FREE] = 0;
    for (let u = 0; u < this.nilUser; u++) this.userHead[u] = u + 1;
    this.heads[USER_FREE] = 0;
    this.heads[RANDOM_USED] = RANDOM_BLOCK_BYTES;
    this.userNames.fill('');
    this.userIndex.clear();
    this.roleNames.fill('');
    this.roleIndex.clear();
  }

  // ---- link surgery -------------------------------------------------------------------

  private pushFront(prev: UintArray, next: UintArray, s: number): void {
    const S = this.capacity;
    const n = next[S]!;
    next[s] = n;
    prev[s] = S;
    prev[n] = s;
    next[S] = s;
  }

  private pushBack(prev: UintArray, next: UintArray, s: number): void {
    const S = this.capacity;
    const p = prev[S]!;
    prev[s] = p;
    next[s] = S;
    next[p] = s;
    prev[S] = s;
  }

  private unlink(prev: UintArray, next: UintArray, s: number): void {
    const p = prev[s]!;
    const n = next[s]!;
    next[p] = n;
    prev[n] = p;
  }

  /** Add `s` as user `u`'s most recent session. */
  private userAdd(u: number, s: number): void {
    const count = this.userCount[u]!;
    if (count === 0) {
      this.userPrev[s] = this.userNext[s] = s;
    } else {
      const h = this.userHead[u]!;
      const t = this.userPrev[h]!;
      this.userNext[t] = s;
      this.userPrev[s] = t;
      this.userNext[s] = h;
      this.userPrev[h] = s;
    }
    this.userHead[u] = s;
    this.userCount[u] = count + 1;
  }

  private userToFront(u: number, s: number): void {
    const h = this.userHead[u]!;
    if (h === s) return;
    if (this.userPrev[h] !== s) {
      this.unlink(this.userPrev, this.userNext, s);
      const t = this.userPrev[h]!;
      this.userNext[t] = s;
      this.userPrev[s] = t;
      this.userNext[s] = h;
      this.userPrev[h] = s;
    }
    // s was the tail: making it the head rotates the circle, no links change.
    this.userHead[u] = s;
  }

  private touchSlot(s: number, now: number): void {
    this.lastSeenMs[s] = now;
    const S = this.capacity;
    if (this.lruNext[S] !== s) {
      this.unlink(this.lruPrev, this.lruNext, s);
      this.pushFront(this.lruPrev, this.lruNext, s);
    }
    this.userToFront(this.slotUser[s]!, s);
  }

  /** Take `s` out of every list, wipe its secrets and data, return it to the free list. */
  private release(s: number): void {
    this.unlink(this.lruPrev, this.lruNext, s);
    this.unlink(this.agePrev, this.ageNext, s);
    const u = this.slotUser[s]!;
    const count = this.userCount[u]! - 1;
    this.userCount[u] = count;
    if (count === 0) {
      this.userIndex.delete(this.userNames[u]!);
      this.userNames[u] = '';
      this.userHead[u] = this.heads[USER_FREE]!;
      this.heads[USER_FREE] = u;
      this.heads[USERS] = this.heads[USERS]! - 1;
    } else {
      this.unlink(this.userPrev, this.userNext, s);
      if (this.userHead[u] === s) this.userHead[u] = this.userNext[s]!;
    }
    const secretsAt = s * SECRETS_PER_SLOT;
    this.secrets.fill(0, secretsAt, secretsAt + SECRETS_PER_SLOT);
    const dataAt = s * this.options.slotBytes;
    this.dataBuf.fill(0, dataAt, dataAt + this.dataLength[s]!);
    this.dataLength[s] = 0;
    this.slotUser[s] = this.nilUser;
    this.lruNext[s] = this.heads[FREE]!;
    this.heads[FREE] = s;
    this.heads[ACTIVE] = this.heads[ACTIVE]! - 1;
  }

  // ---- expiry -------------------------------------------------------------------------

  private expiry(s: number, now: number): Expiry {
    const absolute = this.createdMs[s]! + this.options.absoluteTimeoutMs;
    const idle = this.lastSeenMs[s]! + this.options.idleTimeoutMs;
    if (now < absolute && now < idle) return LIVE;
    return absolute <= idle ? ABSOLUTE : IDLE;
  }

  private reclaim(s: number, reason: Expiry): void {
    const counter = reason === ABSOLUTE ? EXPIRED_ABSOLUTE : EXPIRED_IDLE;
    this.counters[counter] = this.counters[counter]! + 1;
    this.release(s);
  }

  /** Reclaim every expired session; see the file comment for why two list ends suffice. */
  private sweep(now: number): number {
    const S = this.capacity;
    let reclaimed = 0;
    for (let s = this.lruPrev[S]!; s !== S; s = this.lruPrev[S]!) {
      const reason = this.expiry(s, now);
      if (reason === LIVE) break;
      this.reclaim(s, reason);
      reclaimed++;
    }
    for (let s = this.ageNext[S]!; s !== S; s = this.ageNext[S]!) {
      const reason = this.expiry(s, now);
      if (reason === LIVE) break;
      this.reclaim(s, reason);
      reclaimed++;
    }
    return reclaimed;
  }

  // ---- lookup -------------------------------------------------------------------------

  /**
   * The live slot for `id`, or -1. Reclaims the slot if it has expired. Never throws.
   * The clock is read only once the secret matched (into `resolvedAtMs`): reading it
   * boxes a double, and a forged or stale cookie should allocate nothing.
   */
  private resolve(id: unknown): number {
    const bytes = this.idScratch;
    if (!decodeId(id, bytes)) return -1;
    const s = readU32(bytes, 0);
    if (s >= this.capacity || this.slotUser[s] === this.nilUser || this.generation[s] !== readU32(bytes, 4)) return -1;
    // Slot and generation are public (the ref shows them); only the secret needs constant time.
    const secrets = this.secrets;
    const at = s * SECRETS_PER_SLOT;
    let diff = 0;
    for (let i = 0; i < SECRET_BYTES; i++) diff |= bytes[8 + i]! ^ secrets[at + i]!;
    if (diff !== 0) return -1;
    const now = this.clock.now();
    this.resolvedAtMs = now;
    const reason = this.expiry(s, now);
    if (reason !== LIVE) {
      this.reclaim(s, reason);
      return -1;
    }
    return s;
  }

  private resolveRef(ref: unknown, now: number): number {
    return this.resolveHandle(decodeRef(ref), now);
  }

  private resolveHandle(packed: number, now: number): number {
    if (!Number.isSafeInteger(packed) || packed < 0) return -1;
    const s = Math.floor(packed / 2 ** 32);
    if (s >= this.capacity || this.slotUser[s] === this.nilUser || this.generation[s] !== packed % 2 ** 32) return -1;
    const reason = this.expiry(s, now);
    if (reason !== LIVE) {
      this.reclaim(s, reason);
      return -1;
    }
    return s;
  }

  /** @internal */
  readData(s: number): string | undefined {
    const length = this.dataLength[s]!;
    if (length === 0) return undefined;
    const at = s * this.options.slotBytes;
    return this.dataBuf.toString('utf8', at, at + length);
  }

  private writeData(s: number, json: string | undefined): void {
    const at = s * this.options.slotBytes;
    const old = this.dataLength[s]!;
    const length = json === undefined ? 0 : this.dataBuf.write(json, at, this.options.slotBytes, 'utf8');
    if (old > length) this.dataBuf.fill(0, at + length, at + old);
    this.dataLength[s] = length;
  }

  /** Copy SECRETS_PER_SLOT fresh CSPRNG bytes to secrets[at..], wiping them from the block. */
  private drawSecrets(at: number): void {
    const block = this.randomBlock;
    let used = this.heads[RANDOM_USED]!;
    if (used + SECRETS_PER_SLOT > RANDOM_BLOCK_BYTES) {
      fillRandom(block);
      used = 0;
    }
    const secrets = this.secrets;
    for (let i = 0; i < SECRETS_PER_SLOT; i++) {
      secrets[at + i] = block[used + i]!;
      block[used + i] = 0;
    }
    this.heads[RANDOM_USED] = used + SECRETS_PER_SLOT;
  }

  private showView(s: number): SessionView {
    this.sessionView.slot = s;
    return this.sessionView;
  }

  // ---- public API ---------------------------------------------------------------------

  create(user: string, role: string, data?: unknown): CreatedSession {
    checkName('user', user);
    checkName('role', role);
    // Everything that can refuse runs before anything changes.
    const json = encodeData(data, this.options.slotBytes);
    const now = this.clock.now();
    const reclaimedExpired = this.sweep(now);

    let u = this.userIndex.get(user);
    let victim = -1;
    let reason: EvictionReason = 'lru';
    if (u !== undefined && this.userCount[u]! >= this.options.maxSessionsPerUser) {
      victim = this.userPrev[this.userHead[u]!]!;
      reason = 'user-cap';
    } else if (this.heads[ACTIVE] === this.capacity) {
      victim = this.lruPrev[this.capacity]!;
    }
    if (u === undefined && this.heads[USERS] === this.options.maxUsers
      && (victim < 0 || this.userCount[this.slotUser[victim]!] !== 1)) {
      throw new RingletError('ERR_STORE_FULL', `the user table is full (maxUsers ${this.options.maxUsers})`);
    }
    let r = this.roleIndex.get(role);
    if (r === undefined) {
      if (this.heads[ROLES] === MAX_ROLES) throw new RingletError('ERR_STORE_FULL', `the role table is full (${MAX_ROLES} roles)`);
      r = this.heads[ROLES]!;
      this.heads[ROLES] = r + 1;
      this.roleNames[r] = role;
      this.roleIndex.set(role, r);
    }

    let evictedUser: string | undefined;
    let evictedHandle = 0;
    if (victim >= 0) {
      evictedUser = this.userNames[this.slotUser[victim]!]!;
      evictedHandle = victim * 2 ** 32 + this.generation[victim]!;
      const counter = reason === 'lru' ? EVICTED_LRU : EVICTED_USER_CAP;
      this.counters[counter] = this.counters[counter]! + 1;
      this.release(victim);
      // The victim may have been this user's last session, which frees their entry.
      u = this.userIndex.get(user);
    }

    if (u === undefined) {
      u = this.heads[USER_FREE]!;
      this.heads[USER_FREE] = this.userHead[u]!;
      this.userNames[u] = user;
      this.userIndex.set(user, u);
      this.heads[USERS] = this.heads[USERS]! + 1;
    }

    const s = this.heads[FREE]!;
    this.heads[FREE] = this.lruNext[s]!;
    const generation = (this.generation[s]! + 1) >>> 0;
    this.generation[s] = generation;
    this.drawSecrets(s * SECRETS_PER_SLOT);
    this.createdMs[s] = now;
    this.lastSeenMs[s] = now;
    this.slotUser[s] = u;
    this.slotRole[s] = r;
    this.pushFront(this.lruPrev, this.lruNext, s);
    this.pushBack(this.agePrev, this.ageNext, s);
    this.userAdd(u, s);
    this.writeData(s, json);
    this.heads[ACTIVE] = this.heads[ACTIVE]! + 1;
    this.counters[CREATED] = this.counters[CREATED]! + 1;

    const idBytes = this.idScratch;
    writeU32(idBytes, 0, s);
    writeU32(idBytes, 4, generation);
    // A loop, not set(subarray()): a subarray is a ~100-byte object per create.
    const secretAt = s * SECRETS_PER_SLOT;
    for (let i = 0; i < SECRET_BYTES; i++) idBytes[8 + i] = this.secrets[secretAt + i]!;
    const id = this.idScratchBuf.toString('base64url', 0, ID_BYTES);
    idBytes.fill(0);
    return new Created(id, s, generation, reclaimedExpired, evictedUser, reason, evictedHandle);
  }

  get(id: unknown, options?: GetOptions): SessionView | undefined {
    const s = this.resolve(id);
    if (s < 0) return undefined;
    if (options?.touch !== false) this.touchSlot(s, this.resolvedAtMs);
    return this.showView(s);
  }

  touch(id: unknown): boolean {
    const s = this.resolve(id);
    if (s < 0) return false;
    this.touchSlot(s, this.resolvedAtMs);
    return true;
  }

  update(id: unknown, data: unknown): boolean {
    const json = encodeData(data, this.options.slotBytes);
    const s = this.resolve(id);
    if (s < 0) return false;
    this.writeData(s, json);
    return true;
  }

  destroy(id: unknown): boolean {
    const s = this.resolve(id);
    if (s < 0) return false;
    this.counters[DESTROYED] = this.counters[DESTROYED]! + 1;
    this.release(s);
    return true;
  }

  destroyUser(user: string): number {
    if (typeof user !== 'string') return 0;
    const u = this.userIndex.get(user);
    if (u === undefined) return 0;
    const now = this.clock.now();
    let ended = 0;
    // release() frees the user entry with the last session; count down a copy.
    for (let left = this.userCount[u]!; left > 0; left--) {
      const s = this.userHead[u]!;
      const reason = this.expiry(s, now);
      if (reason === LIVE) {
        this.counters[DESTROYED] = this.counters[DESTROYED]! + 1;
        this.release(s);
        ended++;
      } else {
        this.reclaim(s, reason);
      }
    }
    return ended;
  }

  getByRef(ref: unknown): SessionView | undefined {
    const s = this.resolveRef(ref, this.clock.now());
    return s < 0 ? undefined : this.showView(s);
  }

  getByHandle(handle: number): SessionView | undefined {
    const s = this.resolveHandle(handle, this.clock.now());
    return s < 0 ? undefined : this.showView(s);
  }

  destroyByRef(ref: unknown): boolean {
    const s = this.resolveRef(ref, this.clock.now());
    if (s < 0) return false;
    this.counters[DESTROYED] = this.counters[DESTROYED]! + 1;
    this.release(s);
    return true;
  }

  list(user?: string): SessionListEntry[] {
    this.sweep(this.clock.now());
    const out: SessionListEntry[] = [];
    if (user === undefined) {
      const S = this.capacity;
      for (let s = this.lruNext[S]!; s !== S; s = this.lruNext[s]!) out.push(this.entry(s));
      return out;
    }
    const u = typeof user === 'string' ? this.userIndex.get(user) : undefined;
    if (u === undefined) return out;
    let s = this.userHead[u]!;
    for (let left = this.userCount[u]!; left > 0; left--, s = this.userNext[s]!) out.push(this.entry(s));
    return out;
  }

  private entry(s: number): SessionListEntry {
    return {
      ref: encodeRef(s, this.generation[s]!),
      user: this.userNames[this.slotUser[s]!]!,
      role: this.roleNames[this.slotRole[s]!]!,
      createdMs: this.createdMs[s]!,
      lastSeenMs: this.lastSeenMs[s]!,
      idleExpiresMs: this.lastSeenMs[s]! + this.options.idleTimeoutMs,
      absoluteExpiresMs: this.createdMs[s]! + this.options.absoluteTimeoutMs,
      dataBytes: this.dataLength[s]!,
      data: this.readData(s),
    };
  }

  stats(): StoreStats {
    this.sweep(this.clock.now());
    const c = this.counters;
    return {
      capacity: this.capacity,
      active: this.heads[ACTIVE]!,
      users: this.heads[USERS]!,
      bytes: this.layout.totalBytes,
      slotBytes: this.options.slotBytes,
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
    return `SessionStore { capacity: ${this.capacity}, occupied: ${this.heads[ACTIVE]}, bytes: ${this.layout.totalBytes} }`;
  }

  // ---- snapshots ----------------------------------------------------------------------

  writeSnapshot(): Buffer {
    const now = this.clock.now();
    this.sweep(now);
    this.discardRandomBlock();
    const users: Array<[number, string]> = [];
    for (const [name, u] of this.userIndex) users.push([u, name]);
    const names = JSON.stringify({ users, roles: this.roleNames.slice(0, this.heads[ROLES]) });
    return encodeSnapshot(this.options, this.layout, new Uint8Array(this.buffer), names, now);
  }

  /**
   * Unused random bytes would predict the next sessions' secrets: never persisted, and
   * never taken from a snapshot (a forged one could claim a zeroed block is unused).
   */
  private discardRandomBlock(): void {
    this.randomBlock.fill(0);
    this.heads[RANDOM_USED] = RANDOM_BLOCK_BYTES;
  }

  restoreSnapshot(snapshot: Uint8Array, elapsedMs: number): void {
    validateElapsedMs('elapsedMs', elapsedMs);
    if (!(snapshot instanceof Uint8Array)) throw new SnapshotError('magic', 'snapshot must be a Buffer or Uint8Array');
    this.reset();
    try {
      const names = decodeSnapshot(snapshot, this.options, this.layout, new Uint8Array(this.buffer), this.clock.now(), elapsedMs);
      this.restoreNames(names);
      this.checkStructure();
    } catch (error) {
      this.reset();
      if (error instanceof SnapshotError) throw error;
      throw new SnapshotError('structure', 'inconsistent store state');
    }
    this.discardRandomBlock();
  }

  private restoreNames(json: string): void {
    const parsed = JSON.parse(json) as { users?: unknown; roles?: unknown };
    const { users, roles } = parsed;
    if (!Array.isArray(users) || !Array.isArray(roles) || roles.length !== this.heads[ROLES]) {
      throw new SnapshotError('structure', 'name tables do not match the state');
    }
    roles.forEach((role, r) => {
      if (typeof role !== 'string' || this.roleIndex.has(role)) throw new SnapshotError('structure', 'bad role table');
      this.roleNames[r] = role;
      this.roleIndex.set(role, r);
    });
    if (users.length !== this.heads[USERS]) throw new SnapshotError('structure', 'user table size does not match');
    for (const item of users) {
      const [u, name] = Array.isArray(item) ? item : [];
      if (typeof u !== 'number' || !Number.isInteger(u) || u < 0 || u >= this.nilUser || typeof name !== 'string'
        || this.userNames[u] !== '' || this.userIndex.has(name) || this.userCount[u] === 0) {
        throw new SnapshotError('structure', 'bad user table');
      }
      this.userNames[u] = name;
      this.userIndex.set(name, u);
    }
  }

  /** Walk every list once, bounded by capacity, so a corrupt snapshot cannot loop or index out of range. */
  private checkStructure(): void {
    const cap = this.capacity;
    const fail = (what: string): never => {
      throw new SnapshotError('structure', what);
    };
    const active = this.heads[ACTIVE]!;
    if (active > cap || this.heads[USERS]! > this.nilUser || this.heads[ROLES]! > MAX_ROLES) fail('bad counts');
    for (const [prev, next, name] of [[this.lruPrev, this.lruNext, 'LRU'], [this.agePrev, this.ageNext, 'age']] as const) {
      let seen = 0;
      let p = cap;
      for (let s = next[cap]!; s !== cap; p = s, s = next[s]!) {
        if (s >= cap || prev[s] !== p || ++seen > active || this.slotUser[s] === this.nilUser) fail(`${name} list`);
      }
      // The sentinel's back link is where the sweep starts: it must be the last slot walked.
      if (seen !== active || prev[cap] !== p) fail(`${name} list length`);
    }
    let free = 0;
    for (let s = this.heads[FREE]!; s !== cap; s = this.lruNext[s]!) {
      if (s >= cap || this.slotUser[s] !== this.nilUser || ++free > cap - active) fail('free list');
    }
    if (free !== cap - active) fail('free list length');
    let sessions = 0;
    // Each live slot on exactly one user list: a list that repeats a slot would skip another.
    const listed = new Uint8Array(cap);
    for (const u of this.userIndex.values()) {
      const count = this.userCount[u]!;
      let s = this.userHead[u]!;
      for (let k = 0; k < count; k++, s = this.userNext[s]!) {
        if (s >= cap || listed[s] === 1 || this.slotUser[s] !== u || this.userPrev[this.userNext[s]!] !== s) fail('user list');
        listed[s] = 1;
      }
      if (s !== this.userHead[u]) fail('user list is not a circle');
      sessions += count;
    }
    if (sessions !== active) fail('user counts');
    let freeUsers = 0;
    for (let u = this.heads[USER_FREE]!; u !== this.nilUser; u = this.userHead[u]!) {
      if (u > this.nilUser || this.userCount[u] !== 0 || ++freeUsers > this.nilUser) fail('user free list');
    }
    if (freeUsers + this.heads[USERS]! !== this.nilUser) fail('user free list length');
    for (let s = 0; s < cap; s++) {
      if (this.slotUser[s] === this.nilUser) continue;
      if (this.slotUser[s]! > this.nilUser || this.userNames[this.slotUser[s]!] === '') fail('slot user');
      if (this.slotRole[s]! >= this.heads[ROLES]! || this.dataLength[s]! > this.options.slotBytes) fail('slot fields');
    }
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
