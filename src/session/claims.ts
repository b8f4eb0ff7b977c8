/**
 * The claims ringlet puts in its tokens, and the timing check that applies the
 * untrusted-wall-clock rule (time-policy.ts) to them.
 *
 * Standard claims (`sub`, `iat`, `exp`, `jti`) are there for other instances and for JOSE
 * tools. ringlet's own:
 * - `role`, `csrf` (cookie sessions), `scope` (bearer tokens)
 * - `bid`: the boot that minted it; `am`: monotonic ms of login; `im`: monotonic ms of this
 *   issue (idle is measured from it)
 * - `at`: wall ms of login (absolute limit across boots); `wt`: 1 when the wall clock was
 *   trusted at minting.
 * - `kind`: `machine` for a long-lived machine token (machine-token.ts), timed by its own
 *   `iat`/`exp` on a trusted wall clock; absent otherwise.
 */
import { RingletError } from '../errors.js';
import { isRole, type Role } from '../access/roles.js';
import { DEFAULT_LEEWAY_SECONDS } from '../codec/index.js';
import { MAX_USER_NAME_CHARS } from '../users/index.js';
import { SECOND_MS } from '../util/durations.js';
import type { CredentialLife, IssuedAt } from './revocation.js';
import { wallClockTrusted, type SessionClocks } from './time-policy.js';

/** Longest user name (`sub`) a credential may carry: the longest the users file allows. */
export const MAX_SUBJECT_CHARS = MAX_USER_NAME_CHARS;
/**
 * Clock skew allowed when a credential is timed on the wall clock (another boot, another
 * instance, a machine token): the JOSE codec's default leeway for `exp` and `nbf`.
 */
export const LEEWAY_MS = DEFAULT_LEEWAY_SECONDS * SECOND_MS;
/** Longest credential id (`jti`) accepted: the ids ringlet mints are far shorter. */
export const MAX_CREDENTIAL_ID_CHARS = 64;

/**
 * Refuses, before minting, a user name no credential could carry: one the shape check below
 * would refuse on every request after (a session that never works).
 * @throws RingletError `ERR_NAME_INVALID`, the store's code for the same fault.
 */
export function checkSubject(user: unknown): void {
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_SUBJECT_CHARS) {
    throw new RingletError('ERR_NAME_INVALID', `user must be a non-empty string of at most ${MAX_SUBJECT_CHARS} characters`);
  }
}

export interface TokenClaims {
  sub: string;
  role: Role;
  jti: string;
  iat: number;
  exp: number;
  bid: string;
  am: number;
  im: number;
  at: number;
  wt: 0 | 1;
  csrf?: string;
  scope?: string[];
  /** Cookie sessions: an embedding service's own data (any JSON value). */
  d?: unknown;
  /** `machine`: a long-lived token minted offline (machine-token.ts); absent for every other token. */
  kind?: string;
}

export interface TimingLimits {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /** Allowed skew between instances' wall clocks. */
  leewayMs: number;
  /**
   * Accept only credentials this boot minted (`--refuse-earlier-boots`): for a device that
   * cannot keep its revocations across a restart. Also refuses other instances' credentials.
   */
  sameBootOnly?: boolean;
}

/** Claims for a new token. `login` carries the original login's moments on re-issue. */
export function mintTiming(
  clocks: SessionClocks,
  limits: TimingLimits,
  login?: { am: number; at: number; bid: string; wt: 0 | 1 },
): Pick<TokenClaims, 'iat' | 'exp' | 'bid' | 'am' | 'im' | 'at' | 'wt'> {
  // Whole milliseconds: performance.now()'s fractions would add ~20 characters to every cookie.
  const mono = Math.floor(clocks.monotonic.now());
  const wall = Math.floor(clocks.wall.now());
  const trusted = wallClockTrusted(clocks);
  // A login from another boot keeps its wall-clock login time; its monotonic one is meaningless here.
  const sameBoot = login !== undefined && login.bid === clocks.bootId;
  const am = login === undefined ? mono : sameBoot ? login.am : mono - Math.max(0, wall - login.at);
  const at = login === undefined ? wall : login.at;
  const wt: 0 | 1 = trusted && (login === undefined || login.wt === 1) ? 1 : 0;
  if (trusted && wall > clocks.mintedWallHighMs) clocks.mintedWallHighMs = wall;
  const absoluteEndWall = at + limits.absoluteTimeoutMs;
  const expWall = Math.min(wall + limits.idleTimeoutMs, absoluteEndWall);
  return {
    iat: Math.floor(wall / 1000),
    exp: Math.floor(expWall / 1000),
    bid: clocks.bootId,
    am,
    im: mono,
    at,
    wt,
  };
}

export type TimingVerdict =
  | { ok: true; issued: IssuedAt; idleLeftMs: number; absoluteLeftMs: number; sinceIssueMs: number }
  | { ok: false; reason: 'expired-idle' | 'expired-absolute' | 'from-the-future' | 'untimeable' | 'earlier-boot' };

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Shape check of ringlet claims after decryption/verification (never trusts types blindly). */
export function hasTokenShape(c: Record<string, unknown>): boolean {
  return (
    typeof c['sub'] === 'string' && c['sub'].length > 0 && c['sub'].length <= MAX_SUBJECT_CHARS &&
    isRole(c['role']) &&
    typeof c['jti'] === 'string' && c['jti'].length > 0 && c['jti'].length <= MAX_CREDENTIAL_ID_CHARS &&
    typeof c['bid'] === 'string' &&
    isFiniteNumber(c['iat']) && isFiniteNumber(c['exp']) && isFiniteNumber(c['am']) &&
    isFiniteNumber(c['im']) && isFiniteNumber(c['at']) && (c['wt'] === 0 || c['wt'] === 1)
  );
}

/**
 * Same boot: monotonic clock only (immune to wall-clock jumps). Another boot: wall clock,
 * only when trusted now and at minting, with leeway; otherwise the token cannot be timed.
 */
export function checkTiming(c: TokenClaims, clocks: SessionClocks, limits: TimingLimits): TimingVerdict {
  if (c.bid === clocks.bootId) {
    const mono = clocks.monotonic.now();
    if (c.im > mono || c.am > c.im) return { ok: false, reason: 'from-the-future' };
    const sinceIssueMs = mono - c.im;
    const sinceLoginMs = mono - c.am;
    if (sinceLoginMs >= limits.absoluteTimeoutMs) return { ok: false, reason: 'expired-absolute' };
    if (sinceIssueMs >= limits.idleTimeoutMs) return { ok: false, reason: 'expired-idle' };
    return {
      ok: true,
      issued: { monoMs: c.am, wallMs: c.wt === 1 ? c.at : Number.NaN },
      idleLeftMs: limits.idleTimeoutMs - sinceIssueMs,
      absoluteLeftMs: limits.absoluteTimeoutMs - sinceLoginMs,
      sinceIssueMs,
    };
  }
  if (limits.sameBootOnly === true) return { ok: false, reason: 'earlier-boot' };
  if (c.wt !== 1 || !wallClockTrusted(clocks)) return { ok: false, reason: 'untimeable' };
  const wall = clocks.wall.now();
  const issuedWall = c.iat * 1000;
  if (issuedWall > wall + limits.leewayMs || c.at > wall + limits.leewayMs) return { ok: false, reason: 'from-the-future' };
  const sinceIssueMs = Math.max(0, wall - issuedWall);
  const sinceLoginMs = Math.max(0, wall - c.at);
  if (sinceLoginMs >= limits.absoluteTimeoutMs + limits.leewayMs) return { ok: false, reason: 'expired-absolute' };
  if (sinceIssueMs >= limits.idleTimeoutMs + limits.leewayMs || wall >= c.exp * 1000 + limits.leewayMs) {
    return { ok: false, reason: 'expired-idle' };
  }
  return {
    ok: true,
    issued: { monoMs: undefined, wallMs: c.at },
    idleLeftMs: Math.max(0, limits.idleTimeoutMs - sinceIssueMs),
    absoluteLeftMs: Math.max(0, limits.absoluteTimeoutMs - sinceLoginMs),
    sinceIssueMs,
  };
}

/**
 * What revoking this credential must remember: its issue time on the clocks it can be
 * checked on, and until when any instance could accept it (every re-issue of a cookie keeps
 * its `jti` and login time, so the absolute limit bounds them all; a token's own `exp` may
 * lie further out). Undefined when no instance can ever accept it again.
 */
export function credentialLife(c: TokenClaims, clocks: SessionClocks, limits: TimingLimits): CredentialLife | undefined {
  const sameBoot = c.bid === clocks.bootId;
  if (!sameBoot && c.wt !== 1) return undefined;
  const untilWallMs = c.wt === 1 ? Math.max(c.exp * 1000, c.at + limits.absoluteTimeoutMs) + limits.leewayMs : Number.NaN;
  return {
    issued: { monoMs: sameBoot ? c.am : undefined, wallMs: c.wt === 1 ? c.at : Number.NaN },
    untilMonoMs: sameBoot ? c.am + limits.absoluteTimeoutMs : Number.NEGATIVE_INFINITY,
    untilWallMs,
  };
}
