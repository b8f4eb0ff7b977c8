/**
 * The changes a writer applies to the users table, one per call, as pure functions from the
 * table the file holds *now* to the next one (see `updateUsersFile`). Each checks its
 * precondition against that table, not against a copy read earlier: a user removed by the
 * CLI a moment ago is not brought back by a password change in flight on the server.
 *
 * Refusals are ConfigError with field `name` or `role` and a message to show as it is.
 */
import { ConfigError } from '../errors.js';
import type { Role, UserRecord } from './users-db.js';
import { isRole, isValidUserName, MAX_USER_NAME_CHARS, ROLES, type UsersDb } from './users-db.js';

function checkName(name: string): void {
  if (!isValidUserName(name)) throw new ConfigError('name', `must be 1 to ${MAX_USER_NAME_CHARS} characters of A-Z a-z 0-9 . _ @ -`);
}

function existing(db: UsersDb, name: string): UserRecord {
  checkName(name);
  const record = db.get(name);
  if (record === undefined) {
    const other = db.canonicalName(name);
    throw new ConfigError('name', other === undefined ? `no user "${name}"` : `no user "${name}" (did you mean "${other}"?)`);
  }
  return record;
}

function adminsBesides(db: UsersDb, name: string): number {
  let n = 0;
  for (const r of db.records()) if (r.role === 'admin' && r.name !== name) n++;
  return n;
}

function upsert(db: UsersDb, record: UserRecord): UsersDb {
  try {
    return db.upsert(record);
  } catch (err) {
    // Field names from UsersDb's constructor point into a list the caller never saw.
    if (err instanceof ConfigError) throw new ConfigError(err.field.replace(/^users\[\d+\]\./, ''), err.message.slice(err.field.length + 2));
    throw err;
  }
}

/** Adds a user; refuses a name that exists (in any letter case). */
export function addUser(db: UsersDb, record: UserRecord): UsersDb {
  checkName(record.name);
  const other = db.canonicalName(record.name);
  if (other !== undefined) throw new ConfigError('name', `user "${other}" already exists`);
  if (!isRole(record.role)) throw new ConfigError('role', `must be one of ${ROLES.join(', ')}`);
  return upsert(db, record);
}

/**
 * Removes a user. Refuses an unknown name, and the last admin: a table without an admin
 * leaves nobody to manage sessions from the web (add another admin first).
 */
export function removeUser(db: UsersDb, name: string): UsersDb {
  const record = existing(db, name);
  if (record.role === 'admin' && adminsBesides(db, name) === 0) {
    throw new ConfigError('name', `"${name}" is the last admin; add another admin first`);
  }
  return db.remove(name);
}

/** Gives a user another role (the same table when it is already theirs); never demotes the last admin. */
export function setUserRole(db: UsersDb, name: string, role: Role): UsersDb {
  if (!isRole(role)) throw new ConfigError('role', `must be one of ${ROLES.join(', ')}`);
  const record = existing(db, name);
  if (record.role === role) return db;
  if (record.role === 'admin' && adminsBesides(db, name) === 0) {
    throw new ConfigError('name', `"${name}" is the last admin; add another admin first`);
  }
  return upsert(db, { ...record, role });
}

/**
 * A new password hash for an existing user (role kept). `mustChangePassword` defaults to
 * false: a password the user chose clears the flag. Refuses an unknown user rather than
 * creating one: the user may have been removed since the request began. With
 * `expectedHash` (the hash a password change verified the current password against),
 * refuses (field `hash`) when the user's hash is another one now: someone else set the
 * password meanwhile (an admin's reset), and that change wins.
 */
export function setUserHash(db: UsersDb, name: string, hash: string, options: { mustChangePassword?: boolean; expectedHash?: string } = {}): UsersDb {
  const record = existing(db, name);
  if (options.expectedHash !== undefined && record.hash !== options.expectedHash) {
    throw new ConfigError('hash', `the password of "${name}" was changed meanwhile`);
  }
  return upsert(db, { ...record, hash, mustChangePassword: options.mustChangePassword ?? false });
}

/**
 * After a login verified `verifiedHash`: store `newHash` (the same password at the current
 * cost) only if the user still has exactly `verifiedHash`. Otherwise, the same table: the
 * password was changed, or the user removed, since the login began, and that change wins.
 */
export function upgradeUserHash(db: UsersDb, name: string, verifiedHash: string, newHash: string): UsersDb {
  const record = db.get(name);
  if (record === undefined || record.hash !== verifiedHash) return db;
  return upsert(db, { ...record, hash: newHash });
}
