/**
 * The users file: `{ "version": 1, "users": [ { "name", "role", "hash",
 * "mustChangePassword" } ] }`. It is a small database with several writers (the CLI, the
 * running server): every change goes through {@link updateUsersFile}, which takes the
 * file's advisory lock, re-reads the file, applies one change and writes atomically, so
 * no writer ever drops a change it did not make (see util/file-lock.ts).
 *
 * Errors are ConfigError with the file path as the field and the JSON location in the
 * message (`/etc/ringlet/users.json: users[1].role: must be one of admin, viewer`).
 * They never quote a hash or any other file content beyond a field name.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { acquireFileLock, type FileLockOptions } from '../util/file-lock.js';
import { SECRET_FILE_MODE, writeSecretFileAtomic } from '../util/secret-file.js';
import { jsonSyntaxErrorOffset, lineColumn } from './json-position.js';
import { hashPasswordSync } from './phc-scrypt.js';
import { generatePassword } from './password-policy.js';
import type { ScryptCost } from './scrypt-cost.js';
import { validateScryptCost } from './scrypt-cost.js';
import type { Role, UserRecord } from './users-db.js';
import { isRole, isValidUserName, MAX_USER_NAME_CHARS, ROLES, UsersDb } from './users-db.js';

/** Largest users file read (1000 users at ~200 bytes each fit easily). */
export const MAX_USERS_FILE_BYTES = 1024 * 1024;
/** Mode of the users file and its temporary file: hashes are readable by the owner only. */
export const USERS_FILE_MODE = SECRET_FILE_MODE;
/** The first-start account's name. */
export const FIRST_START_USER = 'admin';

const USER_FIELDS: ReadonlySet<string> = new Set(['name', 'role', 'hash', 'mustChangePassword']);
const TOP_FIELDS: ReadonlySet<string> = new Set(['version', 'users']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Field names come from the file: quote them, shortened, as JSON (no control characters).
function quoteField(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
}

/**
 * Parse the text of a users file. `source` (the path) becomes the ConfigError field.
 * Checks: valid JSON (error with line and column), `version` 1, `users` an array of
 * objects with exactly the four fields, valid names, roles and `$scrypt$` hashes, no
 * duplicate names (case-insensitive).
 */
export function parseUsersFile(text: string, source: string): UsersDb {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const offset = jsonSyntaxErrorOffset(text) ?? 0;
    const { line, column } = lineColumn(text, offset);
    throw new ConfigError(source, `invalid JSON at line ${line} column ${column} (position ${offset})`);
  }
  if (!isPlainObject(doc)) throw new ConfigError(source, 'must be a JSON object { "version": 1, "users": [...] }');
  for (const key of Object.keys(doc)) {
    if (!TOP_FIELDS.has(key)) throw new ConfigError(source, `unknown field ${quoteField(key)}`);
  }
  if (!('version' in doc)) throw new ConfigError(source, 'version: missing (expected 1)');
  if (doc.version !== 1) throw new ConfigError(source, 'version: unsupported (expected 1)');
  if (!('users' in doc)) throw new ConfigError(source, 'users: missing (expected an array)');
  const users = doc.users;
  if (!Array.isArray(users)) throw new ConfigError(source, 'users: must be an array');
  const records: UserRecord[] = [];
  users.forEach((entry: unknown, i: number) => {
    const at = `users[${i}]`;
    if (!isPlainObject(entry)) throw new ConfigError(source, `${at}: must be an object`);
    for (const key of Object.keys(entry)) {
      if (!USER_FIELDS.has(key)) throw new ConfigError(source, `${at}: unknown field ${quoteField(key)}`);
    }
    for (const key of USER_FIELDS) {
      if (!(key in entry)) throw new ConfigError(source, `${at}.${key}: missing`);
    }
    records.push(entry as unknown as UserRecord);
  });
  try {
    return new UsersDb(records);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(source, err.message);
    throw err;
  }
}

/**
 * The file's text, or undefined when it does not exist. Bounded by MAX_USERS_FILE_BYTES.
 * Throws ConfigError naming the path when it cannot be read or is too large.
 */
export function readUsersFileText(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(path, `cannot read (${code ?? 'error'})`);
  }
  try {
    const { size } = fstatSync(fd);
    if (size > MAX_USERS_FILE_BYTES) throw new ConfigError(path, `larger than ${MAX_USERS_FILE_BYTES} bytes`);
    // One byte past the bound catches a file that grew after fstat.
    const buf = Buffer.alloc(size + 1);
    let filled = 0;
    while (filled < buf.length) {
      const bytesRead = readSync(fd, buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > MAX_USERS_FILE_BYTES) throw new ConfigError(path, `larger than ${MAX_USERS_FILE_BYTES} bytes`);
    return buf.toString('utf8', 0, filled);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Read and parse the users file (synchronously: it is read once, at start). Throws
 * ConfigError naming the path: not found, unreadable, larger than
 * {@link MAX_USERS_FILE_BYTES}, or any problem {@link parseUsersFile} finds.
 */
export function loadUsersFile(path: string): UsersDb {
  const text = readUsersFileText(path);
  if (text === undefined) throw new ConfigError(path, 'file not found');
  return parseUsersFile(text, path);
}

/** The file's text for a table: what {@link saveUsersFile} writes. */
export function formatUsersFile(db: UsersDb): string {
  return `${JSON.stringify(db.toJSON(), null, 2)}\n`;
}

/**
 * Writes the users file atomically with mode 0600 (see util/secret-file.ts), without the
 * lock: for a file nobody else can be writing yet (tests, benches, a new install). Every
 * writer of a live file uses {@link updateUsersFile}. Throws ConfigError naming the path.
 */
export function saveUsersFile(path: string, db: UsersDb): void {
  writeSecretFileAtomic(path, formatUsersFile(db));
}

/** One change to the table: gets the table as the file holds it now (`found`: the file exists). */
export type UsersFileChange = (db: UsersDb, found: boolean) => UsersDb;

export interface UpdateUsersFileOptions {
  /** A missing file is an empty table (the change may create it); default: ConfigError. */
  create?: boolean;
  lock?: FileLockOptions;
  /** Hears about a stale lock that was removed (a writer that crashed). */
  onStaleLock?: (reason: string, pid: number | undefined) => void;
  /** Told the text written, at once (the lock still held): a watcher can tell its own write from others'. */
  onWritten?: (text: string) => void;
}

export interface UsersFileUpdate {
  /** The table as the file held it when the change was applied (others' changes included). */
  before: UsersDb;
  /** The table as the file holds it after the change. */
  db: UsersDb;
  /** The file's text after the change (unchanged text when nothing was written). */
  text: string;
  /** False when the change returned the table it was given: nothing was written. */
  written: boolean;
}

/**
 * The one way to change a users file that others may be changing too: take the advisory
 * lock (bounded wait), re-read the file, apply `change` to what it holds now, write the
 * result atomically (mode 0600), release. A change that returns the table it was given
 * writes nothing. A damaged file is never overwritten: the ConfigError naming the problem
 * is thrown and the file stays as it is for a person to fix.
 *
 * `change` runs under the lock, so it must be quick and synchronous: hash passwords
 * before calling this. It may throw (e.g. "no such user") to change nothing.
 *
 * @example
 * const hash = await hashPassword(password, cost);           // slow part, outside the lock
 * await updateUsersFile(path, (db) => setUserPassword(db, 'monitor', hash), { create: true });
 */
export async function updateUsersFile(path: string, change: UsersFileChange, options: UpdateUsersFileOptions = {}): Promise<UsersFileUpdate> {
  const lock = await acquireFileLock(path, options.lock, options.onStaleLock);
  try {
    const text = readUsersFileText(path);
    if (text === undefined && options.create !== true) throw new ConfigError(path, 'file not found');
    const before = text === undefined ? new UsersDb() : parseUsersFile(text, path);
    const after = change(before, text !== undefined);
    if (after === before) return { before, db: before, text: text ?? '', written: false };
    const written = formatUsersFile(after);
    writeSecretFileAtomic(path, written);
    options.onWritten?.(written);
    return { before, db: after, text: written, written: true };
  } finally {
    await lock.release();
  }
}

/** Options for {@link setUserPassword} and {@link setPassword}. */
export interface SetPasswordOptions {
  /** Role to set; a new user without one becomes 'viewer' (least privilege). */
  role?: Role;
  /** Must the user change this password at next login? Default false. */
  mustChangePassword?: boolean;
}

function checkNameAndRole(name: string, options: SetPasswordOptions): void {
  if (!isValidUserName(name)) throw new ConfigError('name', `must be 1 to ${MAX_USER_NAME_CHARS} characters of A-Z a-z 0-9 . _ @ -`);
  if (options.role !== undefined && !isRole(options.role)) throw new ConfigError('role', `must be one of ${ROLES.join(', ')}`);
}

/**
 * A new table where `name` has the already computed `hash` (a `$scrypt$` PHC string),
 * creating the user when missing. An existing user keeps their role unless `role` is
 * given; `mustChangePassword` defaults to false (a change clears the flag). This is
 * `ringlet passwd`'s change (add or update); the server uses `setUserHash`, which never
 * creates a user. Throws ConfigError for an invalid name, role or hash.
 *
 * @example
 * const hash = await hashPassword(password, cost);
 * await updateUsersFile(path, (db) => setUserPassword(db, 'monitor', hash), { create: true });
 */
export function setUserPassword(db: UsersDb, name: string, hash: string, options: SetPasswordOptions = {}): UsersDb {
  checkNameAndRole(name, options);
  const existing = db.get(name);
  try {
    return db.upsert({
      name,
      role: options.role ?? existing?.role ?? 'viewer',
      hash,
      mustChangePassword: options.mustChangePassword ?? false,
    });
  } catch (err) {
    // Field names from UsersDb's constructor point into a list the caller never saw.
    if (err instanceof ConfigError) throw new ConfigError(err.field.replace(/^users\[\d+\]\./, ''), err.message.slice(err.field.length + 2));
    throw err;
  }
}

/**
 * {@link setUserPassword} after hashing `password` with `cost` synchronously (blocks the
 * event loop for one hash): for the CLI (`ringlet passwd`) and start-up. Policy is the
 * caller's: run `checkNewPassword` first for a password a person chose.
 */
export function setPassword(
  db: UsersDb,
  name: string,
  password: string,
  cost: ScryptCost,
  options: SetPasswordOptions = {},
): UsersDb {
  checkNameAndRole(name, options);
  validateScryptCost(cost);
  return setUserPassword(db, name, hashPasswordSync(password, cost), options);
}

/**
 * The users for a first start: `admin` (role admin) with a generated password
 * (80 bits, see `generatePassword`) that must be changed at first login. The password is
 * returned to be shown once; it is never stored in clear. Hashes synchronously.
 */
export function createFirstStartUsers(cost: ScryptCost): { db: UsersDb; password: string } {
  const password = generatePassword();
  const db = setPassword(new UsersDb(), FIRST_START_USER, password, cost, { role: 'admin', mustChangePassword: true });
  return { db, password };
}
