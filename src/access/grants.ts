/**
 * What a caller holds: the permissions its role grants, narrowed by a token's scope. Shared
 * by the HTTP gate and the library's guards so the two can never disagree. Fails closed:
 * an unknown role, a token without a scope, or a permission no token may carry all answer no.
 */
import { isPermission, tokenMayCarry, type Permission } from './permissions.js';
import { isRole, type Role } from './roles.js';

/** The parts of a session that decide its permissions. */
export interface GrantSubject {
  role: Role;
  via: 'cookie' | 'bearer';
  /** A bearer token's scope; undefined for cookie sessions (everything the role grants). */
  scope: readonly string[] | undefined;
}

export class Grants {
  readonly #byRole: ReadonlyMap<Role, ReadonlySet<Permission>>;

  constructor(rolePermissions: Readonly<Record<Role, readonly Permission[]>>) {
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
