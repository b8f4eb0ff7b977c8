/**
 * Secrets (users file, keys, snapshots) are written atomically with mode 0600: a temporary
 * file in the same directory (so the rename cannot cross filesystems), created exclusively
 * with mode 0600 and fchmod-ed to 0600 (the umask can change neither), written, fsynced,
 * renamed over `path`, then the directory fsynced so the rename survives a power cut. A
 * crash leaves the old file or the new one, never half of one, and no other user can read
 * it at any moment. The directory must exist: a mistyped path is an error naming it, not a
 * new directory. Throws ConfigError naming the path.
 *
 * A file replaced by root keeps its owner and group: an operator running `ringlet users
 * add` or `ringlet keygen` as root must not leave the service's own file unreadable to the
 * service (systemd `DynamicUser=`, a dedicated `ringlet` account). Other writers cannot
 * change ownership and write files they own, as before.
 */
import { closeSync, constants as fsConstants, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { randomBytesPooled } from './random-pool.js';

export const SECRET_FILE_MODE = 0o600;

export function writeSecretFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytesPooled(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const fd = openSync(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, SECRET_FILE_MODE);
    created = true;
    try {
      fchmodSync(fd, SECRET_FILE_MODE);
      keepOwner(fd, path);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    created = false;
  } catch (err) {
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // Already gone; nothing else to clean up.
      }
    }
    throw new ConfigError(path, `cannot write (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  syncDirectory(dir);
}

/** As root, give the new file the owner and group of the one it replaces (see above). */
function keepOwner(fd: number, path: string): void {
  if (process.getuid?.() !== 0) return;
  let owner: { uid: number; gid: number };
  try {
    owner = statSync(path);
  } catch {
    return; // a new file: root's, as created
  }
  if (owner.uid !== 0 || owner.gid !== 0) fchownSync(fd, owner.uid, owner.gid);
}

function syncDirectory(dir: string): void {
  // Best effort: some filesystems refuse fsync on a directory.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The file itself is complete; only the rename's durability is less certain.
  }
}
