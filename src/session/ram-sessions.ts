/**
 * RAM mode: the cookie carries the store id; everything else lives in the preallocated
 * store, timed on the monotonic clock. Bearer JWTs work alongside; a raw store id sent as
 * `Authorization: Bearer` is accepted too (ids are never taken from URLs).
 */
import { refOfHandle, type SessionStore, type SessionView } from '../store/index.js';
import type { Role } from '../access/roles.js';
import type { BearerTokens } from './bearer.js';
import type { RevocationTables } from './revocation.js';
import type { SessionEndListener } from './session-end.js';
import type { SessionClocks } from './time-policy.js';
import type { IssuedSession, IssuedToken, Resolution, RevokeUserOptions, Session, SessionListing, SessionManager, SessionStats } from './types.js';

interface SessionData {
  /** Client address at login, for the admin list. */
  a?: string;
}

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
  readonly #handle: number;
  readonly #createdMono: number;
  readonly #lastSeenMono: number;
  readonly #idleTimeoutMs: number;
  readonly #absoluteTimeoutMs: number;
  readonly #store: SessionStore;
  readonly #clocks: SessionClocks;
  #csrfToken: string | undefined | null = null;

  constructor(view: SessionView, store: SessionStore, clocks: SessionClocks) {
    this.user = view.user;
    this.role = view.role as Role;
    this.#handle = view.handle;
    this.#createdMono = view.createdMs;
    this.#lastSeenMono = view.lastSeenMs;
    this.#idleTimeoutMs = view.idleExpiresMs - view.lastSeenMs;
    this.#absoluteTimeoutMs = view.absoluteExpiresMs - view.createdMs;
    this.#store = store;
    this.#clocks = clocks;
  }

  get ref(): string {
    return refOfHandle(this.#handle);
  }

  get csrfToken(): string | undefined {
    if (this.#csrfToken === null) this.#csrfToken = this.#store.getByHandle(this.#handle)?.csrfToken;
    return this.#csrfToken;
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
      createdAtMs: this.createdAtMs, idleExpiresAtMs: this.idleExpiresAtMs, absoluteExpiresAtMs: this.absoluteExpiresAtMs,
    };
  }
}

export class RamSessions implements SessionManager {
  readonly mode = 'ram' as const;

  constructor(
    private readonly store: SessionStore,
    private readonly clocks: SessionClocks,
    private readonly revocation: RevocationTables,
    private readonly bearer: BearerTokens,
  ) {}

  /** Monotonic ms → wall-clock ms for display. */
  private wall(monoMs: number): number {
    return this.clocks.wall.now() - (this.clocks.monotonic.now() - monoMs);
  }

  private toSession(view: SessionView): Session {
    return new RamSession(view, this.store, this.clocks);
  }

  issue(user: string, role: Role, clientAddress: string | undefined): IssuedSession {
    const data: SessionData | undefined = clientAddress ? { a: clientAddress } : undefined;
    const created = this.store.create(user, role, data);
    const view = this.store.get(created.id, { touch: false });
    if (view === undefined) throw new Error('store lost a session it just created');
    return {
      session: this.toSession(view),
      cookieValue: created.id,
      evicted: created.evicted ? { user: created.evicted.user, reason: created.evicted.reason } : undefined,
    };
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
      let clientAddress: string | undefined;
      try {
        const data = (entry.data === undefined ? undefined : JSON.parse(entry.data)) as SessionData | undefined;
        clientAddress = typeof data?.a === 'string' ? data.a : undefined;
      } catch {
        clientAddress = undefined;
      }
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
