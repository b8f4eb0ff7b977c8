/**
 * Cookie mode: the session lives in the browser as a JWE (dir + A256GCM). Nothing is stored
 * but the bounded revocation tables. Any instance holding the JWKS can serve any request.
 *
 * Idle timing: the cookie is re-issued only after half the idle window (not per request),
 * so a session expires between idle/2 and idle after its last activity — documented.
 */
import { RingletError } from '../errors.js';
import { MAX_SET_COOKIE_BYTES, openJwe, sealJwe, type KeyRing } from '../codec/index.js';
import { randomBytesPooled } from '../util/random-pool.js';
import type { Role } from '../access/roles.js';
import { BearerTokens } from './bearer.js';
import { checkSubject, checkTiming, credentialLife, hasTokenShape, LEEWAY_MS, mintTiming, type TimingLimits, type TokenClaims } from './claims.js';
import type { RevocationTables } from './revocation.js';
import { VerifiedCache } from './verified-cache.js';
import { toSessionData } from './session-data.js';
import { ClaimedSession } from './claimed-session.js';
import type { SessionEndListener } from './session-end.js';
import type { SessionClocks } from './time-policy.js';
import type { IssuedSession, IssuedToken, Resolution, RevokeUserOptions, Session, SessionManager, SessionStats } from './types.js';

const COOKIE_ATTRIBUTE_ALLOWANCE = 96;
/**
 * Room kept free when a session carries service data, for what a later re-issue may add:
 * the timing claims' digits (`am` and `im` up to 12 more each, `iat` and `exp` up to 9 more
 * each once an untrusted wall clock becomes trusted): 42 bytes of JSON, 56 of base64url.
 * Without it a session sealed just under the cap could not be re-issued.
 */
const REISSUE_HEADROOM_BYTES = 64;

export interface CookieSessionOptions {
  keys: KeyRing;
  clocks: SessionClocks;
  revocation: RevocationTables;
  bearer: BearerTokens;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  cookieNameBytes: number;
  /** Cookies kept in the verified-credential cache (the profile's verifiedCacheEntries). */
  verifiedCacheEntries?: number;
  /** Refuse cookies of earlier boots (`--refuse-earlier-boots`). */
  sameBootOnly?: boolean;
}

export class CookieSessions implements SessionManager {
  readonly mode = 'cookie' as const;
  private readonly limits: TimingLimits;
  private created = 0;
  private destroyed = 0;
  private expiredIdle = 0;
  private expiredAbsolute = 0;
  /** Cookies that opened and had the right shape, with whether their key is the current one. */
  private readonly opened: VerifiedCache<{ claims: TokenClaims; keyIsCurrent: boolean }>;

  constructor(private readonly o: CookieSessionOptions) {
    this.limits = { idleTimeoutMs: o.idleTimeoutMs, absoluteTimeoutMs: o.absoluteTimeoutMs, leewayMs: LEEWAY_MS, sameBootOnly: o.sameBootOnly === true };
    this.opened = new VerifiedCache(o.verifiedCacheEntries);
  }

  /**
   * The cookie value for `claims`. A session with service data must fit with room for its
   * re-issues, else `ERR_DATA_TOO_LARGE` (the store's code: the data is what does not fit);
   * `reissue` seals an existing session, whose room was kept when its data was set.
   */
  private seal(claims: TokenClaims, reissue = false): string {
    const value = sealJwe(claims as unknown as Record<string, unknown>, this.o.keys);
    const lineBytes = value.length + this.o.cookieNameBytes + COOKIE_ATTRIBUTE_ALLOWANCE;
    if (claims.d !== undefined && !reissue && lineBytes + REISSUE_HEADROOM_BYTES > MAX_SET_COOKIE_BYTES) {
      throw new RingletError('ERR_DATA_TOO_LARGE', `session data exceeds the ${MAX_SET_COOKIE_BYTES}-byte cookie`);
    }
    if (lineBytes > MAX_SET_COOKIE_BYTES) throw new RingletError('ERR_COOKIE_TOO_LARGE', 'session too large for a cookie');
    return value;
  }

  private toSession(c: TokenClaims, idleLeftMs: number, absoluteLeftMs: number): Session {
    const wallNow = this.o.clocks.wall.now();
    return new ClaimedSession(c, 'cookie', undefined, {
      createdAtMs: wallNow - (this.o.absoluteTimeoutMs - absoluteLeftMs),
      idleExpiresAtMs: wallNow + idleLeftMs,
      absoluteExpiresAtMs: wallNow + absoluteLeftMs,
    });
  }

  issue(user: string, role: Role, _clientAddress?: string, data?: unknown): IssuedSession {
    checkSubject(user);
    const d = toSessionData(data, MAX_SET_COOKIE_BYTES, 'cookie');
    const claims: TokenClaims = {
      sub: user,
      role,
      jti: randomBytesPooled(12).toString('base64url'),
      csrf: randomBytesPooled(16).toString('base64url'),
      ...mintTiming(this.o.clocks, this.limits),
      ...(d === undefined ? {} : { d }),
    };
    const cookieValue = this.seal(claims);
    this.created++;
    return { session: this.toSession(claims, this.o.idleTimeoutMs, this.o.absoluteTimeoutMs), cookieValue, evicted: undefined };
  }

  resolveCookie(values: readonly string[], touch: boolean): Resolution | undefined {
    for (const value of values) {
      const resolution = this.resolveOne(value, touch);
      if (resolution) return resolution;
    }
    return undefined;
  }

  /** The claims of a cookie that opens and has the shape of ours, else undefined. Never throws on input. */
  private open(value: string): { claims: TokenClaims; keyIsCurrent: boolean } | undefined {
    const known = this.opened.get(value);
    if (known !== undefined) return known;
    let opened;
    try {
      opened = openJwe(value, this.o.keys, { checkTimes: false });
    } catch (err) {
      if (err instanceof RingletError) return undefined;
      throw err;
    }
    const raw = opened.claims as Record<string, unknown>;
    if (!hasTokenShape(raw) || typeof raw['csrf'] !== 'string') return undefined;
    const verdict = Object.freeze({ claims: Object.freeze(raw as unknown as TokenClaims), keyIsCurrent: opened.keyIsCurrent });
    this.opened.remember(value, verdict);
    return verdict;
  }

  private resolveOne(value: string, touch: boolean): Resolution | undefined {
    const opened = this.open(value);
    if (opened === undefined) return undefined;
    const c = opened.claims;
    const verdict = checkTiming(c, this.o.clocks, this.limits);
    if (!verdict.ok) {
      if (verdict.reason === 'expired-idle') this.expiredIdle++;
      if (verdict.reason === 'expired-absolute') this.expiredAbsolute++;
      return undefined;
    }
    if (this.o.revocation.isRevoked(c.sub, c.jti, verdict.issued)) return undefined;
    let reissueCookie: string | undefined;
    let idleLeftMs = verdict.idleLeftMs;
    if (touch && (verdict.sinceIssueMs * 2 >= this.o.idleTimeoutMs || !opened.keyIsCurrent)) {
      reissueCookie = this.reissue(c);
      if (reissueCookie !== undefined) idleLeftMs = Math.min(this.o.idleTimeoutMs, verdict.absoluteLeftMs);
    }
    return { session: this.toSession(c, idleLeftMs, verdict.absoluteLeftMs), reissueCookie };
  }

  /**
   * The session re-sealed with fresh timing, or undefined when it cannot be (it keeps its
   * cookie until that expires): resolving a client's cookie never throws.
   */
  private reissue(c: TokenClaims): string | undefined {
    try {
      return this.seal({ ...c, ...mintTiming(this.o.clocks, this.limits, c) }, true);
    } catch (err) {
      if (err instanceof RingletError) return undefined;
      throw err;
    }
  }

  setData(session: Session, data: unknown): Resolution | undefined {
    const c = ClaimedSession.claimsOf(session);
    if (c === undefined || session.via !== 'cookie') return undefined;
    const d = toSessionData(data, MAX_SET_COOKIE_BYTES, 'cookie');
    // A change of data is activity: re-sealed with fresh timing, like any re-issue.
    const { d: _old, ...rest } = c;
    const next: TokenClaims = { ...rest, ...mintTiming(this.o.clocks, this.limits, c), ...(d === undefined ? {} : { d }) };
    const verdict = checkTiming(next, this.o.clocks, this.limits);
    if (!verdict.ok || this.o.revocation.isRevoked(next.sub, next.jti, verdict.issued)) return undefined;
    const cookieValue = this.seal(next);
    return { session: this.toSession(next, verdict.idleLeftMs, verdict.absoluteLeftMs), reissueCookie: cookieValue };
  }

  resolveBearer(token: string): Session | undefined {
    return this.o.bearer.resolve(token);
  }

  revoke(session: Session): void {
    this.destroyed++;
    if (session.via === 'bearer') return this.o.bearer.revokeSession(session);
    const claims = ClaimedSession.claimsOf(session);
    const life = claims === undefined ? undefined : credentialLife(claims, this.o.clocks, this.limits);
    // A session object not resolved here (a copy): its issue time is unknown, so the widest entry.
    if (life !== undefined) this.o.revocation.denyCredential(session.ref, session.user, life);
    else this.o.revocation.denyId(session.ref, session.user);
  }

  revokeUser(user: string, options?: RevokeUserOptions): undefined {
    this.o.revocation.revokeUser(user, options?.includeThisMillisecond === true);
    return undefined;
  }

  /** Cookie mode keeps no list of sessions, so a ref alone cannot be revoked (documented). */
  revokeRef(): undefined {
    return undefined;
  }

  list(): undefined {
    return undefined;
  }

  issueToken(user: string, role: Role, scope: readonly string[]): IssuedToken {
    return this.o.bearer.issue(user, role, scope);
  }

  revokeToken(jti: string, user: string): void {
    this.o.bearer.revokeJti(jti, user);
  }

  revokeTokenValue(token: string): { jti: string; user: string } | undefined {
    return this.o.bearer.revokeValue(token);
  }

  revocationsSettled(): Promise<void> {
    return this.o.revocation.settled();
  }

  onEnd(listener: SessionEndListener): () => void {
    return this.o.revocation.ended.add(listener);
  }

  stats(): SessionStats {
    const r = this.o.revocation.stats();
    const cookies = this.opened.stats();
    const tokens = this.o.bearer.cacheStats();
    return {
      mode: 'cookie', active: undefined, capacity: undefined, storeBytes: 0, created: this.created,
      evicted: 0, expiredIdle: this.expiredIdle, expiredAbsolute: this.expiredAbsolute, destroyed: this.destroyed,
      revocationEntries: r.users + r.deniedIds + r.spans,
      verifiedCacheHits: cookies.hits + tokens.hits, verifiedCacheMisses: cookies.misses + tokens.misses,
    };
  }
}
