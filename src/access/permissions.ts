/**
 * Permissions: the unit of access for routes and for bearer-token scopes. A role grants a
 * set of them; a token may carry a subset of its role's set (never more); a route declares
 * the one it needs (server/route-policy.ts). Nothing else decides what a caller may do.
 */
import type { Role } from './roles.js';

/** Every permission ringlet knows, with what it allows and whether a token may carry it. */
export const PERMISSION_TABLE = {
  'sessions:own': { token: true, doc: 'list and end one\'s own sessions' },
  'sessions:read': { token: true, doc: 'list every user\'s sessions' },
  'sessions:write': { token: true, doc: 'end any user\'s sessions and revoke bearer tokens' },
  'users:read': { token: true, doc: 'list users' },
  'users:write': { token: true, doc: 'add, re-role, reset and remove users' },
  'metrics:read': { token: true, doc: 'read /metrics' },
  'ui:read': { token: true, doc: 'GET/HEAD to the upstream UI, and /auth by default' },
  'ui:write': { token: true, doc: 'other methods to the upstream UI, and WebSocket tunnels' },
  // Cookie sessions only: a token that could change the password or mint tokens could
  // widen itself (a new password gives a full session; a new token outlives the old one).
  'password:change': { token: false, doc: 'change one\'s own password (cookie sessions only)' },
  'tokens:mint': { token: false, doc: 'mint bearer tokens from a session (cookie sessions only)' },
} as const;

export type Permission = keyof typeof PERMISSION_TABLE;

export const PERMISSIONS: readonly Permission[] = Object.keys(PERMISSION_TABLE) as Permission[];

/** True for a known permission name. Never throws. */
export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSION_TABLE, value);
}

/** True when a bearer token may carry `permission`. */
export function tokenMayCarry(permission: Permission): boolean {
  return PERMISSION_TABLE[permission].token;
}

/** What each role holds unless configured otherwise. */
export const DEFAULT_ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  viewer: ['sessions:own', 'metrics:read', 'ui:read', 'password:change', 'tokens:mint'],
};
