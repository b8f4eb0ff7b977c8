/**
 * scrypt cost parameters, their ranges, and what one computation costs in memory.
 *
 * The cost is a device-profile setting (README, "Users and passwords"): on a 64 MB device
 * a handful of concurrent logins must not be able to exhaust memory, so every cost is
 * range-checked once and every computation runs with `maxmem` set to exactly what
 * OpenSSL needs for that cost.
 */
import { ConfigError } from '../errors.js';
import { integerProblem } from '../util/options.js';

/** scrypt work factors: N = 2^logN, block size r, parallelism p (RFC 7914 section 2). */
export interface ScryptCost {
  logN: number;
  r: number;
  p: number;
}

/** N below 2^10 is too cheap to slow a guesser; above 2^20 needs >= 128 MiB per hash at r=1. */
export const SCRYPT_LOG_N_MIN = 10;
export const SCRYPT_LOG_N_MAX = 20;
export const SCRYPT_R_MIN = 1;
export const SCRYPT_R_MAX = 32;
export const SCRYPT_P_MIN = 1;
/**
 * p multiplies time, not memory (see {@link scryptMemoryBytes}), so a small device meets
 * OWASP's table by raising p: N=2^12 needs p=20 ({@link OWASP_SCRYPT_MIN_P}); 32 leaves room.
 */
export const SCRYPT_P_MAX = 32;
/**
 * Per-computation memory ceiling (128 * N * r). Same value as the device-profile check:
 * above this a single login could exhaust a small device.
 */
export const MAX_SCRYPT_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * Memory one scrypt computation holds, as the profile budgets it: `128 * N * r` bytes
 * (the V array, RFC 7914 section 5).
 *
 * p is not a factor: OpenSSL (and so Node) computes the p lanes one after another,
 * reusing V, so p multiplies time, not memory. It only adds the small B buffer
 * (`128 * r * p` bytes), which {@link scryptMaxmemBytes} includes.
 *
 * @example scryptMemoryBytes({ logN: 15, r: 8, p: 1 }) // 33554432 (32 MiB)
 */
export function scryptMemoryBytes(cost: ScryptCost): number {
  return 128 * 2 ** cost.logN * cost.r;
}

/**
 * The `maxmem` passed to `crypto.scrypt`: exactly OpenSSL's own accounting
 * (`128 * r * (N + 2) + 128 * r * p`, EVP_PBE_scrypt). One byte less is refused by
 * OpenSSL, so this is the tightest bound that works and a cost read from a file can
 * never allocate more than its parameters say.
 */
export function scryptMaxmemBytes(cost: ScryptCost): number {
  return 128 * cost.r * (2 ** cost.logN + 2) + 128 * cost.r * cost.p;
}

/** Memory held by `maxConcurrent` hashes at once: what a hashing bound costs the device. */
export function hashingMemoryBytes(cost: ScryptCost, maxConcurrent: number): number {
  return scryptMaxmemBytes(cost) * maxConcurrent;
}

/**
 * OWASP Password Storage Cheat Sheet, scrypt: settings of equal strength at r = 8, as the
 * smallest p for each N = 2^logN (2^17 p=1, 2^16 p=2, 2^15 p=3, 2^14 p=5, 2^13 p=10). The
 * sheet stops at 2^13; 2^12 p=20 follows its own rule (halve N, double p). Below 2^12 no p
 * is accepted: the memory an attacker's hardware needs per guess is what scrypt is for.
 */
export const OWASP_SCRYPT_MIN_P: Readonly<Record<number, number>> = Object.freeze({ 17: 1, 16: 2, 15: 3, 14: 5, 13: 10, 12: 20 });
/** The table's block size; other r count by memory (128·N·r), see {@link owaspMinimumP}. */
export const OWASP_SCRYPT_R = 8;
const OWASP_LOWEST_LOG_N = 12;
const OWASP_HIGHEST_LOG_N = 17;

/**
 * The smallest p that meets OWASP's table for this N and r, or undefined when no p does.
 * Another r counts as the N of equal memory at r = 8 (`floor(log2(N·r/8))`, rounded down:
 * r = 12 counts as r = 8), so memory and time both match the table's row.
 *
 * @example owaspMinimumP(14, 8) // 5
 * @example owaspMinimumP(13, 16) // 5 (16 MiB, like 2^14 at r = 8)
 */
export function owaspMinimumP(logN: number, r: number): number | undefined {
  const equivalentLogN = Math.floor(Math.log2((2 ** logN * r) / OWASP_SCRYPT_R));
  if (equivalentLogN < OWASP_LOWEST_LOG_N) return undefined;
  return OWASP_SCRYPT_MIN_P[Math.min(equivalentLogN, OWASP_HIGHEST_LOG_N)];
}

/** True when `cost` meets OWASP's scrypt table ({@link owaspMinimumP}). */
export function meetsOwaspScryptMinimum(cost: ScryptCost): boolean {
  const minP = owaspMinimumP(cost.logN, cost.r);
  return minP !== undefined && cost.p >= minP;
}

/** `N=2^14 r=8 p=5 (16.0 MiB)`: how costs are shown to operators. */
export function describeScryptCost(cost: ScryptCost): string {
  return `N=2^${cost.logN} r=${cost.r} p=${cost.p} (${(scryptMemoryBytes(cost) / 2 ** 20).toFixed(1)} MiB)`;
}

/**
 * True when a stored hash of `cost` should be upgraded to `target`: a guess against it is
 * cheaper on both axes (memory per guess N·r and work N·r·p, at least one strictly), or it
 * is below OWASP's table while `target` meets it. Costs that are merely different — more
 * memory and less work, both meeting the table (2^17 p=1 against 2^14 p=5: the table calls
 * them equal) — are kept: an upgrade must never trade memory-hardness for nothing.
 */
export function isWeakerCost(cost: ScryptCost, target: ScryptCost): boolean {
  const memory = 2 ** cost.logN * cost.r;
  const targetMemory = 2 ** target.logN * target.r;
  const work = memory * cost.p;
  const targetWork = targetMemory * target.p;
  if (memory <= targetMemory && work <= targetWork && (memory < targetMemory || work < targetWork)) return true;
  return !meetsOwaspScryptMinimum(cost) && meetsOwaspScryptMinimum(target);
}

/**
 * The first problem with a cost as `[field, message]`, or undefined when it is valid.
 * Shared by option validation (ConfigError) and PHC parsing (RingletError).
 */
export function scryptCostProblem(cost: ScryptCost): [keyof ScryptCost, string] | undefined {
  const logN = integerProblem(cost.logN, SCRYPT_LOG_N_MIN, SCRYPT_LOG_N_MAX);
  if (logN !== undefined) return ['logN', logN];
  const r = integerProblem(cost.r, SCRYPT_R_MIN, SCRYPT_R_MAX);
  if (r !== undefined) return ['r', r];
  const p = integerProblem(cost.p, SCRYPT_P_MIN, SCRYPT_P_MAX);
  if (p !== undefined) return ['p', p];
  if (scryptMemoryBytes(cost) > MAX_SCRYPT_MEMORY_BYTES) {
    return ['r', `128 * 2^logN * r must be at most ${MAX_SCRYPT_MEMORY_BYTES} bytes`];
  }
  return undefined;
}

/**
 * Throws a ConfigError naming the field (`<label>.logN`, `.r`, `.p`) and its range.
 * Call once where a cost enters the program (profile, CLI).
 */
export function validateScryptCost(cost: ScryptCost, label = 'cost'): ScryptCost {
  if (typeof cost !== 'object' || cost === null) throw new ConfigError(label, 'must be an object { logN, r, p }');
  const problem = scryptCostProblem(cost);
  if (problem !== undefined) throw new ConfigError(`${label}.${problem[0]}`, problem[1]);
  return cost;
}
