/** The one session interface routes see, whatever the mode (README, "Architecture": a route never knows the mode). */
import type { Role } from '../access/roles.js';
import type { SessionEndListener } from './session-end.js';

export type CredentialKind = 'cookie' | 'bearer';

/** A resolved, valid session. Times are wall-clock ms estimates for display (NaN if unknown). */
export interface Session {
  user: string;
  role: Role;
  /** Non-secret handle: the store ref (RAM), the session id claim (cookie) or the token's jti (bearer). */
  ref: string;
  via: CredentialKind;
  /** The session's CSRF token; undefined for bearer tokens (they need none). */
  csrfToken: string | undefined;
  /** Permissions a bearer token was narrowed to; undefined = everything the role grants. */
  scope: readonly string[] | undefined;
  createdAtMs: number;
  idleExpiresAtMs: number;
  absoluteExpiresAtMs: number;
  /**
   * An embedding service's own data (the library's `login(..., { data })`, `setData`): a
   * JSON value, a copy per session object (changing it stores nothing); undefined when none.
   * Bearer tokens carry none. The server itself never stores any.
   */
  readonly data: unknown;
}

export interface Resolution {
  session: Session;
  /** A new cookie value to send (cookie mode: refreshed after half the idle window, or re-sealed with the current key). */
  reissueCookie: string | undefined;
}

export interface IssuedSession {
  session: Session;
  cookieValue: string;
  /** Set when making room removed another session (RAM mode), for logs and metrics. */
  evicted: { user: string; reason: string } | undefined;
}

export interface SessionListing {
  ref: string;
  user: string;
  role: Role;
  createdAtMs: number;
  lastSeenAtMs: number;
  clientAddress: string | undefined;
}

export interface IssuedToken {
  token: string;
  jti: string;
  expiresInSeconds: number;
  scope: readonly string[];
}

export interface RevokeUserOptions {
  /**
   * Refuse credentials issued in this same millisecond too. Clocks count whole milliseconds,
   * so by default one issued in it is kept, whether before or after the revocation: a caller
   * that issues the user a fresh session right after (a password change) needs that. For a
   * change after which the user gets nothing (removed, or given another role), include it.
   */
  includeThisMillisecond?: boolean;
}

/** Session operations over either mode. */
export interface SessionManager {
  readonly mode: 'ram' | 'cookie';
  /**
   * A new session. `data` is the embedding service's own (see Session.data).
   * @throws RingletError `ERR_DATA_TOO_LARGE` when `data` does not fit (RAM: the slot's
   *   `slotBytes`; cookie: the 4096-byte cookie), `ERR_DATA_NOT_JSON` when it is not JSON; nothing is issued.
   */
  issue(user: string, role: Role, clientAddress: string | undefined, data?: unknown): IssuedSession;
  /**
   * Replaces a cookie session's data (undefined clears it). Returns the session as it is now
   * and, in cookie mode, the re-sealed cookie value to send; undefined when `session` is not
   * a live cookie session resolved by this manager (a bearer token, ended, or a copy).
   * @throws like issue; nothing changes.
   */
  setData(session: Session, data: unknown): Resolution | undefined;
  /** Tries each cookie value (the name may appear more than once); never throws on client input. */
  resolveCookie(values: readonly string[], touch: boolean): Resolution | undefined;
  /** A bearer credential: a JWT, or (RAM mode) a store id sent as `Authorization: Bearer`. */
  resolveBearer(token: string, touch: boolean): Session | undefined;
  revoke(session: Session): void;
  /**
   * Ends every session of `user` issued before now; the count in RAM mode, undefined where it
   * cannot be known (cookie mode).
   */
  revokeUser(user: string, options?: RevokeUserOptions): number | undefined;
  /** Revoke by non-secret ref (admin list); undefined when the ref is unknown. */
  revokeRef(ref: string): { user: string } | undefined;
  /** Live sessions, or undefined when the mode cannot list them (cookie mode). */
  list(user?: string): SessionListing[] | undefined;
  issueToken(user: string, role: Role, scope: readonly string[]): IssuedToken;
  /**
   * Revokes a bearer token known by `jti` (its owner `user` is whom the entry is charged to):
   * the expiry is unknown, so the revocation lasts as long as any credential can live.
   */
  revokeToken(jti: string, user: string): void;
  /** Revokes a bearer token given whole, until its own expiry; undefined when it is not one of ours. */
  revokeTokenValue(token: string): { jti: string; user: string } | undefined;
  /**
   * Resolves once every revocation so far is as durable as the deployment makes it (written
   * to the revocation file, or at once without one). Routes await it before answering.
   */
  revocationsSettled(): Promise<void>;
  /** Hears every logout and revocation once it took effect; returns the remover. */
  onEnd(listener: SessionEndListener): () => void;
  stats(): SessionStats;
}

export interface SessionStats {
  mode: 'ram' | 'cookie';
  active: number | undefined;
  capacity: number | undefined;
  storeBytes: number;
  created: number;
  evicted: number;
  expiredIdle: number;
  expiredAbsolute: number;
  destroyed: number;
  revocationEntries: number;
  /** Lookups in the verified-credential caches (cookie-mode cookies and bearer tokens together). */
  verifiedCacheHits: number;
  verifiedCacheMisses: number;
}
