/**
 * The users known to the server: an immutable, Map-backed table of name -> record.
 * Changes return a new table, so a request holding the old one never sees half an update
 * and the holder can swap it in after the file write succeeds.
 */
import { ConfigError } from '../errors.js';
import { parseScryptHash } from './phc-scrypt.js';

import { isRole, ROLES, type Role } from '../access/roles.js';

export { isRole, ROLES, type Role };

/** Longest user name, in characters. */
export const MAX_USER_NAME_CHARS = 64;
/** Appliances have a handful of users; this bounds the file and every scan over it. */
export const MAX_USERS = 1000;

// 1..64 of [A-Za-z0-9._@-]: safe in a header (Remote-User), a log line and a file name.
const userNameRegExp = /^[A-Za-z0-9._@-]{1,64}$/;

/** One user as stored. `hash` is a `$scrypt$` PHC string. */
export interface UserRecord {
  readonly name: string;
  readonly role: Role;
  readonly hash: string;
  readonly mustChangePassword: boolean;
}

/** What the users file holds (version 1). */
export interface UsersFileJson {
  version: 1;
  users: UserRecord[];
}

/** True for a syntactically valid user name. */
export function isValidUserName(name: unknown): name is string {
  return typeof name === 'string' && userNameRegExp.test(name);
}

/** The first problem with a record as `[field, message]`, or undefined. */
export function userRecordProblem(record: UserRecord): [keyof UserRecord, string] | undefined {
  if (!isValidUserName(record.name)) return ['name', `must be 1 to ${MAX_USER_NAME_CHARS} characters of A-Z a-z 0-9 . _ @ -`];
  if (!isRole(record.role)) return ['role', `must be one of ${ROLES.join(', ')}`];
  if (typeof record.hash !== 'string') return ['hash', 'must be a $scrypt$ PHC string'];
  try {
    parseScryptHash(record.hash);
  } catch (err) {
    return ['hash', (err as Error).message];
  }
  if (typeof record.mustChangePassword !== 'boolean') return ['mustChangePassword', 'must be true or false'];
  return undefined;
}

/**
 * An immutable set of users. Lookups use `Map`, so names such as `__proto__` or
 * `constructor` are plain keys. Names are unique case-insensitively: `Admin` and `admin`
 * cannot both exist, so per-user throttling and `Remote-User` never tell them apart.
 *
 * @example
 * const db = new UsersDb().upsert({ name: 'admin', role: 'admin', hash, mustChangePassword: true });
 * db.get('admin')?.role // 'admin'
 */
export class UsersDb {
  readonly #byName: Map<string, UserRecord>;
  readonly #byFoldedName: Map<string, string>;

  /** Throws ConfigError (field `users[i].<field>`) for an invalid or duplicate record. */
  constructor(records: Iterable<UserRecord> = []) {
    this.#byName = new Map();
    this.#byFoldedName = new Map();
    let i = 0;
    for (const record of records) {
      const problem = userRecordProblem(record);
      if (problem !== undefined) throw new ConfigError(`users[${i}].${problem[0]}`, problem[1]);
      const folded = record.name.toLowerCase();
      if (this.#byFoldedName.has(folded)) {
        throw new ConfigError(`users[${i}].name`, 'duplicate user (names are compared case-insensitively)');
      }
      if (this.#byName.size >= MAX_USERS) throw new ConfigError('users', `at most ${MAX_USERS} users`);
      this.#byName.set(record.name, Object.freeze({
        name: record.name,
        role: record.role,
        hash: record.hash,
        mustChangePassword: record.mustChangePassword,
      }));
      this.#byFoldedName.set(folded, record.name);
      i++;
    }
  }

  /** The user with exactly this name (case-sensitive), or undefined. */
  get(name: string): UserRecord | undefined {
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The stored spelling of a name that matches case-insensitively, if any. */
  canonicalName(name: string): string | undefined {
    return this.#byFoldedName.get(name.toLowerCase());
  }

  get size(): number {
    return this.#byName.size;
  }

  /** User names in file order. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** All records in file order. */
  records(): UserRecord[] {
    return [...this.#byName.values()];
  }

  /**
   * A new table with `record` added or replacing the user of the same name (kept in
   * place). Throws ConfigError when the record is invalid or its name differs only in
   * case from another user's.
   */
  upsert(record: UserRecord): UsersDb {
    const existing = this.canonicalName(typeof record.name === 'string' ? record.name : '');
    if (existing !== undefined && existing !== record.name) {
      throw new ConfigError('name', 'differs only in case from an existing user');
    }
    const records = this.records();
    const at = records.findIndex((r) => r.name === record.name);
    if (at >= 0) records[at] = record;
    else records.push(record);
    return new UsersDb(records);
  }

  /** A new table without the named user (unchanged when absent). */
  remove(name: string): UsersDb {
    return new UsersDb(this.records().filter((r) => r.name !== name));
  }

  /** The users file's JSON (version 1). */
  toJSON(): UsersFileJson {
    return { version: 1, users: this.records().map((r) => ({ ...r })) };
  }
}

/** A table with no users (the start of `ringlet passwd` on a new file). */
export function emptyUsersDb(): UsersDb {
  return new UsersDb();
}
