/**
 * Roles a user can hold, and their order. The lowest layer of the access model: the users
 * file, the session managers, the HTTP gate and the library guards all read roles from here.
 */

/** Every role (messages list them in this order). */
export const ROLES = ['admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** A higher rank includes every lower one (`admin` may do what `viewer` may). */
const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 1, admin: 2 };

/** True for a known role name. Never throws, whatever the input. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `has` is at least `wanted`; false for anything that is not a known role (fails closed). */
export function roleAtLeast(has: unknown, wanted: unknown): boolean {
  if (!isRole(has) || !isRole(wanted)) return false;
  return ROLE_RANK[has] >= ROLE_RANK[wanted];
}
