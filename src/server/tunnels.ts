/**
 * WebSocket tunnels, tracked per session so that none outlives its session.
 *
 * A tunnel is a long-lived pipe that no later request re-authorises, so the registry does:
 * - logout, revocation, revoke-user and a password change are announced by the session
 *   manager (`onEnd`) and close the session's tunnels at once;
 * - expiry, LRU eviction, and a user deleted, re-roled or forced to change their password
 *   are announced by nobody (nothing is timed per session), so one periodic sweep (one timer
 *   for the whole registry, running only while a tunnel is open) re-resolves each tunnel's
 *   credential without touching it and closes the tunnels whose session is gone.
 *
 * Bounds: `maxTunnels` in total (a new one beyond it is refused, never someone else's
 * closed) and `maxTunnelsPerSession` (the session's own oldest tunnel is closed to make
 * room, like the per-user session cap: a reconnecting page must not lock itself out).
 */
import type { Duplex } from 'node:stream';
import type { SessionEnd } from '../session/session-end.js';
import type { Session } from '../session/types.js';
import type { Credential } from './credentials.js';

export type TunnelEndReason = 'session_ended' | 'session_invalid' | 'session_cap' | 'closed' | 'shutdown';

export interface Tunnel {
  readonly user: string;
  readonly ref: string;
  readonly credential: Credential;
  /** The client's socket, and the upstream's once the handshake succeeded. */
  readonly client: Duplex;
  upstream: Duplex | undefined;
  /** Called once when the tunnel is closed for a reason of ringlet's (before the sockets go). */
  onClose: ((reason: TunnelEndReason) => void) | undefined;
  closed: boolean;
}

export interface TunnelLimits {
  maxTunnels: number;
  maxTunnelsPerSession: number;
  sweepIntervalMs: number;
}

/** Whether a tunnel's session still stands: same credential, same session, user unchanged. */
export type TunnelCheck = (tunnel: Tunnel) => boolean;

export class TunnelRegistry {
  readonly #limits: TunnelLimits;
  readonly #stillValid: TunnelCheck;
  /** Session key → its tunnels, oldest first. Map order is admission order. */
  readonly #bySession = new Map<string, Tunnel[]>();
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly ended: Record<TunnelEndReason, number> = { session_ended: 0, session_invalid: 0, session_cap: 0, closed: 0, shutdown: 0 };
  refused = 0;

  constructor(limits: TunnelLimits, stillValid: TunnelCheck) {
    this.#limits = limits;
    this.#stillValid = stillValid;
  }

  get size(): number {
    return this.#count;
  }

  /**
   * Registers a tunnel for `session` before its handshake starts (so a logout during the
   * handshake closes it too). Undefined when the total is reached.
   */
  admit(session: Session, credential: Credential, client: Duplex): Tunnel | undefined {
    if (this.#count >= this.#limits.maxTunnels) {
      this.refused++;
      return undefined;
    }
    const key = sessionKey(session.user, session.ref);
    const own = this.#bySession.get(key) ?? [];
    while (own.length >= this.#limits.maxTunnelsPerSession) this.close(own[0] as Tunnel, 'session_cap');
    const tunnel: Tunnel = { user: session.user, ref: session.ref, credential, client, upstream: undefined, onClose: undefined, closed: false };
    own.push(tunnel);
    this.#bySession.set(key, own);
    this.#count++;
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(), this.#limits.sweepIntervalMs);
      this.#timer.unref();
    }
    return tunnel;
  }

  /** Closes both sockets and forgets the tunnel. Idempotent. */
  close(tunnel: Tunnel, reason: TunnelEndReason): void {
    if (tunnel.closed) return;
    tunnel.closed = true;
    this.ended[reason]++;
    const key = sessionKey(tunnel.user, tunnel.ref);
    const own = this.#bySession.get(key);
    if (own !== undefined) {
      const i = own.indexOf(tunnel);
      if (i !== -1) {
        own.splice(i, 1);
        this.#count--;
      }
      if (own.length === 0) this.#bySession.delete(key);
    }
    if (this.#count === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    try {
      tunnel.onClose?.(reason);
    } finally {
      tunnel.upstream?.destroy();
      tunnel.client.destroy();
    }
  }

  /** What the session manager announced: close the tunnels of the sessions that ended. */
  sessionsEnded(ended: SessionEnd): void {
    if (ended.scope === 'session') {
      for (const tunnel of [...(this.#bySession.get(sessionKey(ended.user, ended.ref)) ?? [])]) this.close(tunnel, 'session_ended');
      return;
    }
    for (const tunnel of this.#all()) {
      if (ended.scope === 'all' || tunnel.user === ended.user) this.close(tunnel, 'session_ended');
    }
  }

  /** Re-checks every tunnel (expiry, eviction, user changes); called by the timer, and by tests. */
  sweep(): void {
    for (const tunnel of this.#all()) {
      let valid = false;
      try {
        valid = this.#stillValid(tunnel);
      } catch {
        valid = false; // fail closed
      }
      if (!valid) this.close(tunnel, 'session_invalid');
    }
  }

  closeAll(reason: TunnelEndReason = 'shutdown'): void {
    for (const tunnel of this.#all()) this.close(tunnel, reason);
  }

  #all(): Tunnel[] {
    const out: Tunnel[] = [];
    for (const own of this.#bySession.values()) out.push(...own);
    return out;
  }
}

function sessionKey(user: string, ref: string): string {
  return `${user}\u0000${ref}`;
}
