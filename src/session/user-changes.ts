/**
 * A user removed or given another role keeps no credential: every session and token of
 * theirs issued before the change is revoked (a durable not-before). Requests already
 * refuse a credential whose user is gone or whose role differs from the users file; the
 * revocation is what keeps those credentials dead when the user comes back — re-created
 * under the same name, or given the old role again — in this run or after a restart.
 *
 * A password changed here is not a reason: `POST /password` decides itself whether the
 * user's other sessions end (the user may keep them).
 */
import type { UsersDb } from '../users/index.js';
import type { SessionManager } from './types.js';

/** Revokes every user of `before` who is missing from `after` or has another role there; returns their names. */
export function revokeChangedUsers(before: UsersDb, after: UsersDb, sessions: Pick<SessionManager, 'revokeUser'>): string[] {
  const ended: string[] = [];
  for (const record of before.records()) {
    const now = after.get(record.name);
    if (now !== undefined && now.role === record.role) continue;
    // Nothing is issued to them after the change: this millisecond's credentials predate it.
    sessions.revokeUser(record.name, { includeThisMillisecond: true });
    ended.push(record.name);
  }
  return ended;
}
