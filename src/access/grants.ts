/**
 * What a caller holds: the permissions its role grants, narrowed by a token's scope. Shared
 * by the HTTP gate and the library's guards so the two can never disagree. Fails closed:
 * an unknown role, a token without a scope, or a permission no token may carry all answer no.
 */
import { ConfigError } from '../errors.js';
import { isPermission, tokenMayCarry, type Permission } from './permissions.js';
import { isRole, ROLES, type Role } from './roles.js';

/** A role → permissions table, as configured. */
export type RolePermissions = Readonly<Record<Role, readonly Permission[]>>;

/**
 * Checks a configured role → permissions table (the server's `permissions` option, the
 * library's): every role has a list, and every name in it is a known permission.
 * @throws ConfigError naming `field.role`.
 */
export function checkRolePermissions(value: unknown, field: string): RolePermissions {
  if (typeof value !== 'object' || value === null) throw new ConfigError(field, `must be an object with a list for each of ${ROLES.join(', ')}`);
  for (const role of ROLES) {
    const list = (value as Record<string, unknown>)[role];
    if (!Array.isArray(list) || !list.every((p) => isPermission(p))) throw new ConfigError(`${field}.${role}`, 'must be a list of known permission names');
  }
  return value as RolePermissions;
}

/** The parts of a session that decide its permissions. */
export interface GrantSubject {
  role: Role;
  via: 'cookie' | 'bearer';
  /** A bearer token's scope; undefined for cookie sessions (everything the role grants). */
  scope: readonly string[] | undefined;
}

export class Grants {
  readonly #byRole: ReadonlyMap<Role, ReadonlySet<Permission>>;

  constructor(rolePermissions: RolePermissions) {
    const byRole = new Map<Role, ReadonlySet<Permission>>();
    for (const [role, list] of Object.entries(rolePermissions)) {
      if (isRole(role)) byRole.set(role, new Set(list.filter(isPermission)));
    }
    this.#byRole = byRole;
  }

  /** True when `subject` may use `permission`. Never throws. */
  holds(subject: GrantSubject, permission: Permission): boolean {
    const granted = this.#byRole.get(subject.role);
    if (granted === undefined || !granted.has(permission)) return false;
    if (subject.via === 'cookie' && subject.scope === undefined) return true;
    return tokenMayCarry(permission) && subject.scope !== undefined && subject.scope.includes(permission);
  }

  /** Everything a token minted for `role` may carry: the role's permissions a token may hold. */
  tokenScope(role: Role): Permission[] {
    return [...(this.#byRole.get(role) ?? [])].filter(tokenMayCarry);
  }
}
