/**
 * A user removed or given another role keeps no credential: every session and token of
 * theirs issued before the change is revoked (a durable not-before). Requests already
 * refuse a credential whose user is gone or whose role differs from the users file; the
 * revocation is what keeps those credentials dead when the user comes back — re-created
 * under the same name, or given the old role again — in this run or after a restart.
 *
 * A password set by another writer of the users file (`ringlet users passwd`, an editor) is
 * a reason too (`passwords`): that is how an admin answers a leaked password, and a user
 * removed and re-created before the server re-read the file shows only as a new hash. A
 * password changed by this server is not: `POST /password` decides itself whether the
 * user's other sessions end, and a hash upgraded at login keeps them.
 */
import type { UsersDb } from '../users/index.js';
import type { SessionManager } from './types.js';

export interface RevokeChangedUsersOptions {
  /** Revoke users whose password hash changed too (the change came from another writer). */
  passwords?: boolean;
}

/**
 * Revokes every user of `before` who is missing from `after` or has another role there (or,
 * with `passwords`, another password hash); returns their names.
 */
export function revokeChangedUsers(before: UsersDb, after: UsersDb, sessions: Pick<SessionManager, 'revokeUser'>, options: RevokeChangedUsersOptions = {}): string[] {
  const ended: string[] = [];
  for (const record of before.records()) {
    const now = after.get(record.name);
    if (now !== undefined && now.role === record.role && (options.passwords !== true || now.hash === record.hash)) continue;
    // Nothing is issued to them after the change: this millisecond's credentials predate it.
    sessions.revokeUser(record.name, { includeThisMillisecond: true });
    ended.push(record.name);
  }
  return ended;
}
