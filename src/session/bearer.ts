/**
 * Bearer tokens (JWT HS256) for API clients, in both modes. Timing follows claims.ts, so a
 * token minted by this process is timed on its monotonic clock; revocation by `jti` goes
 * through the bounded denylist. Long-lived machine tokens (`kind: "machine"`, minted by
 * `ringlet token mint`) are timed by their own lifetime on a trusted wall clock
 * (machine-token.ts); revocations must outlast them (start.ts `longestCredentialMs`).
 */
import { RingletError } from '../errors.js';
import { signJwt, verifyJwt, type KeyRing } from '../codec/index.js';
import { randomBytesPooled } from '../util/random-pool.js';
import type { Role } from '../access/roles.js';
import { checkSubject, checkTiming, credentialLife, hasTokenShape, LEEWAY_MS, mintTiming, type TimingLimits, type TokenClaims } from './claims.js';
import type { RevocationTables } from './revocation.js';
import { ClaimedSession } from './claimed-session.js';
import { DEFAULT_VERIFIED_CACHE_ENTRIES, VerifiedCache } from './verified-cache.js';
import type { SessionClocks } from './time-policy.js';
import type { IssuedToken, Session } from './types.js';
import { checkMachineToken, MACHINE_TOKEN_KIND } from './machine-token.js';

const MAX_SCOPE_ITEMS = 32;

export class BearerTokens {
  /** Tokens whose MAC verified and whose claims had our shape (scope checked). */
  private readonly verified: VerifiedCache<TokenClaims & { scope: readonly string[] }>;
  /** Built once: a token's idle and absolute limits are both its lifetime. */
  private readonly limits: TimingLimits;

  constructor(
    private readonly keys: KeyRing,
    private readonly clocks: SessionClocks,
    private readonly revocation: RevocationTables,
    private readonly ttlMs: number,
    verifiedCacheEntries = DEFAULT_VERIFIED_CACHE_ENTRIES,
    sameBootOnly = false,
  ) {
    this.limits = { idleTimeoutMs: ttlMs, absoluteTimeoutMs: ttlMs, leewayMs: LEEWAY_MS, sameBootOnly };
    this.verified = new VerifiedCache(verifiedCacheEntries);
  }

  issue(user: string, role: Role, scope: readonly string[]): IssuedToken {
    checkSubject(user);
    const jti = randomBytesPooled(12).toString('base64url');
    const claims: TokenClaims = { sub: user, role, jti, ...mintTiming(this.clocks, this.limits), scope: [...scope] };
    return { token: signJwt(claims as unknown as Record<string, unknown>, this.keys), jti, expiresInSeconds: Math.floor(this.ttlMs / 1000), scope };
  }

  /** The claims of a token that verifies and has the shape of ours, else undefined. Never throws on input. */
  private verify(token: string): (TokenClaims & { scope: readonly string[] }) | undefined {
    const known = this.verified.get(token);
    if (known !== undefined) return known;
    let claims: Record<string, unknown>;
    try {
      // Time checks are ours (boot-bound, see claims.ts); the codec still requires `exp`.
      claims = verifyJwt(token, this.keys, { checkTimes: false }).claims as Record<string, unknown>;
    } catch (err) {
      if (err instanceof RingletError) return undefined;
      throw err;
    }
    if (!hasTokenShape(claims)) return undefined;
    // An unknown kind fails closed: only what this code knows how to time is accepted.
    if ('kind' in claims && claims['kind'] !== MACHINE_TOKEN_KIND) return undefined;
    const scope = claims['scope'];
    if (!Array.isArray(scope) || scope.length > MAX_SCOPE_ITEMS || !scope.every((s) => typeof s === 'string')) return undefined;
    Object.freeze(scope);
    const verdict = Object.freeze(claims) as unknown as TokenClaims & { scope: readonly string[] };
    this.verified.remember(token, verdict);
    return verdict;
  }

  /** A verified, unexpired, unrevoked token → its session; anything else → undefined. */
  resolve(token: string): Session | undefined {
    const c = this.verify(token);
    if (c === undefined) return undefined;
    const machine = c.kind === MACHINE_TOKEN_KIND;
    const verdict = machine ? checkMachineToken(c, this.clocks, this.limits) : checkTiming(c, this.clocks, this.limits);
    if (!verdict.ok) return undefined;
    if (this.revocation.isRevoked(c.sub, c.jti, verdict.issued)) return undefined;
    const wallNow = this.clocks.wall.now();
    return new ClaimedSession(c, 'bearer', c.scope, {
      createdAtMs: wallNow - ((machine ? (c.exp - c.iat) * 1000 : this.ttlMs) - verdict.absoluteLeftMs),
      idleExpiresAtMs: wallNow + verdict.idleLeftMs,
      absoluteExpiresAtMs: wallNow + verdict.absoluteLeftMs,
    });
  }

  cacheStats(): { hits: number; misses: number } {
    return this.verified.stats();
  }

  /** Revokes the token behind a session this verifier resolved, until its own expiry. */
  revokeSession(session: Session): void {
    const claims = session.via === 'bearer' ? ClaimedSession.claimsOf(session) : undefined;
    const life = claims === undefined ? undefined : credentialLife(claims, this.clocks, this.limits);
    if (life !== undefined) this.revocation.denyCredential(session.ref, session.user, life);
    else this.revocation.denyId(session.ref, session.user);
  }

  /** Revokes a token known by `jti` only: its expiry is unknown, so for the longest any can live. */
  revokeJti(jti: string, user: string): void {
    this.revocation.denyId(jti, user);
  }

  /**
   * Revokes a token given whole (RFC 7009 style): its MAC must verify; its own claims say
   * until when (an expired one's entry goes at the next sweep). Undefined when it is not a
   * token of ours.
   */
  revokeValue(token: string): { jti: string; user: string } | undefined {
    const c = this.verify(token);
    if (c === undefined) return undefined;
    const life = credentialLife(c, this.clocks, this.limits);
    if (life !== undefined) this.revocation.denyCredential(c.jti, c.sub, life);
    return { jti: c.jti, user: c.sub };
  }
}
