/**
 * RAM mode: the cookie carries the store id; everything else lives in the preallocated
 * store, timed on the monotonic clock. Bearer JWTs work alongside; a raw store id sent as
 * `Authorization: Bearer` is accepted too (ids are never taken from URLs).
 */
import type { SessionStore, SessionView } from '../store/index.js';
import type { Role } from '../server/options.js';
import type { BearerTokens } from './bearer.js';
import type { RevocationTables } from './revocation.js';
import type { SessionClocks } from './time-policy.js';
import type { IssuedSession, IssuedToken, Resolution, Session, SessionListing, SessionManager, SessionStats } from './types.js';

interface SessionData {
  /** Client address at login, for the admin list. */
  a?: string;
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
    return {
      user: view.user,
      role: view.role as Role,
      ref: view.ref,
      via: 'cookie',
      csrfToken: view.csrfToken,
      scope: undefined,
      createdAtMs: this.wall(view.createdMs),
      idleExpiresAtMs: this.wall(view.idleExpiresMs),
      absoluteExpiresAtMs: this.wall(view.absoluteExpiresMs),
    };
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
    if (session.via === 'bearer') this.bearer.revoke(session.ref, session.user, session.absoluteExpiresAtMs - this.clocks.wall.now());
    else this.store.destroyByRef(session.ref);
  }

  revokeUser(user: string): number {
    // Bearer tokens of the user go too: they are not in the store.
    this.revocation.revokeUser(user);
    return this.store.destroyUser(user);
  }

  revokeRef(ref: string): { user: string } | undefined {
    const view = this.store.getByRef(ref);
    if (view === undefined) return undefined;
    const user = view.user;
    this.store.destroyByRef(ref);
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

  revokeToken(jti: string, user: string, expiresInMs: number): void {
    this.bearer.revoke(jti, user, expiresInMs);
  }

  stats(): SessionStats {
    const s = this.store.stats();
    const r = this.revocation.stats();
    return {
      mode: 'ram', active: s.active, capacity: s.capacity, storeBytes: s.bytes, created: s.created, evicted: s.evicted,
      expiredIdle: s.expiredIdle, expiredAbsolute: s.expiredAbsolute, destroyed: s.destroyed, revocationEntries: r.users + r.deniedIds,
    };
  }
}
