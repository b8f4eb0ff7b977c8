/**
 * Revocation without session storage (cookie mode, bearer tokens), in bounded memory.
 *
 * - A per-user "not before" table: logout-everywhere records the moment; any session of that
 *   user that logged in earlier is refused. Appliances have few users; when the table is
 *   full, the oldest entry is not dropped (that would silently un-revoke sessions) but
 *   folded into a global not-before, which fails closed: everyone who logged in before it
 *   must log in again.
 * - A denylist of single session/token ids (logout of one cookie session, revocation of one
 *   bearer token by `jti`). Entries drop out once the token would have expired anyway. When
 *   the list is full of live entries, the owner's not-before is raised instead (fail closed).
 *
 * Moments are recorded on both clocks, so a check can use whichever the token is timed on
 * (see time-policy.ts).
 */
import { SessionEndListeners } from './session-end.js';
import type { SessionClocks } from './time-policy.js';

/** A moment on both clocks. `wallMs` is NaN when the wall clock was untrusted. */
export interface Moment {
  monoMs: number;
  wallMs: number;
}

/** When a session or token began, as far as this instance can tell. */
export interface IssuedAt {
  /** Monotonic ms of login, when minted by this boot; otherwise undefined. */
  monoMs: number | undefined;
  /** Wall ms of login, when minted with a trusted wall clock; otherwise NaN. */
  wallMs: number;
}

/**
 * Rough bytes per Map entry (key string, value object, hash table slot) on V8, used for the
 * footprint estimate; measured order of magnitude, kept generous.
 */
export const REVOCATION_ENTRY_BYTES = 192;

export function revocationFootprintBytes(entries: number): number {
  // Two tables (not-before and denylist) of `entries` each.
  return 2 * entries * REVOCATION_ENTRY_BYTES;
}

function before(issued: IssuedAt, moment: Moment): boolean {
  if (issued.monoMs !== undefined) return issued.monoMs < moment.monoMs;
  // A foreign token is compared on the wall clock; an untrusted moment revokes it (fail closed).
  if (Number.isNaN(moment.wallMs)) return true;
  return issued.wallMs < moment.wallMs;
}

export class RevocationTables {
  private readonly entries: number;
  private readonly clocks: SessionClocks;
  private readonly notBefore = new Map<string, Moment>();
  private globalNotBefore: Moment | undefined;
  /** id → monotonic ms after which the id would be expired anyway (the entry can go). */
  private readonly denied = new Map<string, { user: string; untilMonoMs: number }>();
  revokedUsers = 0;
  deniedIds = 0;
  overflows = 0;
  /** Every revocation is announced here, after it took effect (both modes and bearer tokens). */
  readonly ended = new SessionEndListeners();

  constructor(entries: number, clocks: SessionClocks) {
    this.entries = entries;
    this.clocks = clocks;
  }

  private now(): Moment {
    // Whole milliseconds, like the issue times tokens carry (claims.ts): a fractional moment
    // refused a session issued in the same millisecond right after the revocation (the
    // password change ends the user's sessions, then issues the new one).
    const wallMs = Math.floor(this.clocks.wall.now());
    return {
      monoMs: Math.floor(this.clocks.monotonic.now()),
      wallMs: wallMs >= this.clocks.trustedFloorMs ? wallMs : Number.NaN,
    };
  }

  /** Every session of `user` that began before now is refused from now on. */
  revokeUser(user: string): void {
    this.revokedUsers++;
    if (!this.notBefore.has(user) && this.notBefore.size >= this.entries) {
      // Fold everything into the global not-before rather than forget a revocation.
      this.overflows++;
      this.notBefore.clear();
      this.globalNotBefore = this.now();
      this.ended.emit({ scope: 'all' });
    }
    this.notBefore.delete(user); // re-insert keeps Map order = age order
    this.notBefore.set(user, this.now());
    this.ended.emit({ scope: 'user', user });
  }

  /** Refuse one session or token id until it would have expired on its own. */
  denyId(id: string, user: string, expiresInMs: number): void {
    this.deniedIds++;
    const nowMono = this.clocks.monotonic.now();
    if (!this.denied.has(id) && this.denied.size >= this.entries) {
      this.dropExpired(nowMono);
      if (this.denied.size >= this.entries) {
        this.overflows++;
        this.revokeUser(user);
        return;
      }
    }
    this.denied.set(id, { user, untilMonoMs: nowMono + Math.max(0, expiresInMs) });
    this.ended.emit({ scope: 'session', user, ref: id });
  }

  private dropExpired(nowMono: number): void {
    for (const [id, entry] of this.denied) {
      if (entry.untilMonoMs <= nowMono) this.denied.delete(id);
    }
  }

  /** True when a session of `user` with id `id` that began at `issued` must be refused. */
  isRevoked(user: string, id: string, issued: IssuedAt): boolean {
    if (this.globalNotBefore !== undefined && before(issued, this.globalNotBefore)) return true;
    if (this.notBefore.size > 0) {
      const moment = this.notBefore.get(user);
      if (moment !== undefined && before(issued, moment)) return true;
    }
    if (this.denied.size > 0) {
      const entry = this.denied.get(id);
      if (entry !== undefined) {
        if (entry.untilMonoMs > this.clocks.monotonic.now()) return true;
        this.denied.delete(id);
      }
    }
    return false;
  }

  stats(): { users: number; deniedIds: number; capacity: number; overflows: number } {
    return { users: this.notBefore.size, deniedIds: this.denied.size, capacity: this.entries, overflows: this.overflows };
  }
}
