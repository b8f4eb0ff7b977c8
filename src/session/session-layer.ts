/**
 * The session layer's one composition root: `ringlet serve` (server/start.ts) and the
 * library (library/create-ringlet.ts) both build their sessions here, so the two wire the
 * same parts with the same limits. What is built, in this order:
 *
 * 1. the revocation tables (bounded; kept as long as any credential can live);
 * 2. bearer tokens over them;
 * 3. the session manager of the profile's mode: the RAM store (fixed slots) with
 *    RamSessions, or sealed cookies (CookieSessions, the Set-Cookie line capped at 4096 bytes).
 *
 * What is not built here, because only a deployment has it: the durable part of the
 * revocations (the server's revocation file attaches itself to `revocation`), snapshots of
 * the store, the users file, and anything shared between instances.
 */
import type { KeyRing } from '../codec/index.js';
import { createStore, type SessionStore } from '../store/index.js';
import { BearerTokens } from './bearer.js';
import { LEEWAY_MS } from './claims.js';
import { MAX_MACHINE_TOKEN_TTL_MS } from './machine-token.js';
import { CookieSessions } from './cookie-sessions.js';
import { RamSessions } from './ram-sessions.js';
import { RevocationTables } from './revocation.js';
import type { SessionClocks } from './time-policy.js';
import type { SessionManager } from './types.js';

/**
 * The device-profile fields the session layer is built from. A validated profile
 * (config/profile.ts) has them all and is passed as it is; they are listed here so that
 * this layer needs nothing above it.
 */
export interface SessionLayerLimits {
  mode: SessionManager['mode'];
  capacity: number;
  slotBytes: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  maxSessionsPerUser: number;
  revocationEntries: number;
  bearerTokenTtlMs: number;
  verifiedCacheEntries: number;
}

/** Facts of the deployment, not of the device: the same profile may run with either. */
export interface SessionLayerDeployment {
  /** Bytes of the session cookie's name: a sealed session's whole Set-Cookie line must fit in 4096. */
  cookieNameBytes: number;
  /** Accept only credentials this process minted (`--refuse-earlier-boots`). */
  sameBootOnly: boolean;
}

export interface SessionLayer {
  readonly sessions: SessionManager;
  /** RAM mode's store (for snapshots); undefined in cookie mode. */
  readonly store: SessionStore | undefined;
  /**
   * The revocation tables behind `sessions`: where a durable part (the server's revocation
   * file) or another instance's events attach.
   */
  readonly revocation: RevocationTables;
}

/**
 * The longest any credential the layer accepts can live: a not-before, or a revocation by
 * `jti` alone, must outlast every credential it may cover. Any new kind of credential with
 * a longer lifetime must be added here: machine tokens (`ringlet token mint`, up to
 * MAX_MACHINE_TOKEN_TTL_MS) verify wherever the keys do, whatever the profile says.
 */
export function longestCredentialMs(limits: Pick<SessionLayerLimits, 'absoluteTimeoutMs' | 'bearerTokenTtlMs'>): number {
  return Math.max(limits.absoluteTimeoutMs, limits.bearerTokenTtlMs, MAX_MACHINE_TOKEN_TTL_MS) + LEEWAY_MS;
}

/** Builds the session layer from a validated profile, the keys, the clocks and the deployment's facts. */
export function createSessionLayer(limits: SessionLayerLimits, keys: KeyRing, clocks: SessionClocks, deployment: SessionLayerDeployment): SessionLayer {
  const { cookieNameBytes, sameBootOnly } = deployment;
  const revocation = new RevocationTables(limits.revocationEntries, clocks, { longestCredentialMs: longestCredentialMs(limits) });
  const bearer = new BearerTokens(keys, clocks, revocation, limits.bearerTokenTtlMs, limits.verifiedCacheEntries, sameBootOnly);
  if (limits.mode === 'cookie') {
    const sessions = new CookieSessions({
      keys, clocks, revocation, bearer, cookieNameBytes, sameBootOnly,
      idleTimeoutMs: limits.idleTimeoutMs, absoluteTimeoutMs: limits.absoluteTimeoutMs, verifiedCacheEntries: limits.verifiedCacheEntries,
    });
    return { sessions, store: undefined, revocation };
  }
  const store = createStore({
    capacity: limits.capacity,
    slotBytes: limits.slotBytes,
    idleTimeoutMs: limits.idleTimeoutMs,
    absoluteTimeoutMs: limits.absoluteTimeoutMs,
    maxSessionsPerUser: limits.maxSessionsPerUser,
    clock: clocks.monotonic,
  });
  return { sessions: new RamSessions(store, clocks, revocation, bearer), store, revocation };
}
