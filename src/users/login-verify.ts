/**
 * The password check at login, built so that its duration says nothing about whether the
 * user name exists, whatever mix of costs the users file holds.
 *
 * The problem: verifying takes as long as the stored hash's cost. A dummy verify for an
 * unknown name at one fixed cost matches users of that cost only; with a mix (a profile
 * raised from p=1 to p=5, hashes not yet upgraded, a file imported from elsewhere) the
 * names whose answer takes another time are thereby known to exist (measured before this:
 * 33 ms for an unknown name against 68 ms for a wrong password).
 *
 * The rule: every attempt computes one scrypt for each distinct hash shape in the table
 * (cost and output length) — for a known user the one matching their hash is the real
 * check and the others run against fixed random dummies; for an unknown name all of them
 * are dummies. Every attempt therefore does the same computations in the same order,
 * whichever user, cost mix or answer; only the salts and the compared bytes differ. An
 * empty table uses the profile's cost. The price is the sum of the distinct costs per
 * attempt while hashes of several costs coexist; successful logins upgrade weaker hashes
 * to the profile's cost, so a table converges to one shape and logins to one hash.
 */
import { passwordWithinBound } from './password-policy.js';
import { dummyFor, HASH_BYTES, parseScryptHash, verifyParsed, type ParsedScryptHash, type ScryptFunction } from './phc-scrypt.js';
import type { ScryptCost } from './scrypt-cost.js';
import type { UsersDb } from './users-db.js';

/** One computation an attempt makes: a cost and an output length. */
export interface HashShape {
  readonly cost: ScryptCost;
  readonly hashBytes: number;
}

function shapeKey(cost: ScryptCost, hashBytes: number): string {
  return `${cost.logN},${cost.r},${cost.p},${hashBytes}`;
}

// Per table (tables are immutable): parsing every hash on every attempt would be waste.
const shapesByTable = new WeakMap<UsersDb, readonly HashShape[]>();

/**
 * The distinct hash shapes of a table, in file order of first appearance; the profile's
 * cost (at ringlet's output length) when the table is empty.
 */
export function loginHashShapes(db: UsersDb, profileCost: ScryptCost): readonly HashShape[] {
  let shapes = shapesByTable.get(db);
  if (shapes === undefined) {
    const seen = new Map<string, HashShape>();
    for (const record of db.records()) {
      const { cost, hash } = parseScryptHash(record.hash);
      const key = shapeKey(cost, hash.length);
      if (!seen.has(key)) seen.set(key, Object.freeze({ cost, hashBytes: hash.length }));
    }
    if (seen.size === 0) seen.set(shapeKey(profileCost, HASH_BYTES), Object.freeze({ cost: { ...profileCost }, hashBytes: HASH_BYTES }));
    shapes = Object.freeze([...seen.values()]);
    shapesByTable.set(db, shapes);
  }
  return shapes;
}

/**
 * Check `password` against `storedHash` (undefined: the name is unknown), computing one
 * scrypt per shape in `shapes` (from {@link loginHashShapes} of the same table), all of
 * them, in order, whatever the answer. Resolves true only for the right password of a
 * known user. A password over the length bound is false without hashing, for known and
 * unknown names alike (its length is the sender's own choice).
 *
 * `scryptImpl` is for tests: it sees every computation an attempt makes.
 *
 * @example
 * const db = users.current();
 * const ok = await limiter.run(() => verifyLogin(pw, db.get(name)?.hash, loginHashShapes(db, profileCost)));
 */
export async function verifyLogin(
  password: string,
  storedHash: string | undefined,
  shapes: readonly HashShape[],
  scryptImpl?: ScryptFunction,
): Promise<boolean> {
  const stored: ParsedScryptHash | undefined = storedHash === undefined ? undefined : parseScryptHash(storedHash);
  if (!passwordWithinBound(password)) return false;
  const realKey = stored === undefined ? undefined : shapeKey(stored.cost, stored.hash.length);
  let verdict = false;
  let checked = false;
  for (const shape of shapes) {
    if (!checked && shapeKey(shape.cost, shape.hashBytes) === realKey) {
      checked = true;
      verdict = await verifyParsed(password, stored as ParsedScryptHash, scryptImpl);
    } else {
      // The result is discarded: a 2^-256 chance of matching random bytes must not log anyone in.
      await verifyParsed(password, dummyFor(shape.cost, shape.hashBytes), scryptImpl);
    }
  }
  // Only when the caller passed shapes of another table: correctness first (a shape too many).
  if (stored !== undefined && !checked) verdict = await verifyParsed(password, stored, scryptImpl);
  return verdict;
}
