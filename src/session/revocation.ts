/**
 * Revocation without session storage (cookie mode, bearer tokens), in bounded memory, with a
 * durable part small enough to write on every revocation event (revocation-events.ts).
 *
 * What is held:
 * - Per user, a "not before": every credential of that user issued earlier is refused
 *   (logout everywhere, password change, a user removed or given another role).
 * - Denied ids: one credential each (logout of one cookie session or token, a `jti` revoked
 *   by an admin), kept until the credential would have expired on its own.
 * - Per user, folded spans: credentials of that user issued within [from, to]. When the
 *   denied ids fill the table, the user holding the most entries gives up room (max-min
 *   fairness): their entries closest together in issue time are merged into spans, so a
 *   flood of one user's logouts (all issued within seconds) folds into one span that
 *   cannot reach another user, nor that user's devices signed in before or after the flood.
 * - An "all not before", only when the not-before table itself is full: its oldest entry
 *   folds into it (fail closed: everyone who signed in before that moment signs in again).
 *
 * Clocks (time-policy.ts). A credential's issue time is known on this boot's monotonic
 * clock when this boot minted it, and on the wall clock when the wall clock was trusted at
 * minting. A not-before recorded here keeps both; one applied from the file or another
 * instance is known on the wall clock only (its monotonic time is when it was applied):
 * - same boot vs a local moment: monotonic (immune to wall-clock jumps);
 * - a credential minted here after an applied moment was applied: not refused by it;
 * - otherwise wall clock against wall clock; where either side is unknown (recorded under an
 *   untrusted wall clock), refused: it cannot be placed, so it fails closed.
 * A moment recorded under an untrusted wall clock is placed at the first trusted reading
 * (later than the real moment: it refuses more, never less), and at the highest wall time
 * this boot has put into a credential, so a wall clock that ran ahead and was set back
 * cannot make a credential minted meanwhile look newer than the revocation.
 */
import { MAX_CREDENTIAL_LIFETIME_MS } from '../util/durations.js';
import { LEEWAY_MS } from './claims.js';
import { SessionEndListeners } from './session-end.js';
import { wallClockTrusted, type SessionClocks } from './time-policy.js';
import type { RevocationEvent } from './revocation-events.js';

/** When a session or token began (its login), as far as this instance can tell. */
export interface IssuedAt {
  /** Monotonic ms of login, when minted by this boot; otherwise undefined. */
  monoMs: number | undefined;
  /** Wall ms of login, when minted with a trusted wall clock; otherwise NaN. */
  wallMs: number;
}

/** What revoking one known credential must know: when it began and how long it can be accepted. */
export interface CredentialLife {
  issued: IssuedAt;
  /** Monotonic ms after which this boot no longer accepts it as its own (−Infinity for another boot's). */
  untilMonoMs: number;
  /** Wall ms after which no instance accepts it; NaN when only this boot can (minted under an untrusted clock). */
  untilWallMs: number;
}

/** Where a revocation event came from: the revocation file at start, or another instance. */
export type EventOrigin = 'file' | 'remote';

/** Who keeps the durable part: told of every change, and asked when it is safely written. */
export interface RevocationPersistence {
  changed(): void;
  settled(): Promise<void>;
}

export interface RevocationTablesOptions {
  /**
   * The longest any credential this server accepts can live (session absolute timeout,
   * token lifetimes, plus leeway). A not-before or a revocation of unknown expiry is kept
   * this long; too short would un-revoke, so the default is the longest any profile allows.
   */
  longestCredentialMs?: number;
}

/**
 * Bytes per entry for the footprint estimate: measured 290 B on Node 20 x64 (a denied id
 * and a not-before per entry, each of a different user: Map slots, the entry, the user's
 * record and name), kept generous.
 */
export const REVOCATION_ENTRY_BYTES = 320;

export function revocationFootprintBytes(entries: number): number {
  // Two tables (not-before and denied ids with spans) of `entries` each.
  return 2 * entries * REVOCATION_ENTRY_BYTES;
}

/** A full table is swept for expired entries at most this often (a sweep walks it all). */
export const REVOCATION_SWEEP_INTERVAL_MS = 1_000;
/** Spans a user may hold: each request of theirs checks them all, so more are merged. */
export const MAX_SPANS_PER_USER = 8;
/** A user who must give up room folds a quarter of their entries at once (the sort is amortized). */
const FOLD_FRACTION = 4;
/** The longest any credential lives, plus the leeway it is timed with (claims.ts). */
const DEFAULT_LONGEST_CREDENTIAL_MS = MAX_CREDENTIAL_LIFETIME_MS + LEEWAY_MS;

/**
 * A moment on two clocks. `wallMs`: NaN = recorded under an untrusted wall clock (refuses
 * every credential of another boot until placed); −Infinity = refuses none of them (it
 * only ever covered credentials of this boot minted under an untrusted clock).
 */
interface Moment {
  monoMs: number;
  wallMs: number;
}

function laterMoment(a: Moment | undefined, b: Moment): Moment {
  if (a === undefined) return { ...b };
  const wallMs = Number.isNaN(a.wallMs) || Number.isNaN(b.wallMs) ? Number.NaN : Math.max(a.wallMs, b.wallMs);
  return { monoMs: Math.max(a.monoMs, b.monoMs), wallMs };
}

/** Wall condition of expiry: −Infinity never mattered, NaN is not known yet, else `longest` has passed. */
function wallPassed(wallMs: number, wallNow: number, longestMs: number): boolean {
  if (wallMs === Number.NEGATIVE_INFINITY) return true;
  return wallNow - wallMs >= longestMs;
}

/** A not-before on two footings: recorded by this boot, and applied from elsewhere. */
class NotBefore {
  local: Moment | undefined;
  external: Moment | undefined;

  refuses(c: IssuedAt): boolean {
    const l = this.local;
    if (l !== undefined) {
      if (c.monoMs !== undefined ? c.monoMs < l.monoMs : !(c.wallMs >= l.wallMs)) return true;
    }
    const e = this.external;
    if (e !== undefined) {
      // Minted here after this was applied: after the revocation, whatever the wall clocks say.
      if (!(c.monoMs !== undefined && c.monoMs >= e.monoMs) && !(c.wallMs >= e.wallMs)) return true;
    }
    return false;
  }

  place(wallMs: number): boolean {
    let placed = false;
    for (const m of [this.local, this.external]) {
      if (m !== undefined && Number.isNaN(m.wallMs)) {
        m.wallMs = wallMs;
        placed = true;
      }
    }
    return placed;
  }

  /** Drops the parts every credential they refuse has outlived; true when nothing is left. */
  dropExpired(monoNow: number, wallNow: number, longestMs: number): boolean {
    const gone = (m: Moment | undefined) => m !== undefined && monoNow - m.monoMs >= longestMs && wallPassed(m.wallMs, wallNow, longestMs);
    if (gone(this.local)) this.local = undefined;
    if (gone(this.external)) this.external = undefined;
    return this.local === undefined && this.external === undefined;
  }

  /** The wall moment to write: null when it cannot be placed, undefined when no other boot needs it. */
  wallForFile(): number | null | undefined {
    let wall = Number.NEGATIVE_INFINITY;
    for (const m of [this.local, this.external]) {
      if (m === undefined) continue;
      if (Number.isNaN(m.wallMs)) return null;
      wall = Math.max(wall, m.wallMs);
    }
    return wall === Number.NEGATIVE_INFINITY ? undefined : wall;
  }

  /** The most recent monotonic time it was raised at (for "oldest first"). */
  latestMonoMs(): number {
    return Math.max(this.local?.monoMs ?? Number.NEGATIVE_INFINITY, this.external?.monoMs ?? Number.NEGATIVE_INFINITY);
  }
}

/**
 * Credentials of one user issued within a range (a bound is NaN where no member was known on
 * that clock; −Infinity opens it at the bottom). Members minted by this boot are matched by
 * their monotonic issue time here (a frozen or jumping wall clock cannot widen the span to
 * this boot's other credentials); their wall times matter to other boots. Members minted
 * by another boot are matched by wall time, against this boot's credentials too: a cookie
 * of another boot that was re-sealed here before its revocation keeps its wall login time.
 */
interface Span {
  monoLo: number;
  monoHi: number;
  /** Every member's wall issue time (what another boot checks: the file holds this). */
  wallLo: number;
  wallHi: number;
  /** Members minted by another boot (checked against this boot's credentials too). */
  foreignLo: number;
  foreignHi: number;
  untilMonoMs: number;
  untilWallMs: number;
  /** Covers credentials another boot could accept: written to the file. */
  durable: boolean;
}

function spanCovers(s: Span, c: IssuedAt): boolean {
  if (c.monoMs !== undefined) return (c.monoMs >= s.monoLo && c.monoMs <= s.monoHi) || (c.wallMs >= s.foreignLo && c.wallMs <= s.foreignHi);
  return c.wallMs >= s.wallLo && c.wallMs <= s.wallHi;
}

function minFinite(values: number[]): number {
  const known = values.filter((v) => !Number.isNaN(v));
  return known.length === 0 ? Number.NaN : Math.min(...known);
}

function maxFinite(values: number[]): number {
  const known = values.filter((v) => !Number.isNaN(v));
  return known.length === 0 ? Number.NaN : Math.max(...known);
}

function mergeSpans(spans: Span[]): Span {
  return {
    monoLo: minFinite(spans.map((s) => s.monoLo)),
    monoHi: maxFinite(spans.map((s) => s.monoHi)),
    wallLo: minFinite(spans.map((s) => s.wallLo)),
    wallHi: maxFinite(spans.map((s) => s.wallHi)),
    foreignLo: minFinite(spans.map((s) => s.foreignLo)),
    foreignHi: maxFinite(spans.map((s) => s.foreignHi)),
    untilMonoMs: Math.max(...spans.map((s) => s.untilMonoMs)),
    untilWallMs: maxFinite(spans.map((s) => s.untilWallMs)),
    durable: spans.some((s) => s.durable),
  };
}

/** One denied credential: flat numbers, one object per entry (the table can hold 65 536). */
interface Denied {
  user: string;
  /** False when the credential is not known (an admin gave only its `jti`). */
  issuedKnown: boolean;
  /** Monotonic ms of its login when minted by this boot, else NaN. */
  issuedMonoMs: number;
  /** Wall ms of its login when minted under a trusted wall clock, else NaN. */
  issuedWallMs: number;
  /** When it was revoked: here, or for an applied one, when applied and (at latest) its `until`. */
  revokedMonoMs: number;
  revokedWallMs: number;
  revokedHere: boolean;
  untilMonoMs: number;
  /** NaN: only this boot could accept it (not durable), or, when durable, not placed yet. */
  untilWallMs: number;
  durable: boolean;
}

function deniedAsSpan(d: Denied): Span {
  const foreign = Number.isNaN(d.issuedMonoMs) ? d.issuedWallMs : Number.NaN;
  return {
    monoLo: d.issuedMonoMs, monoHi: d.issuedMonoMs, wallLo: d.issuedWallMs, wallHi: d.issuedWallMs, foreignLo: foreign, foreignHi: foreign,
    untilMonoMs: d.untilMonoMs, untilWallMs: d.untilWallMs, durable: d.durable,
  };
}

/** Shared by every user without spans (a user record costs a few fields, not an array). */
const NO_SPANS: readonly Span[] = Object.freeze([]);

interface UserRevocations {
  notBefore: NotBefore | undefined;
  /** Denied ids charged to this user. */
  ids: number;
  spans: readonly Span[];
}

function expiredUntil(untilMonoMs: number, untilWallMs: number, durable: boolean, monoNow: number, wallNow: number): boolean {
  if (monoNow < untilMonoMs) return false;
  if (Number.isNaN(untilWallMs)) return !durable;
  return wallNow >= untilWallMs; // an untrusted wall clock now (NaN) decides nothing
}

const wallOrNull = (wallMs: number): number | null => (Number.isFinite(wallMs) ? wallMs : null);

export class RevocationTables {
  readonly #entries: number;
  readonly #clocks: SessionClocks;
  readonly #longestMs: number;
  readonly #users = new Map<string, UserRevocations>();
  #usersWithNotBefore = 0;
  readonly #denied = new Map<string, Denied>();
  /** Denied ids plus spans, against `#entries`. */
  #items = 0;
  #all: NotBefore | undefined;
  #lastSweepMono = Number.NEGATIVE_INFINITY;
  readonly #persistence: RevocationPersistence[] = [];
  readonly #eventListeners = new Set<(event: RevocationEvent) => void>();
  revokedUsers = 0;
  deniedIds = 0;
  overflows = 0;
  /**
   * While true, every credential minted by another boot (another instance, an earlier
   * process) is refused: set by the shared state when it fails closed while its engine is
   * unreachable (this instance cannot know what the others revoked meanwhile). This boot's
   * own credentials are judged as always. One boolean read on the request path.
   */
  refuseOtherBoots = false;
  /** Every revocation is announced here, after it took effect (both modes and bearer tokens). */
  readonly ended = new SessionEndListeners();

  constructor(entries: number, clocks: SessionClocks, options: RevocationTablesOptions = {}) {
    this.#entries = entries;
    this.#clocks = clocks;
    this.#longestMs = options.longestCredentialMs ?? DEFAULT_LONGEST_CREDENTIAL_MS;
  }

  /** The wall time a revocation made now is recorded at; NaN under an untrusted wall clock. */
  #placeableWall(): number {
    if (!wallClockTrusted(this.#clocks)) return Number.NaN;
    const wallMs = Math.floor(this.#clocks.wall.now());
    // Set back since a credential was minted: after that one (else: now, like the claims).
    const high = this.#clocks.mintedWallHighMs;
    return high > wallMs ? high + 1 : wallMs;
  }

  #now(): Moment {
    // Whole milliseconds, like the issue times tokens carry (claims.ts): a moment and an issue
    // time of the same millisecond compare equal, and the caller decides which side that
    // millisecond falls on (revokeUser's includeThisMillisecond).
    return { monoMs: Math.floor(this.#clocks.monotonic.now()), wallMs: this.#placeableWall() };
  }

  // ---- durable part: persistence, publication, the one apply function ----

  /**
   * A keeper of the durable part (the revocation file; the shared engine): told of every
   * change, and waited for in `settled()`. Several may be attached; each hears every change.
   */
  attachPersistence(persistence: RevocationPersistence): void {
    this.#persistence.push(persistence);
  }

  /** Resolves once every revocation so far is as durable as this deployment makes it (every keeper). */
  settled(): Promise<void> {
    if (this.#persistence.length === 0) return Promise.resolve();
    if (this.#persistence.length === 1) return (this.#persistence[0] as RevocationPersistence).settled();
    return Promise.all(this.#persistence.map((p) => p.settled())).then(() => undefined);
  }

  /** Hears each revocation made here, as an event another instance can apply; returns the remover. */
  onEvent(listener: (event: RevocationEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  #publish(event: RevocationEvent): void {
    for (const listener of this.#eventListeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the revocation has taken effect here.
      }
    }
  }

  #changed(): void {
    for (const persistence of this.#persistence) persistence.changed();
  }

  /**
   * Applies an event recorded elsewhere: the revocation file at start, or another instance.
   * Idempotent: applying one twice changes nothing. A remote one is announced (onEnd).
   */
  apply(event: RevocationEvent, origin: EventOrigin): void {
    const monoNow = Math.floor(this.#clocks.monotonic.now());
    const remote = origin === 'remote';
    // A credential of this boot can be named by a remote event, never by the file (it predates
    // this boot): only then must the entry also last on this boot's clock.
    const untilMonoMs = remote ? monoNow + this.#longestMs : Number.NEGATIVE_INFINITY;
    switch (event.type) {
      case 'all-not-before':
        this.#all ??= new NotBefore();
        this.#all.external = laterMoment(this.#all.external, { monoMs: monoNow, wallMs: event.wall ?? Number.NaN });
        if (remote) this.ended.emit({ scope: 'all' });
        break;
      case 'user-not-before':
        this.#raiseUser(event.user, { monoMs: monoNow, wallMs: event.wall ?? Number.NaN }, 'external');
        if (remote) this.ended.emit({ scope: 'user', user: event.user });
        break;
      case 'denied-id':
        this.#insertDenied(event.id, {
          user: event.user,
          issuedKnown: event.issued !== null,
          issuedMonoMs: Number.NaN,
          issuedWallMs: event.issued ?? Number.NaN,
          revokedMonoMs: monoNow,
          revokedWallMs: event.until ?? Number.NaN,
          revokedHere: false,
          untilMonoMs,
          untilWallMs: event.until ?? Number.NaN,
          durable: true,
        });
        if (remote) this.ended.emit({ scope: 'session', user: event.user, ref: event.id });
        break;
      case 'denied-span':
        this.#insertSpan(event.user, {
          monoLo: Number.NaN, monoHi: Number.NaN, wallLo: event.from, wallHi: event.to, foreignLo: event.from, foreignHi: event.to,
          untilMonoMs, untilWallMs: event.until, durable: true,
        });
        if (remote) this.ended.emit({ scope: 'user', user: event.user });
        break;
    }
    this.#changed();
  }

  /**
   * The durable state as events (what the file holds): entries every credential has
   * outlived are dropped first, and moments recorded under an untrusted wall clock are
   * placed if the wall clock is trusted now.
   */
  durableEvents(): RevocationEvent[] {
    this.#sweep(true);
    const events: RevocationEvent[] = [];
    const allWall = this.#all?.wallForFile();
    if (allWall !== undefined) events.push({ type: 'all-not-before', wall: allWall });
    for (const [user, r] of this.#users) {
      const wall = r.notBefore?.wallForFile();
      if (wall !== undefined) events.push({ type: 'user-not-before', user, wall });
    }
    for (const [user, r] of this.#users) {
      for (const s of r.spans) {
        if (!s.durable || !Number.isFinite(s.wallHi) || !Number.isFinite(s.untilWallMs)) continue;
        events.push({ type: 'denied-span', user, from: Number.isFinite(s.wallLo) ? Math.max(0, s.wallLo) : 0, to: s.wallHi, until: s.untilWallMs });
      }
    }
    for (const [id, d] of this.#denied) {
      if (!d.durable) continue;
      events.push({ type: 'denied-id', id, user: d.user, issued: d.issuedKnown ? wallOrNull(d.issuedWallMs) : null, until: wallOrNull(d.untilWallMs) });
    }
    return events;
  }

  /**
   * Fail closed (a damaged revocation file): every credential issued before now is refused,
   * whoever holds it; those issued from now on are not.
   */
  refuseAllIssuedBeforeNow(): void {
    this.#all ??= new NotBefore();
    const now = this.#now();
    // This millisecond included, like revokeUser: nothing of this boot is issued before it listens.
    this.#all.local = laterMoment(this.#all.local, { monoMs: now.monoMs + 1, wallMs: now.wallMs + 1 });
    this.ended.emit({ scope: 'all' });
    this.#changed();
  }

  // ---- revocations made here ----

  /**
   * Every session of `user` that began before now is refused from now on; with
   * `includeThisMillisecond`, those of the current millisecond too (see RevokeUserOptions).
   */
  revokeUser(user: string, includeThisMillisecond = false): void {
    this.revokedUsers++;
    const moment = this.#now();
    if (includeThisMillisecond) {
      moment.monoMs += 1;
      moment.wallMs += 1;
    }
    this.#raiseUser(user, moment, 'local');
    this.#publish({ type: 'user-not-before', user, wall: Number.isNaN(moment.wallMs) ? null : moment.wallMs });
    this.ended.emit({ scope: 'user', user });
    this.#changed();
  }

  /** Refuses one credential whose issue time and lifetime are known, until it would have expired. */
  denyCredential(id: string, user: string, life: CredentialLife): void {
    this.deniedIds++;
    const durable = Number.isFinite(life.untilWallMs);
    const now = this.#now();
    this.#insertDenied(id, {
      user, issuedKnown: true, issuedMonoMs: life.issued.monoMs ?? Number.NaN, issuedWallMs: life.issued.wallMs,
      revokedMonoMs: now.monoMs, revokedWallMs: now.wallMs, revokedHere: true,
      untilMonoMs: life.untilMonoMs, untilWallMs: life.untilWallMs, durable,
    });
    // A credential minted under an untrusted wall clock dies with this boot: nobody else needs to know.
    if (durable) this.#publish({ type: 'denied-id', id, user, issued: wallOrNull(life.issued.wallMs), until: life.untilWallMs });
    this.ended.emit({ scope: 'session', user, ref: id });
    this.#changed();
  }

  /**
   * Refuses a credential known only by its id (an admin's `POST /tokens/revoke {jti, user}`):
   * its expiry is unknown, so the entry lasts the longest any credential can live.
   */
  denyId(id: string, user: string): void {
    this.deniedIds++;
    const now = this.#now();
    const untilWallMs = Number.isNaN(now.wallMs) ? Number.NaN : now.wallMs + this.#longestMs;
    this.#insertDenied(id, {
      user, issuedKnown: false, issuedMonoMs: Number.NaN, issuedWallMs: Number.NaN,
      revokedMonoMs: now.monoMs, revokedWallMs: now.wallMs, revokedHere: true,
      untilMonoMs: now.monoMs + this.#longestMs, untilWallMs, durable: true,
    });
    this.#publish({ type: 'denied-id', id, user, issued: null, until: wallOrNull(untilWallMs) });
    this.ended.emit({ scope: 'session', user, ref: id });
    this.#changed();
  }

  // ---- the check (hot path: a few comparisons and two Map lookups) ----

  /** True when a session of `user` with id `id` that began at `issued` must be refused. */
  isRevoked(user: string, id: string, issued: IssuedAt): boolean {
    if (this.refuseOtherBoots && issued.monoMs === undefined) return true;
    if (this.#all !== undefined && this.#all.refuses(issued)) return true;
    if (this.#users.size > 0) {
      const r = this.#users.get(user);
      if (r !== undefined) {
        if (r.notBefore !== undefined && r.notBefore.refuses(issued)) return true;
        for (const span of r.spans) if (spanCovers(span, issued)) return true;
      }
    }
    // By id whoever it was charged to: an admin who named the wrong user still revoked the token.
    return this.#denied.size > 0 && this.#denied.has(id);
  }

  stats(): { users: number; deniedIds: number; spans: number; capacity: number; overflows: number } {
    return { users: this.#usersWithNotBefore, deniedIds: this.#denied.size, spans: this.#items - this.#denied.size, capacity: this.#entries, overflows: this.overflows };
  }

  // ---- bookkeeping ----

  #record(user: string): UserRevocations {
    let r = this.#users.get(user);
    if (r === undefined) {
      r = { notBefore: undefined, ids: 0, spans: NO_SPANS };
      this.#users.set(user, r);
    }
    return r;
  }

  #forgetIfEmpty(user: string, r: UserRevocations): void {
    if (r.notBefore === undefined && r.ids === 0 && r.spans.length === 0) this.#users.delete(user);
  }

  #raiseUser(user: string, moment: Moment, footing: 'local' | 'external'): void {
    let r = this.#users.get(user);
    if (r?.notBefore === undefined) {
      this.#ensureUserRoom(user);
      r = this.#record(user);
      r.notBefore = new NotBefore();
      this.#usersWithNotBefore++;
    }
    const nb = r.notBefore as NotBefore;
    if (footing === 'local') nb.local = laterMoment(nb.local, moment);
    else nb.external = laterMoment(nb.external, moment);
  }

  /** The not-before table is full: the oldest not-before folds into the all-not-before. */
  #ensureUserRoom(except: string): void {
    if (this.#usersWithNotBefore < this.#entries) return;
    this.#sweep(false);
    if (this.#usersWithNotBefore < this.#entries) return;
    let oldest: string | undefined;
    let oldestMono = Number.POSITIVE_INFINITY;
    for (const [name, r] of this.#users) {
      if (name === except || r.notBefore === undefined) continue;
      const mono = r.notBefore.latestMonoMs();
      if (mono < oldestMono) {
        oldestMono = mono;
        oldest = name;
      }
    }
    if (oldest === undefined) return;
    const r = this.#users.get(oldest) as UserRevocations;
    const nb = r.notBefore as NotBefore;
    this.overflows++;
    this.#all ??= new NotBefore();
    if (nb.local !== undefined) this.#all.local = laterMoment(this.#all.local, nb.local);
    if (nb.external !== undefined) this.#all.external = laterMoment(this.#all.external, nb.external);
    r.notBefore = undefined;
    this.#usersWithNotBefore--;
    this.#forgetIfEmpty(oldest, r);
    this.ended.emit({ scope: 'all' });
  }

  #insertDenied(id: string, entry: Denied): void {
    const existing = this.#denied.get(id);
    if (existing !== undefined) {
      // Idempotent: the later expiry wins; an unplaced durable one stays unplaced (widest).
      existing.untilMonoMs = Math.max(existing.untilMonoMs, entry.untilMonoMs);
      const unplaced = (d: Denied) => d.durable && Number.isNaN(d.untilWallMs);
      existing.untilWallMs = unplaced(existing) || unplaced(entry) ? Number.NaN : maxFinite([existing.untilWallMs, entry.untilWallMs]);
      existing.durable ||= entry.durable;
      if (!existing.issuedKnown && entry.issuedKnown) {
        existing.issuedKnown = true;
        existing.issuedMonoMs = entry.issuedMonoMs;
        existing.issuedWallMs = entry.issuedWallMs;
      }
      return;
    }
    this.#ensureItemRoom(entry.user);
    this.#record(entry.user).ids++;
    this.#denied.set(id, entry);
    this.#items++;
  }

  #insertSpan(user: string, span: Span): void {
    const r = this.#users.get(user);
    const same = r?.spans.find((s) => s.wallLo === span.wallLo && s.wallHi === span.wallHi && Number.isNaN(s.monoLo) && Number.isNaN(span.monoLo));
    if (same !== undefined) {
      same.untilWallMs = Math.max(same.untilWallMs, span.untilWallMs);
      same.untilMonoMs = Math.max(same.untilMonoMs, span.untilMonoMs);
      return;
    }
    this.#ensureItemRoom(user);
    const record = this.#record(user);
    record.spans = [...record.spans, span];
    this.#items++;
    this.#capSpans(record);
  }

  /** Makes room for one more denied id or span of `user`, taking it from whoever holds the most. */
  #ensureItemRoom(user: string): void {
    if (this.#items < this.#entries) return;
    this.#sweep(false);
    if (this.#items < this.#entries) return;
    let victim = user;
    let most = this.#countOf(this.#users.get(user));
    for (const [name, r] of this.#users) {
      const n = this.#countOf(r);
      if (n > most) {
        most = n;
        victim = name;
      }
    }
    this.#fold(victim);
  }

  #countOf(r: UserRevocations | undefined): number {
    return r === undefined ? 0 : r.ids + r.spans.length;
  }

  /**
   * `victim` gives up a quarter of their entries: those closest together in issue time are
   * merged into spans. With nothing left to merge, entries become the user's not-before
   * (just after the credential they covered: inclusive), which is outside this table.
   */
  #fold(victim: string): void {
    const r = this.#users.get(victim);
    if (r === undefined) return;
    this.overflows++;
    const monoNow = this.#clocks.monotonic.now();
    const wallNow = this.#clocks.wall.now();
    // Issue times on one estimated axis, only to choose what to merge (the spans keep exact
    // bounds): this boot's monotonic clock where known (a wall clock may stand still or jump).
    const est = (wallMs: number, monoMs: number) => (!Number.isNaN(monoMs) ? wallNow - (monoNow - monoMs) : wallMs);
    interface Piece { span: Span; lo: number; hi: number; id: string | undefined }
    const pieces: Piece[] = [];
    const unknown: string[] = [];
    // The victim's ids: one walk of the table (a user record keeps only a count; a fold
    // frees a quarter of the victim's entries, so the walk is amortized over those inserts).
    for (const [id, d] of this.#denied) {
      if (d.user !== victim) continue;
      if (!d.issuedKnown) {
        unknown.push(id);
        continue;
      }
      const span = deniedAsSpan(d);
      const at = est(span.wallLo, span.monoLo);
      pieces.push({ span, lo: at, hi: at, id });
    }
    for (const span of r.spans) pieces.push({ span, lo: est(span.wallLo, span.monoLo), hi: est(span.wallHi, span.monoHi), id: undefined });
    const target = Math.max(1, Math.floor((pieces.length + unknown.length) / FOLD_FRACTION));

    if (pieces.length >= 2) {
      pieces.sort((a, b) => a.lo - b.lo);
      const gaps = pieces.slice(1).map((p, i) => ({ i, gap: Math.max(0, p.lo - (pieces[i] as Piece).hi) }));
      gaps.sort((a, b) => a.gap - b.gap);
      const join = new Set(gaps.slice(0, Math.min(target, pieces.length - 1)).map((g) => g.i));
      let group: Piece[] = [pieces[0] as Piece];
      const groups: Piece[][] = [];
      for (let i = 1; i < pieces.length; i++) {
        if (join.has(i - 1)) group.push(pieces[i] as Piece);
        else {
          groups.push(group);
          group = [pieces[i] as Piece];
        }
      }
      groups.push(group);
      const kept: Span[] = r.spans.filter((s) => !groups.some((g) => g.length > 1 && g.some((p) => p.span === s)));
      for (const g of groups) {
        if (g.length < 2) continue;
        for (const p of g) {
          if (p.id !== undefined) {
            this.#denied.delete(p.id);
            r.ids--;
          }
        }
        kept.push(mergeSpans(g.map((p) => p.span)));
        this.#items -= g.length - 1;
      }
      r.spans = kept;
      this.#capSpans(r);
    } else if (unknown.length > 0) {
      for (const id of unknown) {
        const d = this.#denied.get(id) as Denied;
        const after = { monoMs: d.revokedMonoMs + 1, wallMs: d.revokedWallMs + 1 };
        this.#raiseUser(victim, after, d.revokedHere ? 'local' : 'external');
        this.#denied.delete(id);
        r.ids--;
        this.#items--;
      }
    } else if (pieces.length === 1) {
      const p = pieces[0] as Piece;
      this.#spanToNotBefore(victim, p.span);
      if (p.id !== undefined) {
        this.#denied.delete(p.id);
        r.ids--;
      } else r.spans = r.spans.filter((s) => s !== p.span);
      this.#items--;
    }
    this.ended.emit({ scope: 'user', user: victim });
  }

  /** Everything of `user` issued up to the span's end is refused (a not-before, outside the items table). */
  #spanToNotBefore(user: string, s: Span): void {
    if (!Number.isNaN(s.monoHi)) {
      // This boot's members by monotonic time; for other boots, their wall times (or none).
      this.#raiseUser(user, { monoMs: s.monoHi + 1, wallMs: Number.isNaN(s.wallHi) ? Number.NEGATIVE_INFINITY : s.wallHi + 1 }, 'local');
    }
    if (!Number.isNaN(s.foreignHi)) {
      // Members of another boot by wall time, for this boot's credentials too (re-sealed cookies).
      this.#raiseUser(user, { monoMs: Math.floor(this.#clocks.monotonic.now()) + 1, wallMs: s.foreignHi + 1 }, 'external');
    }
  }

  /** Keeps a user's spans at MAX_SPANS_PER_USER by merging the two closest. */
  #capSpans(r: UserRevocations): void {
    if (r.spans.length <= MAX_SPANS_PER_USER) return;
    const wallNow = this.#clocks.wall.now();
    const monoNow = this.#clocks.monotonic.now();
    const onAxis = (wallMs: number, monoMs: number) => (!Number.isNaN(monoMs) ? wallNow - (monoNow - monoMs) : wallMs);
    while (r.spans.length > MAX_SPANS_PER_USER) {
      const sorted = [...r.spans].sort((a, b) => onAxis(a.wallLo, a.monoLo) - onAxis(b.wallLo, b.monoLo));
      let best = 0;
      let bestGap = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < sorted.length; i++) {
        const a = sorted[i] as Span;
        const b = sorted[i + 1] as Span;
        const gap = Math.max(0, onAxis(b.wallLo, b.monoLo) - onAxis(a.wallHi, a.monoHi));
        if (gap < bestGap) {
          bestGap = gap;
          best = i;
        }
      }
      const a = sorted[best] as Span;
      const b = sorted[best + 1] as Span;
      r.spans = [...r.spans.filter((s) => s !== a && s !== b), mergeSpans([a, b])];
      this.#items--;
    }
  }

  /**
   * Drops what every credential has outlived, and places moments and expiries recorded under
   * an untrusted wall clock if it is trusted now. When a table is full this runs at most once
   * per REVOCATION_SWEEP_INTERVAL_MS (it walks everything); before a write, always.
   */
  #sweep(force: boolean): void {
    const monoNow = this.#clocks.monotonic.now();
    if (!force && monoNow - this.#lastSweepMono < REVOCATION_SWEEP_INTERVAL_MS) return;
    this.#lastSweepMono = monoNow;
    const placement = this.#placeableWall();
    const wallNow = Number.isNaN(placement) ? Number.NaN : this.#clocks.wall.now();
    if (!Number.isNaN(placement)) {
      this.#all?.place(placement);
      for (const r of this.#users.values()) r.notBefore?.place(placement);
      for (const d of this.#denied.values()) {
        if (d.durable && Number.isNaN(d.untilWallMs)) {
          d.untilWallMs = placement + this.#longestMs;
          if (Number.isNaN(d.revokedWallMs)) d.revokedWallMs = placement;
        }
      }
    }
    if (this.#all?.dropExpired(monoNow, wallNow, this.#longestMs)) this.#all = undefined;
    for (const [id, d] of this.#denied) {
      if (!expiredUntil(d.untilMonoMs, d.untilWallMs, d.durable, monoNow, wallNow)) continue;
      this.#denied.delete(id);
      this.#items--;
      const r = this.#users.get(d.user);
      if (r !== undefined) r.ids--;
    }
    for (const [user, r] of this.#users) {
      if (r.spans.length > 0) {
        const before = r.spans.length;
        const kept = r.spans.filter((s) => !expiredUntil(s.untilMonoMs, s.untilWallMs, s.durable, monoNow, wallNow));
        r.spans = kept.length > 0 ? kept : NO_SPANS;
        this.#items -= before - kept.length;
      }
      if (r.notBefore?.dropExpired(monoNow, wallNow, this.#longestMs)) {
        r.notBefore = undefined;
        this.#usersWithNotBefore--;
      }
      this.#forgetIfEmpty(user, r);
    }
  }
}
