/**
 * RAM-mode snapshot across restarts (README, "The RAM store: guarantees", Snapshots): the store's typed arrays are
 * written on SIGTERM/SIGHUP to a RAM-backed path (tmpfs, never flash) and restored at start.
 *
 * The file is bound to the keys (an HMAC with a key derived from the JWKS), so a snapshot
 * cannot be forged or restored under other keys. Downtime is measured on the kernel's clock
 * when the machine did not reboot (boot id + /proc/uptime: immune to wall-clock jumps),
 * else on a trusted wall clock; when neither can time it, the snapshot is refused. After a
 * restore the file is deleted: a later crash must not resurrect sessions ended since.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { writeSecretFileAtomic } from '../util/secret-file.js';
import { BOOT_ID_CHARS, type KernelClock } from '../util/kernel-clock.js';

export { linuxKernelClock, type KernelClock } from '../util/kernel-clock.js';

const MAGIC = Buffer.from('RINGLETW');
const VERSION = 1;
const BOOT_ID_BYTES = BOOT_ID_CHARS;
const HEADER_BYTES = MAGIC.length + 4 + BOOT_ID_BYTES + 8 + 8 + 4;
const MAC_BYTES = 32;

function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update('ringlet-snapshot\0').update(body).digest();
}

export function encodeSnapshotFile(store: Buffer, key: Buffer, wallMs: number, kernel: KernelClock): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  let o = MAGIC.copy(header, 0);
  o = header.writeUInt32BE(VERSION, o);
  header.write((kernel.bootId() ?? '').padEnd(BOOT_ID_BYTES, ' '), o, BOOT_ID_BYTES, 'latin1');
  o += BOOT_ID_BYTES;
  o = header.writeDoubleBE(kernel.uptimeMs() ?? Number.NaN, o);
  o = header.writeDoubleBE(wallMs, o);
  header.writeUInt32BE(store.length, o);
  const body = Buffer.concat([header, store]);
  return Buffer.concat([body, mac(key, body)]);
}

export type SnapshotVerdict =
  | { ok: true; store: Buffer; elapsedMs: number; timedBy: 'kernel' | 'wall' }
  | { ok: false; reason: string };

/**
 * Checks a snapshot file's integrity and key, and how long ago it was written.
 * `wallTrusted` says whether the current wall clock may be used as a fallback.
 */
export function decodeSnapshotFile(file: Buffer, key: Buffer, wallMs: number, wallTrusted: boolean, kernel: KernelClock): SnapshotVerdict {
  if (file.length < HEADER_BYTES + MAC_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) return { ok: false, reason: 'not a ringlet snapshot' };
  const body = file.subarray(0, file.length - MAC_BYTES);
  const expected = mac(key, body);
  if (!timingSafeEqual(expected, file.subarray(file.length - MAC_BYTES))) return { ok: false, reason: 'written under other keys, or corrupted' };
  let o = MAGIC.length;
  if (file.readUInt32BE(o) !== VERSION) return { ok: false, reason: 'snapshot version not supported' };
  o += 4;
  const bootId = file.toString('latin1', o, o + BOOT_ID_BYTES).trim();
  o += BOOT_ID_BYTES;
  const uptimeThen = file.readDoubleBE(o);
  o += 8;
  const wallThen = file.readDoubleBE(o);
  o += 8;
  const length = file.readUInt32BE(o);
  if (HEADER_BYTES + length !== body.length) return { ok: false, reason: 'snapshot length does not match' };
  const store = Buffer.from(body.subarray(HEADER_BYTES));
  const bootNow = kernel.bootId();
  const uptimeNow = kernel.uptimeMs();
  if (bootId !== '' && bootId === bootNow && uptimeNow !== undefined && Number.isFinite(uptimeThen) && uptimeNow >= uptimeThen) {
    return { ok: true, store, elapsedMs: uptimeNow - uptimeThen, timedBy: 'kernel' };
  }
  if (wallTrusted && Number.isFinite(wallThen) && wallMs >= wallThen) return { ok: true, store, elapsedMs: wallMs - wallThen, timedBy: 'wall' };
  return { ok: false, reason: 'downtime cannot be measured (rebooted without a trusted clock)' };
}

export function writeSnapshotFile(path: string, data: Buffer): void {
  writeSecretFileAtomic(path, data);
}

export function readAndRemoveSnapshotFile(path: string): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return undefined;
  }
  rmSync(path, { force: true });
  return data;
}
