/**
 * scrypt password hashes in the PHC string format:
 * `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt B64>$<hash B64>` (PHC string format spec;
 * scrypt itself is RFC 7914). The same layout passlib and others write, with the spec's
 * standard-alphabet unpadded B64.
 *
 * Verification recomputes with the string's own parameters (so a cost change in the
 * profile does not lock anyone out; see {@link needsRehash}) and compares with
 * `crypto.timingSafeEqual`. Every computation runs with `maxmem` bounded to exactly
 * what its cost needs.
 */
import { scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { RingletError } from '../errors.js';
import { fillRandom } from '../util/random-pool.js';
import { decodePhcB64, encodePhcB64 } from './phc-b64.js';
import { MAX_PASSWORD_BYTES, normalizePassword, passwordWithinBound } from './password-policy.js';
import type { ScryptCost } from './scrypt-cost.js';
import { isWeakerCost, scryptCostProblem, scryptMaxmemBytes, validateScryptCost } from './scrypt-cost.js';

/** Salt written by {@link hashPassword} (PHC spec recommends at least 16 bytes). */
export const SALT_BYTES = 16;
/** Derived key written by {@link hashPassword}. */
export const HASH_BYTES = 32;
/** Accepted when reading: other writers' salts of 8..64 bytes and outputs of 16..64 bytes. */
const MIN_SALT_BYTES = 8;
const MAX_SALT_BYTES = 64;
const MIN_HASH_BYTES = 16;
const MAX_HASH_BYTES = 64;
/** Longest PHC string considered at all (the longest valid one is about 200 characters). */
export const MAX_PHC_CHARS = 256;

/** A parsed `$scrypt$` PHC string. */
export interface ParsedScryptHash {
  cost: ScryptCost;
  salt: Buffer;
  hash: Buffer;
}

// PHC string format: `$id$param=value,...$salt$hash`; decimal values without leading
// zeros; for scrypt the parameters are exactly ln, r, p in this order.
const phcScryptRegExp = /^\$scrypt\$ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)\$([^$]*)\$([^$]*)$/;

function malformed(reason: string): RingletError {
  // The reason names the part that is wrong, never its content.
  return new RingletError('ERR_HASH_MALFORMED', `malformed scrypt hash: ${reason}`);
}

/**
 * Parse a `$scrypt$` PHC string strictly. Throws RingletError `ERR_HASH_MALFORMED` for
 * anything else: other ids, parameters out of range or out of order, leading zeros,
 * padded or non-canonical B64, salts outside 8..64 bytes, hashes outside 16..64 bytes.
 */
export function parseScryptHash(phc: string): ParsedScryptHash {
  if (typeof phc !== 'string' || phc.length > MAX_PHC_CHARS) throw malformed('not a PHC string of acceptable length');
  const m = phcScryptRegExp.exec(phc);
  if (m === null) throw malformed('expected $scrypt$ln=<n>,r=<n>,p=<n>$<salt>$<hash>');
  const cost: ScryptCost = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const problem = scryptCostProblem(cost);
  // Name the parameters as the string spells them (ln, not logN).
  if (problem !== undefined) throw malformed(`${problem[0]} ${problem[1]}`.replace(/logN/g, 'ln'));
  const salt = decodePhcB64(m[4] as string);
  if (salt === undefined) throw malformed('salt is not unpadded standard base64');
  if (salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) {
    throw malformed(`salt must be ${MIN_SALT_BYTES} to ${MAX_SALT_BYTES} bytes`);
  }
  const hash = decodePhcB64(m[5] as string);
  if (hash === undefined) throw malformed('hash is not unpadded standard base64');
  if (hash.length < MIN_HASH_BYTES || hash.length > MAX_HASH_BYTES) {
    throw malformed(`hash must be ${MIN_HASH_BYTES} to ${MAX_HASH_BYTES} bytes`);
  }
  return { cost, salt, hash };
}

/** Format parts as a PHC string (the inverse of {@link parseScryptHash}). */
export function formatScryptHash(parsed: ParsedScryptHash): string {
  const { logN, r, p } = parsed.cost;
  return `$scrypt$ln=${logN},r=${r},p=${p}$${encodePhcB64(parsed.salt)}$${encodePhcB64(parsed.hash)}`;
}

/** node:crypto's callback scrypt; injectable so tests can see every computation a login makes. */
export type ScryptFunction = typeof scrypt;

function deriveKey(password: string, salt: Uint8Array, keyBytes: number, cost: ScryptCost, impl: ScryptFunction = scrypt): Promise<Buffer> {
  const secret = Buffer.from(normalizePassword(password), 'utf8');
  return new Promise((resolve, reject) => {
    impl(secret, salt, keyBytes, scryptOptions(cost), (err, key) => {
      secret.fill(0);
      if (err !== null) reject(err);
      else resolve(key);
    });
  });
}

function scryptOptions(cost: ScryptCost): { N: number; r: number; p: number; maxmem: number } {
  return { N: 2 ** cost.logN, r: cost.r, p: cost.p, maxmem: scryptMaxmemBytes(cost) };
}

function tooLarge(): RingletError {
  return new RingletError('ERR_PASSWORD_TOO_LONG', `password exceeds ${MAX_PASSWORD_BYTES} bytes`);
}

/**
 * Hash a password for storage: NFC-normalised UTF-8, a fresh 16-byte salt from the
 * pooled CSPRNG, a 32-byte scrypt output. Throws ConfigError for a cost outside the
 * ranges and RingletError `ERR_PASSWORD_TOO_LONG` above {@link MAX_PASSWORD_BYTES}.
 * Policy (minimum length, ...) is the caller's: see `checkNewPassword`.
 *
 * @example
 * const phc = await hashPassword('correct horse battery', { logN: 15, r: 8, p: 1 });
 * // '$scrypt$ln=15,r=8,p=1$<22 chars>$<43 chars>'
 */
export async function hashPassword(password: string, cost: ScryptCost): Promise<string> {
  validateScryptCost(cost);
  if (!passwordWithinBound(password)) throw tooLarge();
  const salt = Buffer.alloc(SALT_BYTES);
  fillRandom(salt);
  const hash = await deriveKey(password, salt, HASH_BYTES, cost);
  return formatScryptHash({ cost: { logN: cost.logN, r: cost.r, p: cost.p }, salt, hash });
}

/**
 * {@link hashPassword} without the thread pool: blocks the event loop for one whole
 * hash. For the CLI (`ringlet passwd`) and start-up (first-start user) only; a running
 * server hashes with `hashLimiter.run(() => hashPassword(...))`.
 */
export function hashPasswordSync(password: string, cost: ScryptCost): string {
  validateScryptCost(cost);
  if (!passwordWithinBound(password)) throw tooLarge();
  const salt = Buffer.alloc(SALT_BYTES);
  fillRandom(salt);
  const secret = Buffer.from(normalizePassword(password), 'utf8');
  try {
    const hash = scryptSync(secret, salt, HASH_BYTES, scryptOptions(cost));
    return formatScryptHash({ cost: { logN: cost.logN, r: cost.r, p: cost.p }, salt, hash });
  } finally {
    secret.fill(0);
  }
}

/** Recompute and compare in constant time. Internal: callers check the password's bound first. */
export async function verifyParsed(password: string, parsed: ParsedScryptHash, impl?: ScryptFunction): Promise<boolean> {
  const derived = await deriveKey(password, parsed.salt, parsed.hash.length, parsed.cost, impl);
  const ok = timingSafeEqual(derived, parsed.hash);
  derived.fill(0);
  return ok;
}

/**
 * Check a password against a stored PHC string, recomputing with the string's own
 * parameters. Throws RingletError `ERR_HASH_MALFORMED` when the string is not a valid
 * `$scrypt$` hash (the users file loader rejects those at start, so at login this means
 * a bug). A password above {@link MAX_PASSWORD_BYTES} is false without hashing: its
 * length is the sender's own choice, so answering faster reveals nothing.
 */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parseScryptHash(phc);
  if (!passwordWithinBound(password)) return false;
  return verifyParsed(password, parsed);
}

// One fixed random hash per cost and length; costs come from configuration and the users
// file, so this stays tiny, and the cap keeps it bounded even if a caller passes many.
const DUMMY_CACHE_MAX = 8;
const dummyHashes = new Map<string, ParsedScryptHash>();

/** A fixed random hash of this cost and output length, to verify against when there is no user. Internal. */
export function dummyFor(cost: ScryptCost, hashBytes = HASH_BYTES): ParsedScryptHash {
  const key = `${cost.logN},${cost.r},${cost.p},${hashBytes}`;
  let parsed = dummyHashes.get(key);
  if (parsed === undefined) {
    validateScryptCost(cost);
    if (dummyHashes.size >= DUMMY_CACHE_MAX) dummyHashes.clear();
    const salt = Buffer.alloc(SALT_BYTES);
    const hash = Buffer.alloc(hashBytes);
    fillRandom(salt);
    fillRandom(hash);
    parsed = { cost: { logN: cost.logN, r: cost.r, p: cost.p }, salt, hash };
    dummyHashes.set(key, parsed);
  }
  return parsed;
}

/**
 * For a login naming an unknown user: the same work as a real verify (same cost, same
 * key length, same constant-time compare) against a fixed random hash, and the same
 * answer as a wrong password: always false. So an unknown name costs the same time as
 * a wrong password of a user whose hash has this cost. A login uses `verifyLogin`
 * (login-verify.ts), which makes that hold whatever mix of costs the users file holds.
 *
 * @example
 * const ok = user ? await verifyPassword(pw, user.hash) : await dummyVerify(pw, cost); // false
 */
export async function dummyVerify(password: string, cost: ScryptCost): Promise<false> {
  const parsed = dummyFor(cost);
  if (!passwordWithinBound(password)) return false;
  // The result is discarded: a 2^-256 chance of matching random bytes must not log anyone in.
  await verifyParsed(password, parsed);
  return false;
}

/** The parsed hash, or undefined for a malformed one (what to do with that is the caller's rule). */
function parsedOrUndefined(phc: string): ParsedScryptHash | undefined {
  try {
    return parseScryptHash(phc);
  } catch {
    return undefined;
  }
}

/**
 * True when a stored hash was made with a different cost or size than `cost` would give
 * now (malformed strings too). The server upgrades only what {@link hashIsWeaker} says.
 */
export function needsRehash(phc: string, cost: ScryptCost): boolean {
  const parsed = parsedOrUndefined(phc);
  if (parsed === undefined) return true;
  return (
    parsed.cost.logN !== cost.logN ||
    parsed.cost.r !== cost.r ||
    parsed.cost.p !== cost.p ||
    parsed.salt.length !== SALT_BYTES ||
    parsed.hash.length !== HASH_BYTES
  );
}

/**
 * True when a stored hash is cheaper to attack than a fresh hash at `cost` would be: a
 * weaker cost (less memory or less work per guess, see `isWeakerCost`) or a shorter salt
 * or output than ringlet writes. A successful login upgrades such a hash; a stronger one
 * is kept. Malformed strings are weaker.
 */
export function hashIsWeaker(phc: string, cost: ScryptCost): boolean {
  const parsed = parsedOrUndefined(phc);
  if (parsed === undefined) return true;
  return isWeakerCost(parsed.cost, cost) || parsed.salt.length < SALT_BYTES || parsed.hash.length < HASH_BYTES;
}
