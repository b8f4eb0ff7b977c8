/**
 * RAM mode: the cookie carries the store id; everything else lives in the preallocated
 * store, timed on the monotonic clock. Bearer JWTs work alongside; a raw store id sent as
 * `Authorization: Bearer` is accepted too (ids are never taken from URLs).
 */
import { refOfHandle, type SessionStore, type SessionView } from '../store/index.js';
import type { Role } from '../access/roles.js';
import type { BearerTokens } from './bearer.js';
import type { RevocationTables } from './revocation.js';
import { checkSubject } from './claims.js';
import { toSessionData } from './session-data.js';
import type { SessionEndListener } from './session-end.js';
import type { SessionClocks } from './time-policy.js';
import type { IssuedSession, IssuedToken, Resolution, RevokeUserOptions, Session, SessionListing, SessionManager, SessionStats } from './types.js';

/**
 * What a session's slot holds (UTF-8 JSON, at most the store's slotBytes): the client
 * address at login, for the admin list, and the embedding service's own data.
 */
interface SlotData {
  a?: string;
  d?: unknown;
}

function readSlot(json: string | undefined): SlotData | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed = JSON.parse(json) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as SlotData) : undefined;
  } catch {
    return undefined;
  }
}

/** Not read yet (a session's data is parsed from its slot on first read only). */
const UNREAD: unique symbol = Symbol('unread');

/**
 * A RAM session as routes see it. Forward-auth, the hot path, reads only the user and the
 * role, so the ref, the CSRF token and the wall-clock times are derived on first read
 * (eagerly they were a fifth of ringlet's own work per request). The CSRF token is read
 * from the slot only while the slot still holds this session: a slot reused later in the
 * same request never lends its token to another session.
 */
class RamSession implements Session {
  readonly via = 'cookie' as const;
  readonly scope = undefined;
  readonly user: string;
  readonly role: Role;
  /** The store's numeric handle of the slot (as public as the ref). */
  readonly handle: number;
  readonly #createdMono: number;
  readonly #lastSeenMono: number;
  readonly #idleTimeoutMs: number;
  readonly #absoluteTimeoutMs: number;
  readonly #store: SessionStore;
  readonly #clocks: SessionClocks;
  #csrfToken: string | undefined | null = null;
  #data: unknown = UNREAD;

  constructor(view: SessionView, store: SessionStore, clocks: SessionClocks) {
    this.user = view.user;
    this.role = view.role as Role;
    this.handle = view.handle;
    this.#createdMono = view.createdMs;
    this.#lastSeenMono = view.lastSeenMs;
    this.#idleTimeoutMs = view.idleExpiresMs - view.lastSeenMs;
    this.#absoluteTimeoutMs = view.absoluteExpiresMs - view.createdMs;
    this.#store = store;
    this.#clocks = clocks;
  }

  get ref(): string {
    return refOfHandle(this.handle);
  }

  get csrfToken(): string | undefined {
    if (this.#csrfToken === null) this.#csrfToken = this.#store.getByHandle(this.handle)?.csrfToken;
    return this.#csrfToken;
  }

  /** True when this session came from `store` (another manager's handle means nothing here). */
  isOf(store: SessionStore): boolean {
    return this.#store === store;
  }

  get data(): unknown {
    if (this.#data === UNREAD) this.#data = readSlot(this.#store.getByHandle(this.handle)?.dataJson)?.d;
    return this.#data;
  }

  /** Monotonic ms → wall-clock ms for display. */
  #wall(monoMs: number): number {
    return this.#clocks.wall.now() - (this.#clocks.monotonic.now() - monoMs);
  }

  get createdAtMs(): number {
    return this.#wall(this.#createdMono);
  }

  get idleExpiresAtMs(): number {
    return this.#wall(this.#lastSeenMono + this.#idleTimeoutMs);
  }

  get absoluteExpiresAtMs(): number {
    return this.#wall(this.#createdMono + this.#absoluteTimeoutMs);
  }

  toJSON(): Session {
    return {
      user: this.user, role: this.role, ref: this.ref, via: this.via, csrfToken: this.csrfToken, scope: this.scope,
      createdAtMs: this.createdAtMs, idleExpiresAtMs: this.idleExpiresAtMs, absoluteExpiresAtMs: this.absoluteExpiresAtMs, data: this.data,
    };
  }
}

export class RamSessions implements SessionManager {
  readonly mode = 'ram' as const;

  private readonly slotBytes: number;

  constructor(
    private readonly store: SessionStore,
    private readonly clocks: SessionClocks,
    private readonly revocation: RevocationTables,
    private readonly bearer: BearerTokens,
  ) {
    this.slotBytes = store.stats().slotBytes;
  }

  /** Monotonic ms → wall-clock ms for display. */
  private wall(monoMs: number): number {
    return this.clocks.wall.now() - (this.clocks.monotonic.now() - monoMs);
  }

  private toSession(view: SessionView): Session {
    return new RamSession(view, this.store, this.clocks);
  }

  /** The slot's data with `d` replaced; undefined when nothing is left to store. */
  private slotWith(slot: SlotData | undefined, data: unknown): SlotData | undefined {
    const d = toSessionData(data, this.slotBytes, 'slot');
    const next: SlotData = {};
    if (typeof slot?.a === 'string') next.a = slot.a;
    if (d !== undefined) next.d = d;
    return next.a === undefined && next.d === undefined ? undefined : next;
  }

  issue(user: string, role: Role, clientAddress: string | undefined, data?: unknown): IssuedSession {
    // The store takes longer names; a user's sessions and tokens take the same ones in both modes.
    checkSubject(user);
    const slot = this.slotWith(clientAddress ? { a: clientAddress } : undefined, data);
    // The store checks the whole slot against slotBytes (ERR_DATA_TOO_LARGE, nothing created).
    const created = this.store.create(user, role, slot);
    const view = this.store.get(created.id, { touch: false });
    if (view === undefined) throw new Error('store lost a session it just created');
    return {
      session: this.toSession(view),
      cookieValue: created.id,
      evicted: created.evicted ? { user: created.evicted.user, reason: created.evicted.reason } : undefined,
    };
  }

  setData(session: Session, data: unknown): Resolution | undefined {
    if (!(session instanceof RamSession) || !session.isOf(this.store)) return undefined;
    const view = this.store.getByHandle(session.handle);
    if (view === undefined) return undefined;
    const slot = this.slotWith(readSlot(view.dataJson), data);
    if (!this.store.updateByHandle(session.handle, slot)) return undefined;
    const now = this.store.getByHandle(session.handle);
    return now === undefined ? undefined : { session: this.toSession(now), reissueCookie: undefined };
  }

  resolveCookie(values: readonly string[], touch: boolean): Resolution | undefined {
    for (const value of values) {
      const view = this.store.get(value, { touch });
      if (view !== undefined) return { session: this.toSession(view), reissueCookie: undefined };
    }
    return undefined;
  }

  resolveBearer(token: string, touch: boolean): Session | undefined {
    // A JWT always has dots; a store id never does.
    if (token.includes('.')) return this.bearer.resolve(token);
    return this.resolveCookie([token], touch)?.session;
  }

  revoke(session: Session): void {
    if (session.via === 'bearer') this.bearer.revokeSession(session);
    else if (this.store.destroyByRef(session.ref)) this.revocation.ended.emit({ scope: 'session', user: session.user, ref: session.ref });
  }

  revokeUser(user: string, options?: RevokeUserOptions): number {
    // Bearer tokens of the user go too: they are not in the store.
    this.revocation.revokeUser(user, options?.includeThisMillisecond === true);
    return this.store.destroyUser(user);
  }

  /**
   * Ends this store's sessions of `user` (of everyone when undefined) that began before
   * `wallMs` (all of them for null: a moment recorded under an untrusted wall clock), as a
   * revocation made on another instance requires: a RAM session lives in one instance, but
   * a logout everywhere or a password change made elsewhere must end it too. Creation times
   * are this instance's estimates on the wall clock (untrusted here: every one is earlier,
   * so they all end). Returns the number ended; each is announced.
   */
  endSessionsBefore(user: string | undefined, wallMs: number | null): number {
    let ended = 0;
    for (const entry of this.store.list(user)) {
      if (wallMs !== null && this.wall(entry.createdMs) >= wallMs) continue;
      if (!this.store.destroyByRef(entry.ref)) continue;
      ended++;
      this.revocation.ended.emit({ scope: 'session', user: entry.user, ref: entry.ref });
    }
    return ended;
  }

  revokeRef(ref: string): { user: string } | undefined {
    const view = this.store.getByRef(ref);
    if (view === undefined) return undefined;
    const user = view.user;
    this.store.destroyByRef(ref);
    this.revocation.ended.emit({ scope: 'session', user, ref });
    return { user };
  }

  list(user?: string): SessionListing[] {
    return this.store.list(user).map((entry) => {
      const a = readSlot(entry.data)?.a;
      const clientAddress = typeof a === 'string' ? a : undefined;
      return {
        ref: entry.ref,
        user: entry.user,
        role: entry.role as Role,
        createdAtMs: this.wall(entry.createdMs),
        lastSeenAtMs: this.wall(entry.lastSeenMs),
        clientAddress,
      };
    });
  }

  issueToken(user: string, role: Role, scope: readonly string[]): IssuedToken {
    return this.bearer.issue(user, role, scope);
  }

  revokeToken(jti: string, user: string): void {
    this.bearer.revokeJti(jti, user);
  }

  revokeTokenValue(token: string): { jti: string; user: string } | undefined {
    return this.bearer.revokeValue(token);
  }

  revocationsSettled(): Promise<void> {
    return this.revocation.settled();
  }

  onEnd(listener: SessionEndListener): () => void {
    return this.revocation.ended.add(listener);
  }

  stats(): SessionStats {
    const s = this.store.stats();
    const r = this.revocation.stats();
    const tokens = this.bearer.cacheStats();
    return {
      mode: 'ram', active: s.active, capacity: s.capacity, storeBytes: s.bytes, created: s.created, evicted: s.evicted,
      expiredIdle: s.expiredIdle, expiredAbsolute: s.expiredAbsolute, destroyed: s.destroyed, revocationEntries: r.users + r.deniedIds + r.spans,
      verifiedCacheHits: tokens.hits, verifiedCacheMisses: tokens.misses,
    };
  }
}
