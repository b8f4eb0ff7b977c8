/**
 * A users file written for the memory benchmark, so the login flood can fill the RAM store
 * through many accounts (the per-user cap alone would keep it at a few sessions):
 * `admin` hashed at the profile's own scrypt cost (for the real-cost hashing phase; dropped
 * to the bench cost before the flood, {@link dropRealCostHash}), and `reader` plus `flood-N`
 * users at a labelled bench-only cost, so a flood of ten times the capacity takes minutes
 * rather than hours. The flood users share one hash: verifying it
 * costs the same, and hashing hundreds of identical passwords would only slow the set-up.
 */
import { join } from 'node:path';
import { MAX_USERS, UsersDb, hashPasswordSync, saveUsersFile, setUserHash, updateUsersFile, type ScryptCost } from '../../src/users/index.js';
import type { DeviceProfile } from '../../src/config/profile-schema.js';

/** scrypt N=2^10 r=8 p=1: 1 MiB, about a millisecond. Bench-only; reported as such. */
export const BENCH_SCRYPT_COST: ScryptCost = { logN: 10, r: 8, p: 1 };

/**
 * Server flags that make the bench-only cost the server's own: hashes at that cost are then
 * not "weaker than the profile" (a successful login would upgrade them to the profile's
 * cost, and every later attempt would hash both costs: see users/login-verify.ts). The
 * override's loud name is the label.
 */
export const BENCH_COST_FLAGS: readonly string[] = [
  '--scrypt-log-n', String(BENCH_SCRYPT_COST.logN), '--scrypt-r', String(BENCH_SCRYPT_COST.r),
  '--scrypt-p', String(BENCH_SCRYPT_COST.p), '--insecure-scrypt-below-owasp',
];
export const ADMIN_PASSWORD = 'bench admin horse battery';
export const FLOOD_PASSWORD = 'bench flood horse battery';

export interface UsersFixture {
  path: string;
  floodUsers: string[];
}

/**
 * How many flood users: enough that the store fills up before their per-user caps bind
 * (twice capacity / cap, so global LRU eviction runs too), within the users file's limit.
 */
export function floodUserCount(profile: Pick<DeviceProfile, 'capacity' | 'maxSessionsPerUser'>): number {
  return Math.max(1, Math.min(MAX_USERS - 2, 2 * Math.ceil(profile.capacity / profile.maxSessionsPerUser)));
}

export function writeUsersFixture(dir: string, profile: DeviceProfile): UsersFixture {
  const floodHash = hashPasswordSync(FLOOD_PASSWORD, BENCH_SCRYPT_COST);
  const floodUsers = Array.from({ length: floodUserCount(profile) }, (_, i) => `flood-${String(i).padStart(4, '0')}`);
  const db = new UsersDb([
    { name: 'admin', role: 'admin', hash: hashPasswordSync(ADMIN_PASSWORD, { logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP }), mustChangePassword: false },
    { name: 'reader', role: 'viewer', hash: floodHash, mustChangePassword: false },
    ...floodUsers.map((name) => ({ name, role: 'viewer' as const, hash: floodHash, mustChangePassword: false })),
  ]);
  const path = join(dir, 'users.json');
  saveUsersFile(path, db);
  return { path, floodUsers };
}

/**
 * After the real-cost phase: `admin` gets a bench-cost hash too (a locked update, as the CLI
 * does), so the flood that follows hashes one cost only. The server picks the change up by
 * itself; the caller also sends SIGHUP and waits a moment.
 */
export async function dropRealCostHash(path: string): Promise<void> {
  const hash = hashPasswordSync(ADMIN_PASSWORD, BENCH_SCRYPT_COST);
  await updateUsersFile(path, (db) => setUserHash(db, 'admin', hash));
}
