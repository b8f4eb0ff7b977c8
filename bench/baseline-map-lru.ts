/**
 * The baseline the store is measured against: the classic JavaScript LRU session map.
 * A Map keeps insertion order, so "touch" is delete + re-insert and the least recently
 * used entry is the first key. Ids are minted like the store's (pooled CSPRNG, 24 bytes,
 * base64url), entries are plain objects, idle/absolute expiry is checked on read.
 * No per-user cap, no byte bound on data: it is the simple thing people write.
 */
import { fillRandom } from '../src/util/random-pool.js';
import type { MonotonicClock } from '../src/util/clock.js';

interface Entry {
  user: string;
  role: string;
  data: string | undefined;
  csrfToken: string;
  createdMs: number;
  lastSeenMs: number;
}

export interface BaselineCreated {
  id: string;
  evictedUser: string | undefined;
}

export class MapLru {
  private readonly map = new Map<string, Entry>();
  private readonly scratch = Buffer.alloc(24);
  private readonly capacity: number;
  private readonly idleTimeoutMs: number;
  private readonly absoluteTimeoutMs: number;
  private readonly clock: MonotonicClock;

  constructor(capacity: number, idleTimeoutMs: number, absoluteTimeoutMs: number, clock: MonotonicClock) {
    this.capacity = capacity;
    this.idleTimeoutMs = idleTimeoutMs;
    this.absoluteTimeoutMs = absoluteTimeoutMs;
    this.clock = clock;
  }

  get size(): number {
    return this.map.size;
  }

  create(user: string, role: string, data?: unknown): BaselineCreated {
    const now = this.clock.now();
    let evictedUser: string | undefined;
    if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next().value as string;
      evictedUser = this.map.get(oldest)!.user;
      this.map.delete(oldest);
    }
    fillRandom(this.scratch);
    const id = this.scratch.toString('base64url');
    fillRandom(this.scratch, 0, 16);
    const csrfToken = this.scratch.toString('base64url', 0, 16);
    this.map.set(id, {
      user, role, data: data === undefined ? undefined : JSON.stringify(data), csrfToken, createdMs: now, lastSeenMs: now,
    });
    return { id, evictedUser };
  }

  get(id: string, touch = true): Entry | undefined {
    const entry = this.map.get(id);
    if (entry === undefined) return undefined;
    const now = this.clock.now();
    if (now >= entry.lastSeenMs + this.idleTimeoutMs || now >= entry.createdMs + this.absoluteTimeoutMs) {
      this.map.delete(id);
      return undefined;
    }
    if (touch) {
      entry.lastSeenMs = now;
      this.map.delete(id);
      this.map.set(id, entry);
    }
    return entry;
  }

  touch(id: string): boolean {
    return this.get(id, true) !== undefined;
  }

  destroy(id: string): boolean {
    return this.map.delete(id);
  }
}
