/**
 * Snapshot format (README, "The RAM store: guarantees", Snapshots): the store's one buffer, with times rewritten as
 * ages so they survive a restart whose monotonic clock starts over.
 *
 *   offset size
 *        0    8  magic "RINGLETS"
 *        8    4  format version (1), u32 little-endian like every field below
 *       12    4  header bytes (80)
 *       16    4  capacity          \
 *       20    4  slotBytes          | must equal the new store's options:
 *       24    4  maxUsers           | they fix the buffer layout
 *       28    4  maxSessionsPerUser/
 *       32    4  state bytes (the store buffer)
 *       36    4  names bytes (UTF-8 JSON: user and role tables)
 *       40    8  reserved (0)
 *       48   32  SHA-256 of bytes [0, 48) + state + names
 *       80       state, then names
 *
 * createdMs/lastSeenMs hold `writeNow - t` in the file; restore stores
 * `restoreNow - age - elapsedMs`, so downtime counts towards idle and absolute expiry.
 *
 * Everything about the format lives here: encoding, the header checks, and the structure
 * checks a restore needs before the store may walk its lists again (a corrupt list must
 * not loop or index out of range). The store only hands over its buffer and name tables.
 */
import { createHash } from 'node:crypto';
import { RingletError } from '../errors.js';
import type { ResolvedStoreOptions } from './options.js';
import {
  HEAD_ACTIVE, HEAD_FREE, HEAD_ROLES, HEAD_USER_FREE, HEAD_USERS, MAX_ROLES, storeArrays,
} from './layout.js';
import type { StoreArrays, StoreLayout } from './layout.js';

export const SNAPSHOT_MAGIC = 'RINGLETS';
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 80;
const HASHED_HEADER_BYTES = 48;

/** What was wrong with a snapshot; `code` is always ERR_SNAPSHOT_INVALID. */
export type SnapshotFailure = 'magic' | 'version' | 'layout' | 'length' | 'checksum' | 'structure';

/** A snapshot that cannot be restored into this store. The store is left empty. */
export class SnapshotError extends RingletError {
  readonly reason: SnapshotFailure;

  constructor(reason: SnapshotFailure, message: string) {
    super('ERR_SNAPSHOT_INVALID', `snapshot rejected (${reason}): ${message}`);
    this.name = 'SnapshotError';
    this.reason = reason;
  }
}

/** The interned name tables: `users` as [user-table index, name], `roles` by role index. */
export interface SnapshotNames {
  users: Array<[number, string]>;
  roles: string[];
}

/** Serialise `state` (copied, times turned into ages at `nowMs`) and the name tables. */
export function encodeSnapshot(
  options: ResolvedStoreOptions, layout: StoreLayout, state: Uint8Array, names: SnapshotNames, nowMs: number,
): Buffer {
  const namesJson = JSON.stringify({ users: names.users, roles: names.roles });
  const namesBytes = Buffer.byteLength(namesJson, 'utf8');
  // A fresh ArrayBuffer so the state copy is 8-aligned for its Float64 views.
  const out = Buffer.from(new ArrayBuffer(SNAPSHOT_HEADER_BYTES + state.byteLength + namesBytes));
  out.write(SNAPSHOT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(SNAPSHOT_VERSION, 8);
  out.writeUInt32LE(SNAPSHOT_HEADER_BYTES, 12);
  out.writeUInt32LE(options.capacity, 16);
  out.writeUInt32LE(options.slotBytes, 20);
  out.writeUInt32LE(options.maxUsers, 24);
  out.writeUInt32LE(options.maxSessionsPerUser, 28);
  out.writeUInt32LE(state.byteLength, 32);
  out.writeUInt32LE(namesBytes, 36);
  out.set(state, SNAPSHOT_HEADER_BYTES);
  const { createdMs, lastSeenMs } = storeArrays(layout, out.buffer, out.byteOffset + SNAPSHOT_HEADER_BYTES);
  for (const times of [createdMs, lastSeenMs]) {
    for (let i = 0; i < times.length; i++) times[i] = nowMs - times[i]!;
  }
  out.write(namesJson, SNAPSHOT_HEADER_BYTES + state.byteLength, 'utf8');
  digest(out).copy(out, HASHED_HEADER_BYTES);
  return out;
}

function digest(snapshot: Uint8Array): Buffer {
  return createHash('sha256')
    .update(snapshot.subarray(0, HASHED_HEADER_BYTES))
    .update(snapshot.subarray(SNAPSHOT_HEADER_BYTES))
    .digest();
}

/**
 * Check the header against this store's layout, copy the state into `target` (the
 * store's buffer, laid out by `layout`), rebase ages onto `nowMs - elapsedMs`, and check
 * that the state and name tables form a consistent store. Returns the checked names.
 *
 * @throws SnapshotError; `target` is untouched unless every header check passed, and
 *   holds garbage after any later failure (the store empties itself).
 */
export function decodeSnapshot(
  snapshot: Uint8Array, options: ResolvedStoreOptions, layout: StoreLayout, target: ArrayBuffer,
  nowMs: number, elapsedMs: number,
): SnapshotNames {
  const buf = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  if (buf.length < SNAPSHOT_HEADER_BYTES || buf.toString('latin1', 0, 8) !== SNAPSHOT_MAGIC) {
    throw new SnapshotError('magic', 'not a ringlet store snapshot');
  }
  const version = buf.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION || buf.readUInt32LE(12) !== SNAPSHOT_HEADER_BYTES) {
    throw new SnapshotError('version', `format version ${version}, this build reads ${SNAPSHOT_VERSION}`);
  }
  const fields: Array<[string, number, number]> = [
    ['capacity', buf.readUInt32LE(16), options.capacity],
    ['slotBytes', buf.readUInt32LE(20), options.slotBytes],
    ['maxUsers', buf.readUInt32LE(24), options.maxUsers],
    ['maxSessionsPerUser', buf.readUInt32LE(28), options.maxSessionsPerUser],
    ['state bytes', buf.readUInt32LE(32), layout.totalBytes],
  ];
  for (const [field, found, expected] of fields) {
    if (found !== expected) throw new SnapshotError('layout', `${field} is ${found}, this store has ${expected}`);
  }
  const namesBytes = buf.readUInt32LE(36);
  if (buf.length !== SNAPSHOT_HEADER_BYTES + layout.totalBytes + namesBytes) {
    throw new SnapshotError('length', `${buf.length} bytes, header promises ${SNAPSHOT_HEADER_BYTES + layout.totalBytes + namesBytes}`);
  }
  if (!digest(buf).equals(buf.subarray(HASHED_HEADER_BYTES, SNAPSHOT_HEADER_BYTES))) {
    throw new SnapshotError('checksum', 'SHA-256 does not match (truncated or corrupted file)');
  }
  new Uint8Array(target).set(buf.subarray(SNAPSHOT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES + layout.totalBytes));
  const state = storeArrays(layout, target);
  try {
    rebaseTimes(state, nowMs - elapsedMs);
    const names = checkNames(buf.toString('utf8', SNAPSHOT_HEADER_BYTES + layout.totalBytes), state, options);
    checkStructure(state, options, names);
    return { users: names.users, roles: names.roles };
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    throw new SnapshotError('structure', 'inconsistent store state');
  }
}

function fail(what: string): never {
  throw new SnapshotError('structure', what);
}

/** Ages in the file become times on this process's clock: `base - age`. */
function rebaseTimes(a: StoreArrays, base: number): void {
  for (const times of [a.createdMs, a.lastSeenMs]) {
    for (let i = 0; i < times.length; i++) {
      const age = times[i]!;
      if (!Number.isFinite(age)) fail('a session time is not finite');
      times[i] = base - age;
    }
  }
}

/** Parse the name tables and check them against the counts and user entries in the state. */
function checkNames(json: string, a: StoreArrays, o: ResolvedStoreOptions): SnapshotNames & { userNames: string[] } {
  const parsed = JSON.parse(json) as { users?: unknown; roles?: unknown };
  const { users, roles } = parsed;
  if (!Array.isArray(users) || !Array.isArray(roles) || roles.length !== a.heads[HEAD_ROLES]) {
    fail('name tables do not match the state');
  }
  const roleSet = new Set<string>();
  for (const role of roles as unknown[]) {
    if (typeof role !== 'string' || roleSet.has(role)) fail('bad role table');
    roleSet.add(role);
  }
  if (users.length !== a.heads[HEAD_USERS]) fail('user table size does not match');
  const userNames = new Array<string>(o.maxUsers).fill('');
  const userSet = new Set<string>();
  for (const item of users as unknown[]) {
    const [u, name] = Array.isArray(item) ? item : [];
    if (typeof u !== 'number' || !Number.isInteger(u) || u < 0 || u >= o.maxUsers || typeof name !== 'string'
      || userNames[u] !== '' || userSet.has(name) || a.userCount[u] === 0) {
      fail('bad user table');
    }
    userNames[u] = name;
    userSet.add(name);
  }
  return { users: users as Array<[number, string]>, roles: roles as string[], userNames };
}

/**
 * Walk every list once, bounded by capacity: each live slot on the LRU list, the age list
 * and exactly one user list; each free slot on the free list; counts that add up; every
 * slot's user, role and data length in range.
 */
function checkStructure(a: StoreArrays, o: ResolvedStoreOptions, names: SnapshotNames & { userNames: string[] }): void {
  const cap = o.capacity;
  const nilUser = o.maxUsers;
  const active = a.heads[HEAD_ACTIVE]!;
  if (active > cap || a.heads[HEAD_USERS]! > nilUser || a.heads[HEAD_ROLES]! > MAX_ROLES) fail('bad counts');
  for (const [prev, next, name] of [[a.lruPrev, a.lruNext, 'LRU'], [a.agePrev, a.ageNext, 'age']] as const) {
    let seen = 0;
    let p = cap;
    for (let s = next[cap]!; s !== cap; p = s, s = next[s]!) {
      if (s >= cap || prev[s] !== p || ++seen > active || a.slotUser[s] === nilUser) fail(`${name} list`);
    }
    // The sentinel's back link is where the sweep starts: it must be the last slot walked.
    if (seen !== active || prev[cap] !== p) fail(`${name} list length`);
  }
  let free = 0;
  for (let s = a.heads[HEAD_FREE]!; s !== cap; s = a.lruNext[s]!) {
    if (s >= cap || a.slotUser[s] !== nilUser || ++free > cap - active) fail('free list');
  }
  if (free !== cap - active) fail('free list length');
  let sessions = 0;
  // Each live slot on exactly one user list: a list that repeats a slot would skip another.
  const listed = new Uint8Array(cap);
  for (const [u] of names.users) {
    const count = a.userCount[u]!;
    let s = a.userHead[u]!;
    for (let k = 0; k < count; k++, s = a.userNext[s]!) {
      if (s >= cap || listed[s] === 1 || a.slotUser[s] !== u || a.userPrev[a.userNext[s]!] !== s) fail('user list');
      listed[s] = 1;
    }
    if (s !== a.userHead[u]) fail('user list is not a circle');
    sessions += count;
  }
  if (sessions !== active) fail('user counts');
  let freeUsers = 0;
  for (let u = a.heads[HEAD_USER_FREE]!; u !== nilUser; u = a.userHead[u]!) {
    if (u > nilUser || a.userCount[u] !== 0 || ++freeUsers > nilUser) fail('user free list');
  }
  if (freeUsers + a.heads[HEAD_USERS]! !== nilUser) fail('user free list length');
  for (let s = 0; s < cap; s++) {
    const u = a.slotUser[s]!;
    if (u === nilUser) continue;
    if (u > nilUser || names.userNames[u] === '') fail('slot user');
    if (a.slotRole[s]! >= a.heads[HEAD_ROLES]! || a.dataLength[s]! > o.slotBytes) fail('slot fields');
  }
}
