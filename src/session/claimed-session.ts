/**
 * A session resolved from a credential's own claims: a cookie-mode JWE or a bearer JWT.
 * One is made for every request such a credential makes, so it is a class — one fixed
 * shape, the `data` getter on the prototype — rather than an object literal with a getter
 * closure and side tables keyed by it (measured: the literal plus two WeakMap entries per
 * request cost cookie mode ~20 % of its /auth throughput). The claims stay private:
 * `claimsOf` reads them back, and only for sessions made here (a copy of one has none).
 */
import type { Role } from '../access/roles.js';
import type { TokenClaims } from './claims.js';
import { copySessionData } from './session-data.js';
import type { CredentialKind, Session } from './types.js';

/** Not read yet (a session's data is copied out of its claims on first read only). */
const UNREAD: unique symbol = Symbol('unread');

export interface ClaimedSessionTimes {
  createdAtMs: number;
  idleExpiresAtMs: number;
  absoluteExpiresAtMs: number;
}

export class ClaimedSession implements Session {
  user: string;
  role: Role;
  ref: string;
  via: CredentialKind;
  csrfToken: string | undefined;
  scope: readonly string[] | undefined;
  createdAtMs: number;
  idleExpiresAtMs: number;
  absoluteExpiresAtMs: number;
  readonly #claims: TokenClaims;
  #data: unknown = UNREAD;

  constructor(claims: TokenClaims, via: 'cookie' | 'bearer', scope: readonly string[] | undefined, times: ClaimedSessionTimes) {
    this.user = claims.sub;
    this.role = claims.role;
    this.ref = claims.jti;
    this.via = via;
    this.csrfToken = via === 'cookie' ? claims.csrf : undefined;
    this.scope = scope;
    this.createdAtMs = times.createdAtMs;
    this.idleExpiresAtMs = times.idleExpiresAtMs;
    this.absoluteExpiresAtMs = times.absoluteExpiresAtMs;
    this.#claims = claims;
  }

  /** The service's data, copied out of the claims on first read (the claims are shared through the verified cache). Bearer tokens carry none. */
  get data(): unknown {
    if (this.via === 'bearer') return undefined;
    if (this.#data === UNREAD) this.#data = copySessionData(this.#claims.d);
    return this.#data;
  }

  /** The claims behind a session made here; undefined for any other object (a copy, another mode's session). */
  static claimsOf(session: Session): TokenClaims | undefined {
    return #claims in session ? (session as ClaimedSession).#claims : undefined;
  }
}
