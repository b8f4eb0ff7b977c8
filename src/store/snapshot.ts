/**
 * Snapshot format (DESIGN.md "Restarts"): the store's one buffer, with times rewritten as
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
 */
import { createHash } from 'node:crypto';
import { RingletError } from '../errors.js';
import type { ResolvedStoreOptions } from './options.js';
import type { StoreLayout } from './layout.js';

export const SNAPSHOT_MAGIC = 'RINGLETS';
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 80;
const HASHED_HEADER_BYTES = 48;

/** What was wrong with a snapshot; `code` is always ERR_MALFORMED. */
export type SnapshotFailure = 'magic' | 'version' | 'layout' | 'length' | 'checksum' | 'structure';

/** A snapshot that cannot be restored into this store. The store is left empty. */
export class SnapshotError extends RingletError {
  readonly reason: SnapshotFailure;

  constructor(reason: SnapshotFailure, message: string) {
    super('ERR_MALFORMED', `snapshot rejected (${reason}): ${message}`);
    this.name = 'SnapshotError';
    this.reason = reason;
  }
}

function timeViews(state: Uint8Array, layout: StoreLayout): Float64Array[] {
  const created = layout.regions.createdMs;
  const lastSeen = layout.regions.lastSeenMs;
  return [
    new Float64Array(state.buffer, state.byteOffset + created.byteOffset, created.length),
    new Float64Array(state.buffer, state.byteOffset + lastSeen.byteOffset, lastSeen.length),
  ];
}

/** Serialise `state` (copied, times turned into ages at `nowMs`) and the name tables. */
export function encodeSnapshot(
  options: ResolvedStoreOptions, layout: StoreLayout, state: Uint8Array, names: string, nowMs: number,
): Buffer {
  const namesBytes = Buffer.byteLength(names, 'utf8');
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
  const body = out.subarray(SNAPSHOT_HEADER_BYTES);
  body.set(state);
  for (const times of timeViews(body, layout)) {
    for (let i = 0; i < times.length; i++) times[i] = nowMs - times[i]!;
  }
  out.write(names, SNAPSHOT_HEADER_BYTES + state.byteLength, 'utf8');
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
 * Check the header against this store's layout and copy the state into `target`
 * (the store's buffer), rebasing ages onto `nowMs - elapsedMs`. Returns the names JSON.
 *
 * @throws SnapshotError; `target` is untouched unless every header check passed.
 */
export function decodeSnapshot(
  snapshot: Uint8Array, options: ResolvedStoreOptions, layout: StoreLayout, target: Uint8Array,
  nowMs: number, elapsedMs: number,
): string {
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
  target.set(buf.subarray(SNAPSHOT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES + layout.totalBytes));
  const base = nowMs - elapsedMs;
  for (const times of timeViews(target, layout)) {
    for (let i = 0; i < times.length; i++) {
      const age = times[i]!;
      if (!Number.isFinite(age)) throw new SnapshotError('structure', 'a session time is not finite');
      times[i] = base - age;
    }
  }
  return buf.toString('utf8', SNAPSHOT_HEADER_BYTES + layout.totalBytes);
}
