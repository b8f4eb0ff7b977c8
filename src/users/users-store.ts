/**
 * The users table a running server holds, kept in step with the users file that other
 * processes (the CLI, an operator's editor) change while it runs.
 *
 * - Writes: {@link UsersStore.update} is a locked read-modify-write of the file
 *   (`updateUsersFile`): the change is applied to what the file holds now, never to the
 *   copy in memory, so a user added by `ringlet users add` a second ago survives the
 *   server's next password change. One update runs at a time per store.
 * - Reads: the directory is watched (`fs.watch` on the directory, not the file: an atomic
 *   rename replaces the file's inode, and a watch on the old inode would go quiet), events
 *   are coalesced for {@link USERS_RELOAD_DEBOUNCE_MS}, and the file is re-read; SIGHUP
 *   does the same (the server wires it), for filesystems where watching does not work.
 * - A damaged file (invalid JSON, a half-written file, an unknown role, a file cut short)
 *   is refused with one log line per distinct damage, and the last good table stays in
 *   use; a missing file likewise. Nothing is written over a damaged file.
 * - Listeners hear every change of the table, from this process's writes and from reloads
 *   alike, as `(before, after, origin)`: `own` for this store's writes, `file` for others'.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { FileLockOptions } from '../util/file-lock.js';
import type { ScryptCost } from './scrypt-cost.js';
import type { UsersDb } from './users-db.js';
import { createFirstStartUsers, parseUsersFile, readUsersFileText, updateUsersFile } from './users-file.js';

/** Watch events arrive in bursts (rename, change, change): one re-read per burst. */
export const USERS_RELOAD_DEBOUNCE_MS = 50;

/**
 * Who made a change: `own` — this store's `update()` (this process's password change, hash
 * upgrade, a change applied from another instance); `file` — another writer of the file
 * (the CLI, an editor), found at a reload or under `update()`'s lock before its own change.
 */
export type UsersChangeOrigin = 'own' | 'file';

/**
 * Hears `(before, after, origin)` whenever the table changes. A listener may return a
 * promise (e.g. a revocation being made durable): `update()` resolves only after it settles.
 */
export type UsersChangeListener = (before: UsersDb, after: UsersDb, origin: UsersChangeOrigin) => void | Promise<void>;

/**
 * The users table as the server sees it: a current snapshot, a locked read-modify-write,
 * and change notifications.
 */
export interface UsersStore {
  /** The current table (immutable; cheap to call per request). */
  current(): UsersDb;
  /**
   * Apply one change to the table the file holds now, under the file's lock, and write it
   * atomically. Resolves with the new table; rejects (changing nothing) when `change`
   * throws, the lock cannot be had in time (RingletError `ERR_FILE_LOCKED`) or the file is damaged
   * (ConfigError). `change` must be quick and synchronous (hash before calling).
   */
  update(change: (db: UsersDb) => UsersDb): Promise<UsersDb>;
  /**
   * Calls `listener(before, after, origin)` after every change, own writes and reloads alike; an
   * own write's `update()` resolves after the promises listeners return. Returns the remover.
   */
  onChange(listener: UsersChangeListener): () => void;
}

/** Where the store reports what it did: the server's logger fits (structurally). */
export interface UsersStoreLog {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

const SILENT: UsersStoreLog = { info: () => {}, warn: () => {}, error: () => {} };

export interface UsersFileStoreOptions {
  log?: UsersStoreLog;
  lock?: FileLockOptions;
  /** Coalescing window for watch events, ms (default {@link USERS_RELOAD_DEBOUNCE_MS}). */
  reloadDebounceMs?: number;
}

/** What a re-read found. */
export type ReloadResult = 'reloaded' | 'unchanged' | 'refused' | 'missing';

function sameUsers(a: UsersDb, b: UsersDb): boolean {
  return a === b || JSON.stringify(a.toJSON()) === JSON.stringify(b.toJSON());
}

/**
 * A {@link UsersStore} backed by a users file. Open with {@link UsersFileStore.open};
 * call `watch()` to follow changes made by others; `close()` stops watching.
 */
export class UsersFileStore implements UsersStore {
  readonly path: string;
  #db: UsersDb;
  /** The text of the last good file read or written: a re-read of the same text is no change. */
  #text: string;
  /**
   * The text an `update()` wrote and has not adopted yet: a reload that finds it (the watch
   * fires between the write and the adoption) leaves it to `update()`, which adopts it as
   * this store's own change, not as another writer's.
   */
  #ownUnadopted: string | undefined;
  /** The last refusal logged (damage or absence), so one problem is one log line. */
  #refused: string | undefined;
  readonly #listeners = new Set<UsersChangeListener>();
  readonly #log: UsersStoreLog;
  readonly #lock: FileLockOptions | undefined;
  readonly #debounceMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(path: string, db: UsersDb, text: string, options: UsersFileStoreOptions) {
    this.path = path;
    this.#db = db;
    this.#text = text;
    this.#log = options.log ?? SILENT;
    this.#lock = options.lock;
    this.#debounceMs = options.reloadDebounceMs ?? USERS_RELOAD_DEBOUNCE_MS;
  }

  /**
   * Load the users file. When it does not exist and `firstStart` (a scrypt cost) is given,
   * create it under the lock with the first-start user `admin` and a generated password,
   * returned as `createdPassword` to be shown once (never logged). If another process
   * created the file meanwhile, its file is used and nothing is shown. Throws ConfigError
   * naming the path for a damaged, unreadable or (without `firstStart`) missing file.
   */
  static async open(
    path: string,
    options: UsersFileStoreOptions & { firstStart?: ScryptCost } = {},
  ): Promise<{ store: UsersFileStore; createdPassword: string | undefined }> {
    const text = readUsersFileText(path);
    if (text !== undefined) return { store: new UsersFileStore(path, parseUsersFile(text, path), text, options), createdPassword: undefined };
    if (options.firstStart === undefined) throw new ConfigError(path, 'file not found');
    // Hash before taking the lock (the lock is held for milliseconds, a hash is not).
    const first = createFirstStartUsers(options.firstStart);
    const result = await updateUsersFile(path, (db, found) => (found ? db : first.db), {
      create: true,
      lock: options.lock,
      onStaleLock: (reason, pid) => (options.log ?? SILENT).warn('users_lock_stale_removed', { path, reason, pid }),
    });
    const store = new UsersFileStore(path, result.db, result.text, options);
    return { store, createdPassword: result.written ? first.password : undefined };
  }

  current(): UsersDb {
    return this.#db;
  }

  update(change: (db: UsersDb) => UsersDb): Promise<UsersDb> {
    const run = async (): Promise<UsersDb> => {
      let written: string | undefined;
      try {
        const result = await updateUsersFile(this.path, (db) => change(db), {
          lock: this.#lock,
          onStaleLock: (reason, pid) => this.#log.warn('users_lock_stale_removed', { path: this.path, reason, pid }),
          onWritten: (text) => {
            written = text;
            this.#ownUnadopted = text;
          },
        });
        // Others' changes the file held before this one are theirs (heard as `file`), then
        // this change is ours; adopted even when nothing was written.
        await this.#adopt(result.text, result.before, 'update', 'file');
        await this.#adopt(result.text, result.db, 'update', 'own');
        return result.db;
      } finally {
        // Also when the write landed and something after it threw (a lock release that
        // failed): a text left here would be taken for ours at every reload, never adopted.
        if (written !== undefined && this.#ownUnadopted === written) this.#ownUnadopted = undefined;
        // The adopts above wait for listeners (revocations made durable); a reload that ran
        // meanwhile may have adopted a newer file (another writer's change on top of this
        // one), which they then replaced with this update's older view. The file is the
        // truth: read it once more (one read per update; updates are rare).
        this.reload('update');
      }
    };
    const done = this.#queue.then(run, run);
    this.#queue = done.catch(() => undefined);
    return done;
  }

  onChange(listener: UsersChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Re-read the file now (what a watch event and SIGHUP do). A damaged or missing file is
   * refused with one log line and the current table stays; the same damage seen again is
   * not logged again. Never throws.
   */
  reload(trigger: string): ReloadResult {
    let text: string | undefined;
    let db: UsersDb;
    try {
      text = readUsersFileText(this.path);
      if (text === undefined) {
        this.#refuse('missing', () => this.#log.warn('users_file_missing', { path: this.path, trigger, keeping: this.#db.size }));
        return 'missing';
      }
      if (text === this.#text || text === this.#ownUnadopted) {
        this.#refused = undefined;
        return 'unchanged';
      }
      db = parseUsersFile(text, this.path);
    } catch (err) {
      // ConfigError messages name the path and the JSON location, never file content.
      const reason = err instanceof Error ? err.message : 'unreadable';
      this.#refuse(`damaged:${createHash('sha256').update(text ?? '').digest('base64')}:${reason}`, () => this.#log.warn('users_file_refused', { path: this.path, trigger, reason, keeping: this.#db.size }));
      return 'refused';
    }
    this.#refused = undefined;
    const before = this.#db;
    void this.#adopt(text, db, trigger, 'file');
    const changed = this.#db !== before;
    if (changed) this.#log.info('users_reloaded', { path: this.path, trigger, users: db.size });
    return changed ? 'reloaded' : 'unchanged';
  }

  /**
   * Follow changes made by others: watch the file's directory. Where watching is refused
   * (no inotify watches left, a filesystem without change events) it says so once in the
   * log; SIGHUP still reloads.
   */
  watch(): void {
    if (this.#watcher !== undefined) return;
    const name = basename(this.path);
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        // Some platforms give no name: then any event in the directory may be ours.
        if (filename === null || filename === name) this.#scheduleReload();
      });
    } catch (err) {
      this.#log.warn('users_file_watch_failed', { path: this.path, reason: (err as NodeJS.ErrnoException).code ?? 'error', fallback: 'SIGHUP reloads' });
      return;
    }
    this.#watcher.on('error', (err: NodeJS.ErrnoException) => {
      this.#log.warn('users_file_watch_failed', { path: this.path, reason: err.code ?? 'error', fallback: 'SIGHUP reloads' });
      this.#stopWatching();
    });
  }

  /** Stop watching (pending re-reads are dropped). Updates still work. */
  close(): void {
    this.#stopWatching();
  }

  #stopWatching(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #scheduleReload(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.reload('watch');
    }, this.#debounceMs);
    this.#timer.unref();
  }

  #refuse(key: string, logIt: () => void): void {
    if (this.#refused === key) return;
    this.#refused = key;
    logIt();
  }

  /**
   * Take `db` (read or written as `text`) as current, synchronously; tell listeners when it
   * differs. Resolves when the promises listeners returned have settled; never rejects (a
   * listener's failure is logged).
   */
  #adopt(text: string, db: UsersDb, trigger: string, origin: UsersChangeOrigin): Promise<void> {
    this.#text = text;
    const before = this.#db;
    if (sameUsers(before, db)) return Promise.resolve();
    this.#db = db;
    const failed = (err: unknown): void => {
      this.#log.error('users_listener_failed', { trigger, error: err instanceof Error ? `${err.name}: ${err.message}` : 'unknown' });
    };
    const pending: Promise<void>[] = [];
    for (const listener of this.#listeners) {
      try {
        const result = listener(before, db, origin);
        if (result instanceof Promise) pending.push(result.catch(failed));
      } catch (err) {
        failed(err);
      }
    }
    return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => undefined);
  }
}
