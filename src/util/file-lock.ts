/**
 * An advisory lock for one file that several processes rewrite (the users file: the CLI
 * and the running server). Node has no flock(2), so the lock is a file, `<path>.lock`,
 * created with O_CREAT|O_EXCL (atomic on local filesystems: exactly one creator wins) and
 * holding its owner: pid, the kernel's boot id, uptime and wall time at creation, and a
 * random token.
 *
 * Waiting is bounded: a writer that cannot get the lock within `maxWaitMs` gets RingletError
 * `ERR_FILE_LOCKED` naming the holder's pid, and changes nothing. A directory that refuses
 * the lock file is a ConfigError naming the path.
 *
 * A lock whose owner cannot still be writing is stale and is removed:
 * - its boot id differs from ours (the owner died with the previous boot: a power cut),
 * - its pid no longer exists on this machine (the owner crashed or was killed),
 * - it was held longer than `staleAfterMs` on the kernel's uptime clock (a holder only
 *   reads, parses and writes one small file: milliseconds; this catches a reused pid), or
 *   its content is unreadable and its mtime is further than `staleAfterMs` from now in
 *   either direction (a creator that died between create and write; a clock that jumped).
 * Removing a stale lock and releasing one's own both go through a second, short-lived
 * guard file (`<path>.lock.guard`, same O_EXCL rule): read the lock, check it is the one
 * judged stale (or one's own), unlink it. So two processes breaking the same stale lock
 * cannot remove a fresh lock taken in between, and a holder judged stale (stalled beyond
 * `staleAfterMs`) cannot remove its successor's lock when it wakes up.
 *
 * Limits: the file must be on a local filesystem (pids and O_EXCL mean nothing across NFS
 * clients); every writer must use this lock (a text editor does not: the server still
 * refuses a half-written file, see users-store.ts).
 */
import { closeSync, constants as fsConstants, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { ConfigError, RingletError } from '../errors.js';
import { systemWallClock, type WallClock } from './clock.js';
import { linuxKernelClock, type KernelClock } from './kernel-clock.js';
import { randomBytesPooled } from './random-pool.js';

/** Default bound on waiting for the lock. A holder keeps it for milliseconds. */
export const FILE_LOCK_WAIT_MS = 10_000;
/** A lock held longer than this is a stalled or dead writer's (holds last milliseconds). */
export const FILE_LOCK_STALE_MS = 30_000;
/** Polling back-off while waiting: starts here, doubles, stops growing at the maximum. */
const POLL_FIRST_MS = 2;
const POLL_MAX_MS = 100;
/**
 * Lock files are readable by all: they hold a pid, a boot id and a random token, nothing
 * secret, and a writer running as another user (root's CLI next to the service) must be
 * able to read who holds the lock.
 */
const LOCK_FILE_MODE = 0o644;
/** A lock file larger than this is not ours (ours is ~150 bytes): judged by mtime only. */
const MAX_LOCK_FILE_BYTES = 1024;

export interface FileLockOptions {
  /** Longest wait for the lock, ms (default {@link FILE_LOCK_WAIT_MS}). */
  maxWaitMs?: number;
  /** Age after which a lock is stale, ms (default {@link FILE_LOCK_STALE_MS}). */
  staleAfterMs?: number;
  kernel?: KernelClock;
  wall?: WallClock;
  /** Is a process with this pid alive on this machine? (default: `process.kill(pid, 0)`) */
  processAlive?: (pid: number) => boolean;
}

/** What a lock file says about its owner. */
export interface LockOwner {
  pid: number;
  boot: string;
  uptimeMs: number;
  wallMs: number;
  token: string;
}

interface Seen {
  text: string;
  owner: LockOwner | undefined;
  mtimeMs: number;
  /** Inode, mtime and text: a lock file taken in between differs in at least one. */
  identity: string;
}

function defaultProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user. Only ESRCH means gone.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (
      typeof o === 'object' && o !== null &&
      Number.isSafeInteger(o['pid']) && (o['pid'] as number) > 0 &&
      typeof o['boot'] === 'string' && typeof o['token'] === 'string' &&
      typeof o['uptimeMs'] === 'number' && typeof o['wallMs'] === 'number'
    ) {
      return o as unknown as LockOwner;
    }
  } catch {
    // Not ours, or written half-way: judged by mtime.
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Settings {
  readonly maxWaitMs: number;
  readonly staleAfterMs: number;
  readonly kernel: KernelClock;
  readonly wall: WallClock;
  readonly processAlive: (pid: number) => boolean;

  constructor(o: FileLockOptions) {
    this.maxWaitMs = o.maxWaitMs ?? FILE_LOCK_WAIT_MS;
    this.staleAfterMs = o.staleAfterMs ?? FILE_LOCK_STALE_MS;
    this.kernel = o.kernel ?? linuxKernelClock;
    this.wall = o.wall ?? systemWallClock;
    this.processAlive = o.processAlive ?? defaultProcessAlive;
  }

  owner(): LockOwner {
    return {
      pid: process.pid,
      boot: this.kernel.bootId() ?? '',
      uptimeMs: this.kernel.uptimeMs() ?? -1,
      wallMs: this.wall.now(),
      token: randomBytesPooled(12).toString('base64url'),
    };
  }

  /** Why the lock seen can no longer be held by a live writer, or undefined when it may be. */
  staleReason(seen: Seen): string | undefined {
    const o = seen.owner;
    if (o === undefined) {
      return Math.abs(this.wall.now() - seen.mtimeMs) > this.staleAfterMs ? 'unreadable and old' : undefined;
    }
    const boot = this.kernel.bootId() ?? '';
    if (o.boot !== '' && boot !== '' && o.boot !== boot) return 'taken before a reboot';
    if (o.pid !== process.pid && !this.processAlive(o.pid)) return 'its process is gone';
    const uptime = this.kernel.uptimeMs();
    if (o.boot !== '' && o.boot === boot && uptime !== undefined && o.uptimeMs >= 0) {
      return uptime - o.uptimeMs > this.staleAfterMs ? 'held too long' : undefined;
    }
    // No kernel clock: the wall clock, either direction (a jump makes it untrustworthy).
    return Math.abs(this.wall.now() - o.wallMs) > this.staleAfterMs ? 'held too long' : undefined;
  }
}

/** Create `path` exclusively with `text`; false when it already exists. */
function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, LOCK_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockError(path, err);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The directory refuses the lock file (missing, read-only, not ours): the operator's to fix. */
function lockError(path: string, err: unknown): ConfigError {
  return new ConfigError(path, `cannot lock (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
}

/** The lock file as it is now, or undefined when there is none. */
function look(path: string): Seen | undefined {
  try {
    // lstat: a symlink planted as the lock is judged by its own mtime, never followed.
    const stat = lstatSync(path);
    let text = '';
    if (stat.isFile() && stat.size <= MAX_LOCK_FILE_BYTES) {
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        // Unreadable to us (another user's, older mode): judged by its mtime like an empty one.
        if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      }
    }
    return { text, owner: parseOwner(text), mtimeMs: stat.mtimeMs, identity: `${stat.ino}:${stat.mtimeMs}:${text}` };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw lockError(path, err);
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw lockError(path, err);
  }
}

/**
 * Run `fn` while holding the guard: removals of the lock file are serialised by it. The
 * guard is held for three system calls; a guard left by a crash is stale by the same rules.
 */
async function withGuard(lockPath: string, settings: Settings, deadline: number, fn: () => void): Promise<void> {
  const guardPath = `${lockPath}.guard`;
  const mine = JSON.stringify(settings.owner());
  for (;;) {
    if (createExclusive(guardPath, mine)) break;
    const seen = look(guardPath);
    if (seen !== undefined && settings.staleReason(seen) !== undefined) {
      // A guard is held for microseconds: a stale one is a crash inside those; removing
      // it directly leaves a race only between two breakers of a crashed breaker.
      unlinkIfPresent(guardPath);
      continue;
    }
    if (performance.now() >= deadline) throw new RingletError('ERR_FILE_LOCKED', `${lockPath} is busy`);
    await sleep(1);
  }
  try {
    fn();
  } finally {
    unlinkIfPresent(guardPath);
  }
}

/**
 * A held lock. Get one with {@link acquireFileLock}; release it exactly once.
 *
 * @example
 * const lock = await acquireFileLock('/etc/ringlet/users.json');
 * try { rewrite(); } finally { await lock.release(); }
 */
export class FileLock {
  #released = false;

  constructor(
    readonly lockPath: string,
    readonly owner: LockOwner,
    private readonly settings: Settings,
  ) {}

  /**
   * Removes the lock file if it is still ours. Resolves with false when it was not (it had
   * been judged stale and broken: the holder stalled longer than `staleAfterMs`).
   */
  async release(): Promise<boolean> {
    if (this.#released) return true;
    this.#released = true;
    let ours = false;
    await withGuard(this.lockPath, this.settings, performance.now() + this.settings.maxWaitMs, () => {
      const seen = look(this.lockPath);
      ours = seen?.owner?.token === this.owner.token;
      if (ours) unlinkIfPresent(this.lockPath);
    });
    return ours;
  }
}

/**
 * Take the advisory lock for `path` (the lock file is `<path>.lock` beside it), waiting at
 * most `maxWaitMs`. Stale locks are removed on the way (see the module comment), and
 * `onStale` hears about each one. Rejects with RingletError `ERR_FILE_LOCKED` when the wait
 * runs out, ConfigError (field: the lock path) when the directory refuses the lock file.
 */
export async function acquireFileLock(
  path: string,
  options: FileLockOptions = {},
  onStale?: (reason: string, pid: number | undefined) => void,
): Promise<FileLock> {
  const settings = new Settings(options);
  const lockPath = `${path}.lock`;
  const deadline = performance.now() + settings.maxWaitMs;
  let delayMs = POLL_FIRST_MS;
  for (;;) {
    const owner = settings.owner();
    if (createExclusive(lockPath, JSON.stringify(owner))) return new FileLock(lockPath, owner, settings);
    const seen = look(lockPath);
    if (seen === undefined) {
      // Released in between: try again at once (but never past the deadline).
      if (performance.now() >= deadline) throw new RingletError('ERR_FILE_LOCKED', `${path} is busy (waited ${settings.maxWaitMs} ms)`);
      continue;
    }
    const stale = settings.staleReason(seen);
    if (stale !== undefined) {
      await withGuard(lockPath, settings, deadline, () => {
        // Only the very lock judged stale: a fresh one taken meanwhile is another file.
        if (look(lockPath)?.identity === seen.identity) unlinkIfPresent(lockPath);
      });
      onStale?.(stale, seen.owner?.pid);
      continue;
    }
    const leftMs = deadline - performance.now();
    if (leftMs <= 0) {
      const holder = seen.owner === undefined ? 'another writer' : `process ${seen.owner.pid}`;
      throw new RingletError('ERR_FILE_LOCKED', `${path} is locked by ${holder} (waited ${settings.maxWaitMs} ms)`);
    }
    await sleep(Math.min(delayMs, leftMs));
    delayMs = Math.min(delayMs * 2, POLL_MAX_MS);
  }
}
