/**
 * JWT claim checks shared by bearer tokens and cookie JWEs (RFC 7519 §4.1), run only
 * after the MAC or the decryption has succeeded.
 *
 * Times are NumericDate seconds. The wall clock is injectable because routers boot in
 * 1970 and jump when NTP syncs (README, "Clock faults"): the session manager passes `checkTimes: false`
 * for tokens it binds to the boot instead, while `exp` stays required.
 */
import { ConfigError } from '../../errors.js';
import { systemWallClock } from '../../util/clock.js';
import type { WallClock } from '../../util/clock.js';
import { joseFailure } from './failures.js';
import { isJsonObject } from './header.js';

/** Default clock-skew allowance for exp / nbf / iat. */
export const DEFAULT_LEEWAY_SECONDS = 30;
/** Leeway above a day would make `exp` meaningless for session tokens. */
const MAX_LEEWAY_SECONDS = 86_400;

export interface ClaimsOptions {
  /** The current wall-clock time in ms; wins over `clock`. */
  nowMs?: number;
  /** Wall clock to read when `nowMs` is not given. Default: the system clock. */
  clock?: WallClock;
  /** Allowed skew for exp, nbf and iat, 0..86400. Default 30. */
  leewaySeconds?: number;
  /** When set, `aud` must be (or contain) one of these. */
  audience?: string | readonly string[];
  /** When set, `iss` must be one of these. */
  issuer?: string | readonly string[];
  /** Compare exp / nbf / iat with the clock. Default true. */
  checkTimes?: boolean;
  /** `exp` must be present (and numeric) even when times are not checked. Default true. */
  requireExp?: boolean;
}

/**
 * The claims of a verified or decrypted token: its payload must be a JSON object (else
 * ERR_TOKEN_MALFORMED), whose registered claims then pass {@link checkClaims}.
 */
export function parseClaims(payloadJson: string, options: ClaimsOptions | undefined): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(payloadJson);
  } catch {
    throw joseFailure('ERR_TOKEN_MALFORMED');
  }
  if (!isJsonObject(claims)) throw joseFailure('ERR_TOKEN_MALFORMED');
  checkClaims(claims, options);
  return claims;
}

/**
 * Check registered claims.
 * @throws RingletError ERR_EXPIRED, ERR_NOT_YET_VALID (nbf, or iat in the future beyond
 *   the leeway) or ERR_CLAIM_INVALID (wrong types, missing exp, aud / iss mismatch)
 * @throws ConfigError for invalid options
 */
export function checkClaims(claims: Record<string, unknown>, options: ClaimsOptions | undefined): void {
  const exp = claims['exp'];
  const nbf = claims['nbf'];
  const iat = claims['iat'];
  if (exp === undefined ? options?.requireExp !== false : !isNumericDate(exp)) throw joseFailure('ERR_CLAIM_INVALID');
  if ((nbf !== undefined && !isNumericDate(nbf)) || (iat !== undefined && !isNumericDate(iat))) {
    throw joseFailure('ERR_CLAIM_INVALID');
  }
  if (options?.checkTimes !== false) {
    const nowSeconds = Math.floor(resolveNowMs(options) / 1000);
    const leeway = resolveLeewaySeconds(options);
    if (exp !== undefined && nowSeconds - leeway >= (exp as number)) throw joseFailure('ERR_EXPIRED');
    if (nbf !== undefined && nowSeconds + leeway < (nbf as number)) throw joseFailure('ERR_NOT_YET_VALID');
    if (iat !== undefined && nowSeconds + leeway < (iat as number)) throw joseFailure('ERR_NOT_YET_VALID');
  }
  const audience = options?.audience;
  if (audience !== undefined && !audienceMatches(claims['aud'], audience)) throw joseFailure('ERR_CLAIM_INVALID');
  const issuer = options?.issuer;
  if (issuer !== undefined && !issuerMatches(claims['iss'], issuer)) throw joseFailure('ERR_CLAIM_INVALID');
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function resolveNowMs(options: ClaimsOptions | undefined): number {
  const nowMs = options?.nowMs;
  if (nowMs !== undefined) {
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) throw new ConfigError('nowMs', 'must be a finite number of ms since the epoch');
    return nowMs;
  }
  const clock = options?.clock ?? systemWallClock;
  if (typeof clock.now !== 'function') throw new ConfigError('clock', 'must have a now() method returning ms');
  return clock.now();
}

function resolveLeewaySeconds(options: ClaimsOptions | undefined): number {
  const leeway = options?.leewaySeconds;
  if (leeway === undefined) return DEFAULT_LEEWAY_SECONDS;
  if (typeof leeway !== 'number' || !(leeway >= 0 && leeway <= MAX_LEEWAY_SECONDS)) {
    throw new ConfigError('leewaySeconds', `must be a number in 0..${MAX_LEEWAY_SECONDS}, got ${String(leeway)}`);
  }
  return leeway;
}

/** RFC 7519 §4.1.3: `aud` is a string or an array of strings; one must match. */
function audienceMatches(aud: unknown, expected: string | readonly string[]): boolean {
  if (typeof aud === 'string') return typeof expected === 'string' ? aud === expected : expected.includes(aud);
  if (!Array.isArray(aud)) return false;
  for (const item of aud as unknown[]) {
    if (typeof item !== 'string') return false;
  }
  return (aud as string[]).some((item) => (typeof expected === 'string' ? item === expected : expected.includes(item)));
}

function issuerMatches(iss: unknown, expected: string | readonly string[]): boolean {
  if (typeof iss !== 'string') return false;
  return typeof expected === 'string' ? iss === expected : expected.includes(iss);
}
