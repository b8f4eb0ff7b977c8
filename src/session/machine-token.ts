/**
 * Long-lived, narrowly scoped bearer tokens for machines (a Prometheus scraper's
 * `bearer_token_file`), minted offline from the keys file by `ringlet token mint`.
 *
 * They are ordinary HS256 bearer tokens with three differences, all signed:
 * - `kind: "machine"`. Their lifetime is their own (`exp - iat`, at most
 *   {@link MAX_MACHINE_TOKEN_TTL_MS}) instead of the profile's `bearerTokenTtlMs`, and they
 *   have no idle limit (a scraper's interval is its own business).
 * - They are minted by no server boot, so they are always timed on the wall clock, and only
 *   when it is trusted: when minted (the CLI refuses to mint on a clock before the build
 *   date) and when checked (a router that booted "in 1970" refuses them until NTP sets its
 *   clock, rather than accept them forever). 30 s leeway at both ends, as for other
 *   foreign tokens.
 * - Their `jti` carries their expiry: `m-<exp seconds>-<16 random characters>`, so whoever
 *   holds only the `jti` knows how long the token can live ({@link machineTokenExpiry}); a
 *   token whose `jti` and `exp` disagree is refused. Revocations must outlast them: the
 *   server counts {@link MAX_MACHINE_TOKEN_TTL_MS} in the longest credential lifetime its
 *   revocation tables keep entries for.
 * Their scope is checked at minting and again on every verification: only permissions a
 * token may carry (never `password:change` or `tokens:mint`), at most the role's.
 */
import { ConfigError } from '../errors.js';
import { signJwt, type KeyRing } from '../codec/index.js';
import { isPermission, tokenMayCarry, type Permission } from '../access/permissions.js';
import type { Role } from '../access/roles.js';
import { randomBytesPooled } from '../util/random-pool.js';
import type { WallClock } from '../util/clock.js';
import { DAY_MS, MAX_CREDENTIAL_LIFETIME_MS, MINUTE_MS, SECOND_MS } from '../util/durations.js';
import { isIntegerIn } from '../util/options.js';
import type { TimingLimits, TimingVerdict, TokenClaims } from './claims.js';
import { DEFAULT_TRUSTED_FLOOR_MS, wallClockTrusted, type SessionClocks } from './time-policy.js';

/**
 * The longest lifetime a machine token may have: a bound on what one leaked file grants, and
 * the longest any credential lives (the revocation tables keep entries that long).
 */
export const MAX_MACHINE_TOKEN_TTL_MS = MAX_CREDENTIAL_LIFETIME_MS;
/** The shortest: below a minute a token from POST /token does the job. */
export const MIN_MACHINE_TOKEN_TTL_MS = MINUTE_MS;
export const MACHINE_TOKEN_KIND = 'machine';
/** The boot id machine tokens carry: no server boot has it (boot ids are 12 random characters). */
export const MACHINE_TOKEN_BOOT = 'mint';

// m-<exp in whole seconds since the epoch>-<12 random bytes, base64url>
const machineJtiRegExp = /^m-([1-9][0-9]{0,11})-[A-Za-z0-9_-]{16}$/;

/** The expiry (seconds since the epoch) a machine token's `jti` carries, or undefined for any other id. */
export function machineTokenExpiry(jti: string): number | undefined {
  const m = machineJtiRegExp.exec(jti);
  return m === null ? undefined : Number(m[1]);
}

export interface MintMachineTokenOptions {
  keys: KeyRing;
  user: string;
  role: Role;
  /** Permissions the token carries: non-empty, each one a token may carry. */
  scope: readonly string[];
  /** Lifetime, {@link MIN_MACHINE_TOKEN_TTL_MS}..{@link MAX_MACHINE_TOKEN_TTL_MS}. */
  ttlMs: number;
  wall: WallClock;
  /** The earliest believable wall time (default: the build date, as for the server). */
  trustedFloorMs?: number;
}

export interface MintedMachineToken {
  token: string;
  jti: string;
  issuedAtMs: number;
  expiresAtMs: number;
  scope: readonly Permission[];
}

/** The first reason a scope cannot go into a machine token, or undefined when it can. */
export function machineScopeProblem(scope: readonly unknown[]): string | undefined {
  if (scope.length === 0) return 'a machine token needs an explicit scope (the permissions it must have, nothing more)';
  for (const item of scope) {
    if (!isPermission(item)) return `unknown permission "${String(item).slice(0, 40)}"`;
    if (!tokenMayCarry(item)) return `a token never carries "${item}" (it could widen itself)`;
  }
  if (new Set(scope).size !== scope.length) return 'a permission is listed twice';
  return undefined;
}

/**
 * Mint a machine token. Throws ConfigError naming the problem: a scope a token may not
 * carry, a lifetime out of range, or an untrusted wall clock (the token would be timed
 * on it everywhere). The caller checks the scope against the user's role.
 *
 * @example
 * const { token, jti } = mintMachineToken({ keys, user: 'monitor', role: 'viewer', scope: ['metrics:read'], ttlMs: 30 * DAY_MS, wall: systemWallClock });
 */
export function mintMachineToken(o: MintMachineTokenOptions): MintedMachineToken {
  const problem = machineScopeProblem(o.scope);
  if (problem !== undefined) throw new ConfigError('scope', problem);
  if (!isIntegerIn(o.ttlMs, MIN_MACHINE_TOKEN_TTL_MS, MAX_MACHINE_TOKEN_TTL_MS)) {
    // In the units `ringlet token mint --ttl` takes: the milliseconds are an implementation detail.
    throw new ConfigError('ttl', `must be from ${MIN_MACHINE_TOKEN_TTL_MS / SECOND_MS} s to ${MAX_MACHINE_TOKEN_TTL_MS / DAY_MS} days`);
  }
  const wallMs = o.wall.now();
  const floor = o.trustedFloorMs ?? DEFAULT_TRUSTED_FLOOR_MS;
  if (!(wallMs >= floor)) {
    throw new ConfigError('clock', `the wall clock reads ${new Date(wallMs).toISOString()}, before ${new Date(floor).toISOString()}: a machine token is timed on the wall clock; set the time first`);
  }
  const iat = Math.floor(wallMs / 1000);
  const exp = iat + Math.floor(o.ttlMs / 1000);
  const jti = `m-${exp}-${randomBytesPooled(12).toString('base64url')}`;
  const scope = [...o.scope] as Permission[];
  const claims: TokenClaims & { kind: string } = {
    sub: o.user, role: o.role, jti, iat, exp,
    bid: MACHINE_TOKEN_BOOT, am: 0, im: 0, at: iat * 1000, wt: 1,
    scope, kind: MACHINE_TOKEN_KIND,
  };
  return { token: signJwt(claims, o.keys), jti, issuedAtMs: iat * 1000, expiresAtMs: exp * 1000, scope };
}

/**
 * The timing check for a verified machine token (see the module comment): wall clock only,
 * trusted at minting (`wt`) and now; lifetime within the maximum; `jti` and `exp` agree;
 * no idle limit. The scope is checked too: a token carrying what no token may carry is
 * refused as malformed, whoever signed it.
 */
export function checkMachineToken(c: TokenClaims, clocks: SessionClocks, limits: TimingLimits): TimingVerdict {
  // Never minted by this boot: a server that accepts only its own boot's credentials refuses it.
  if (limits.sameBootOnly === true) return { ok: false, reason: 'untimeable' };
  if (machineTokenExpiry(c.jti) !== c.exp || c.scope === undefined || machineScopeProblem(c.scope) !== undefined) {
    return { ok: false, reason: 'untimeable' };
  }
  const leewayMs = limits.leewayMs;
  const issuedMs = c.iat * 1000;
  const expiresMs = c.exp * 1000;
  if (c.wt !== 1 || !wallClockTrusted(clocks) || c.at !== issuedMs) return { ok: false, reason: 'untimeable' };
  if (!(expiresMs > issuedMs) || expiresMs - issuedMs > MAX_MACHINE_TOKEN_TTL_MS) return { ok: false, reason: 'untimeable' };
  const wall = clocks.wall.now();
  if (issuedMs > wall + leewayMs) return { ok: false, reason: 'from-the-future' };
  if (wall >= expiresMs + leewayMs) return { ok: false, reason: 'expired-absolute' };
  const leftMs = Math.max(0, expiresMs - wall);
  return {
    ok: true,
    issued: { monoMs: undefined, wallMs: issuedMs },
    idleLeftMs: leftMs,
    absoluteLeftMs: leftMs,
    sinceIssueMs: Math.max(0, wall - issuedMs),
  };
}
