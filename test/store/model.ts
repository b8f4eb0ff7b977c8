/**
 * A deliberately simple reference model of the store: a Map in LRU order (first = least
 * recently used; touch = delete + set), linear scans everywhere. Ids and refs are taken
 * from the real store (the model cannot mint them); everything observable is computed
 * here independently and compared.
 */
import { RingletError } from '../../src/errors.js';
import type { ResolvedStoreOptions } from '../../src/store/options.js';

/** The store's resolved options; the model keeps time by the `nowMs` it is given. */
export type ModelOptions = Omit<ResolvedStoreOptions, 'clock'>;

export interface ModelSession {
  id: string;
  ref: string;
  user: string;
  role: string;
  data: string | undefined;
  createdMs: number;
  lastSeenMs: number;
  seq: number;
}

export interface ModelStats {
  active: number;
  users: number;
  created: number;
  evictedLru: number;
  evictedUserCap: number;
  expiredIdle: number;
  expiredAbsolute: number;
  destroyed: number;
}

type Expiry = 'live' | 'idle' | 'absolute';

export class ModelStore {
  readonly sessions = new Map<string, ModelSession>();
  readonly roles = new Set<string>();
  stats: ModelStats = { active: 0, users: 0, created: 0, evictedLru: 0, evictedUserCap: 0, expiredIdle: 0, expiredAbsolute: 0, destroyed: 0 };
  private seq = 0;

  constructor(readonly o: ModelOptions) {}

  expiry(m: ModelSession, now: number): Expiry {
    const absolute = m.createdMs + this.o.absoluteTimeoutMs;
    const idle = m.lastSeenMs + this.o.idleTimeoutMs;
    if (now < absolute && now < idle) return 'live';
    return absolute <= idle ? 'absolute' : 'idle';
  }

  private remove(m: ModelSession): void {
    this.sessions.delete(m.id);
    this.refresh();
  }

  private refresh(): void {
    this.stats.active = this.sessions.size;
    this.stats.users = new Set([...this.sessions.values()].map((m) => m.user)).size;
  }

  private expire(m: ModelSession, reason: Expiry): void {
    if (reason === 'idle') this.stats.expiredIdle++;
    else this.stats.expiredAbsolute++;
    this.remove(m);
  }

  sweep(now: number): number {
    let n = 0;
    for (const m of [...this.sessions.values()]) {
      const reason = this.expiry(m, now);
      if (reason !== 'live') {
        this.expire(m, reason);
        n++;
      }
    }
    return n;
  }

  checkData(data: unknown): string | undefined {
    if (data === undefined) return undefined;
    const json = JSON.stringify(data);
    if (Buffer.byteLength(json) > this.o.slotBytes) throw new RingletError('ERR_DATA_TOO_LARGE', 'model');
    return json;
  }

  /**
   * Decide what create() must do before the store runs it: returns the victim (or
   * undefined) and whether it must throw. `commit` then records the store's id/ref.
   */
  planCreate(user: string, role: string, data: unknown, now: number):
    { json: string | undefined; reclaimed: number; victim: ModelSession | undefined; reason: 'lru' | 'user-cap' } {
    const json = this.checkData(data);
    const reclaimed = this.sweep(now);
    const mine = [...this.sessions.values()].filter((m) => m.user === user);
    let victim: ModelSession | undefined;
    let reason: 'lru' | 'user-cap' = 'lru';
    if (mine.length > 0 && mine.length >= this.o.maxSessionsPerUser) {
      victim = mine[0];
      reason = 'user-cap';
    } else if (this.sessions.size === this.o.capacity) {
      victim = this.sessions.values().next().value;
    }
    const users = new Set([...this.sessions.values()].map((m) => m.user));
    if (mine.length === 0 && users.size === this.o.maxUsers) {
      const victimAlone = victim !== undefined && [...this.sessions.values()].filter((m) => m.user === victim.user).length === 1;
      if (!victimAlone) throw new RingletError('ERR_STORE_FULL', 'model');
    }
    if (!this.roles.has(role) && this.roles.size === 255) throw new RingletError('ERR_STORE_FULL', 'model');
    return { json, reclaimed, victim, reason };
  }

  commitCreate(plan: ReturnType<ModelStore['planCreate']>, user: string, role: string, now: number, id: string, ref: string): void {
    this.roles.add(role);
    if (plan.victim) {
      if (plan.reason === 'lru') this.stats.evictedLru++;
      else this.stats.evictedUserCap++;
      this.remove(plan.victim);
    }
    if (this.sessions.has(id)) throw new Error('store minted a duplicate id');
    for (const m of this.sessions.values()) if (m.ref === ref) throw new Error('store reused a live ref');
    this.sessions.set(id, { id, ref, user, role, data: plan.json, createdMs: now, lastSeenMs: now, seq: this.seq++ });
    this.stats.created++;
    this.refresh();
  }

  private resolve(id: string, now: number): ModelSession | undefined {
    const m = this.sessions.get(id);
    if (m === undefined) return undefined;
    const reason = this.expiry(m, now);
    if (reason !== 'live') {
      this.expire(m, reason);
      return undefined;
    }
    return m;
  }

  private byRef(ref: string, now: number): ModelSession | undefined {
    for (const m of this.sessions.values()) if (m.ref === ref) return this.resolve(m.id, now);
    return undefined;
  }

  get(id: string, touch: boolean, now: number): ModelSession | undefined {
    const m = this.resolve(id, now);
    if (m && touch) {
      m.lastSeenMs = now;
      this.sessions.delete(id);
      this.sessions.set(id, m);
    }
    return m;
  }

  touch(id: string, now: number): boolean {
    return this.get(id, true, now) !== undefined;
  }

  update(id: string, data: unknown, now: number): boolean {
    const json = this.checkData(data);
    const m = this.resolve(id, now);
    if (!m) return false;
    m.data = json;
    return true;
  }

  destroy(id: string, now: number): boolean {
    const m = this.resolve(id, now);
    if (!m) return false;
    this.stats.destroyed++;
    this.remove(m);
    return true;
  }

  getByRef(ref: string, now: number): ModelSession | undefined {
    return this.byRef(ref, now);
  }

  destroyByRef(ref: string, now: number): boolean {
    const m = this.byRef(ref, now);
    return m ? this.destroy(m.id, now) : false;
  }

  destroyUser(user: string, now: number): number {
    let n = 0;
    for (const m of [...this.sessions.values()].filter((s) => s.user === user)) {
      const reason = this.expiry(m, now);
      if (reason === 'live') {
        this.stats.destroyed++;
        this.remove(m);
        n++;
      } else {
        this.expire(m, reason);
      }
    }
    return n;
  }

  /** Most recently used first, like the store. */
  list(user: string | undefined, now: number): ModelSession[] {
    this.sweep(now);
    return [...this.sessions.values()].reverse().filter((m) => user === undefined || m.user === user);
  }

  /** writeSnapshot() sweeps before it serialises. */
  beforeSnapshot(now: number): void {
    this.sweep(now);
  }

  /** Rebase every time as a snapshot written now and restored after `elapsedMs` would. */
  shiftTimes(deltaMs: number): void {
    for (const m of this.sessions.values()) {
      m.createdMs += deltaMs;
      m.lastSeenMs += deltaMs;
    }
  }
}
