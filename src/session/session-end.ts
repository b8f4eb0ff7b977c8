/**
 * Who hears that sessions ended: holders of long-lived resources bound to a session (the
 * proxy's WebSocket tunnels) must drop them at once on logout, revocation or a password
 * change, not at their next request. Expiry and LRU eviction are not announced (nothing
 * is timed per session); holders re-check those themselves.
 */

/**
 * Which sessions ended: one (by its non-secret ref), every one of a user, or all. A `user` or
 * `all` end can be wider than what ended: when a bounded revocation table is full, a range
 * of one user's credentials, or everyone's before some moment, is refused at once, and the
 * holder cannot tell which of its sessions are in it. Dropping one too many only makes its
 * user reconnect.
 */
export type SessionEnd =
  | { scope: 'session'; user: string; ref: string }
  | { scope: 'user'; user: string }
  | { scope: 'all' };

export type SessionEndListener = (ended: SessionEnd) => void;

export class SessionEndListeners {
  readonly #listeners = new Set<SessionEndListener>();

  /** Adds a listener; the returned function removes it. */
  add(listener: SessionEndListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener; one that throws cannot keep the others from hearing it. */
  emit(ended: SessionEnd): void {
    for (const listener of this.#listeners) {
      try {
        listener(ended);
      } catch {
        // A listener's failure is its own; the revocation itself has already happened.
      }
    }
  }
}
