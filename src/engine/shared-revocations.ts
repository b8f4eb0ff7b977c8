/**
 * Revocations shared between instances through the engine (Redis or Valkey).
 *
 * Out: every revocation made here (the tables' `onEvent`: a logout, a logout everywhere, a
 * password change, a revoked token, a user removed or given another role) joins a bounded
 * backlog and is written to the engine at once: a script adds it to the sorted set
 * `<p>revocations` with the time it may go as its score (when the credentials it refuses
 * would have expired anyway), drops the members whose time has come, keeps the set's own
 * expiry at its last member's, and publishes it on the channel `<p>revocations` — only when
 * it is new, so a re-delivery costs the other instances nothing. A write that fails stays in
 * the backlog and is tried again (the scripts are idempotent: a write that timed out may
 * have run). If the backlog fills while the engine is away, it is replaced by this
 * instance's whole durable revocation state (`durableEvents()`, bounded by
 * `revocationEntries` and already folded by the tables' fairness rules: a flood arrives as
 * spans, a full not-before table as an all-not-before, which fails closed), delivered when
 * the engine is back: nothing is lost.
 *
 * In: every published event is applied to the local bounded tables as a remote event (which
 * announces it: tunnels close at once). At start and after every reconnect, once the
 * pub/sub link is subscribed again, the whole set is read back (ZSCAN: every member present
 * for the whole scan is returned; one added meanwhile was published, one removed had
 * expired) and applied: what was published while this instance was away is not missed.
 * Events this boot wrote or applied already are recognised by their MAC and skipped (a
 * bounded FIFO of identities), so a reconnect re-applies and re-announces nothing twice.
 *
 * The request path never waits on any of this: it reads the local tables only.
 */
import type { RevocationPersistence, RevocationTables } from '../session/revocation.js';
import type { RevocationEvent } from '../session/revocation-events.js';
import { wallClockTrusted, type SessionClocks } from '../session/time-policy.js';
import { EngineScript } from './engine-script.js';
import type { RespClient } from './resp-client.js';
import { RingletError } from '../errors.js';
import { memberMac, openRevocationMember, sealRevocationMember, type SharedKeyNames } from './shared-wire.js';
import { RetryTimer } from './retry-timer.js';
import { scanAll } from './scan.js';
import { subscribeChannel, type SharedLog } from './shared-channel.js';

/** Writes on their way to the engine at once (the rest wait in the backlog). */
export const MAX_WRITES_IN_FLIGHT = 32;
/** How long a revoking route waits for the engine to take its event (then answers anyway). */
export const SHARED_SETTLE_WAIT_MS = 250;
/**
 * ZSCAN's COUNT hint when reading the set back: ~64-128 members of ~0.3 KiB a page, well
 * within what the client's parser may hold (SHARED_STATE_CLIENT_SETTINGS).
 */
export const RELOAD_PAGE_COUNT = 64;
/** Failed writes are tried again after this, doubling per failure up to the maximum. */
export const RETRY_BASE_DELAY_MS = 250;
export const RETRY_MAX_DELAY_MS = 30_000;
/** The shortest life given to an event in the engine. */
export const MIN_EVENT_TTL_MS = 1_000;

/** Events that may wait for delivery: the whole durable state fits (see the module comment). */
export function revocationBacklogCapacity(entries: number): number {
  return 2 * entries + 1;
}

/** Identities (MACs) of events remembered as already applied or written here. */
export function seenCapacity(entries: number): number {
  return 4 * entries + 64;
}

/** Bytes per backlog entry (event object and its sealed member string) and per remembered identity, generous. */
export const BACKLOG_ENTRY_BYTES = 640;
export const SEEN_ENTRY_BYTES = 96;

/** Memory the shared revocations can hold at most: backlog plus remembered identities. */
export function sharedRevocationsFootprintBytes(entries: number): number {
  return revocationBacklogCapacity(entries) * BACKLOG_ENTRY_BYTES + seenCapacity(entries) * SEEN_ENTRY_BYTES;
}

/**
 * KEYS[1] the set; ARGV[1] the member, ARGV[2] its life in ms, ARGV[3] the channel.
 * Returns 1 when the member was new (and published), 0 otherwise.
 */
const ADD_EVENT = new EngineScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local score = now + tonumber(ARGV[2])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old and tonumber(old) >= score then return 0 end
redis.call('ZADD', KEYS[1], score, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(last[2])) + 1000)
if old then return 0 end
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
`);

export interface SharedRevocationsOptions {
  client: RespClient;
  tables: RevocationTables;
  names: SharedKeyNames;
  prefix: string;
  /** MAC key derived from the JWKS: the same on every instance of the deployment. */
  macKey: Buffer;
  clocks: SessionClocks;
  /** The longest any credential lives (+ leeway): a not-before's life, and the default. */
  longestCredentialMs: number;
  /** The profile's revocationEntries: sizes the backlog and the remembered identities. */
  entries: number;
  log: SharedLog;
  /** Told of every event applied from another instance (RAM mode ends its store sessions there). */
  onRemote?: ((event: RevocationEvent) => void) | undefined;
}

export interface SharedRevocationsStats {
  /** Events waiting for the engine (queued and on their way). */
  backlog: number;
  backlogCapacity: number;
  /** Events the engine took. */
  delivered: number;
  /** Events from other instances applied here (published or read back). */
  received: number;
  /** Members refused: a MAC that does not verify, or not an event. */
  rejected: number;
  /** Times the backlog filled up (the whole durable state was re-delivered instead). */
  overflows: number;
  reloads: number;
}

interface Pending {
  event: RevocationEvent;
  member: string;
}

export class SharedRevocations implements RevocationPersistence {
  readonly #o: SharedRevocationsOptions;
  readonly #capacity: number;
  readonly #seenCapacity: number;
  #backlog: Pending[] = [];
  #inFlight = 0;
  /** Deliver the whole durable state (not the backlog) at the next chance. */
  #resync = true;
  readonly #seen = new Set<string>();
  #up = false;
  #closed = false;
  readonly #retry = new RetryTimer(RETRY_BASE_DELAY_MS, RETRY_MAX_DELAY_MS);
  #failing = false;
  #rejectLogged = false;
  #settleWaiters: Array<() => void> = [];
  #stats = { delivered: 0, received: 0, rejected: 0, overflows: 0, reloads: 0 };

  constructor(options: SharedRevocationsOptions) {
    this.#o = options;
    this.#capacity = revocationBacklogCapacity(options.entries);
    this.#seenCapacity = seenCapacity(options.entries);
    options.tables.onEvent((event) => this.#enqueue(event));
    options.tables.attachPersistence(this);
  }

  /** Subscribes to the channel (the pub/sub link connects now; rejections are retried by the link). */
  start(): void {
    subscribeChannel(this.#o.client, this.#o.names.revocationsChannel, (message) => this.#applyMember(message), this.#o.log,
      'revocations made on other instances are not heard until a restart with an ACL allowing the channel');
  }

  /** The command link came up or went down: writes start or wait. */
  setLinkUp(up: boolean): void {
    this.#up = up;
    if (up) {
      this.#retry.reset();
      this.#pump();
    } else {
      this.#releaseSettled();
    }
  }

  /** The engine lost its data (or this is a start): deliver the whole durable state, not only the backlog. */
  resyncAll(): void {
    this.#resync = true;
    if (this.#up) this.#pump();
  }

  /**
   * After a (re)connect, with the channel subscribed: deliver what waits, then read the set
   * back and apply what this boot has not seen. Resolves with the events applied; rejects
   * when the engine fails meanwhile (the caller tries again at the next reconnect or timer).
   * `current()` false: a newer connection took over, stop.
   */
  async sync(current: () => boolean): Promise<number> {
    this.#pump();
    const before = this.#stats.received;
    await scanAll(this.#o.client, 'ZSCAN', this.#o.names.revocations, RELOAD_PAGE_COUNT, current, 'revocations', (items) => {
      for (let i = 0; i < items.length; i += 2) {
        const member = items[i];
        if (typeof member === 'string') this.#applyMember(member);
      }
    });
    this.#stats.reloads++;
    return this.#stats.received - before;
  }

  stats(): SharedRevocationsStats {
    return { backlog: this.#backlog.length + this.#inFlight, backlogCapacity: this.#capacity, ...this.#stats };
  }

  // ---- RevocationPersistence: the routes that revoke wait for the engine, briefly ----

  changed(): void {
    // Local revocations arrive through onEvent; remote ones need no delivery.
  }

  /**
   * Resolves when nothing waits for the engine, or after SHARED_SETTLE_WAIT_MS, or at once
   * while the engine is away (a logout is not held up by an outage: the backlog keeps it).
   */
  settled(): Promise<void> {
    if (!this.#up || this.#closed || (this.#backlog.length === 0 && this.#inFlight === 0)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, SHARED_SETTLE_WAIT_MS);
      const waiters = this.#settleWaiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i !== -1) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  close(): void {
    this.#closed = true;
    this.#retry.cancel();
    this.#releaseSettled();
  }

  // ---- out ----

  #enqueue(event: RevocationEvent): void {
    const member = sealRevocationMember(event, this.#o.macKey, this.#o.prefix);
    this.#remember(memberMac(member) as string);
    if (this.#resync) return; // the whole durable state goes anyway, and holds this event
    if (this.#backlog.length >= this.#capacity) {
      this.#overflow();
      return;
    }
    this.#backlog.push({ event, member });
    this.#pump();
  }

  #overflow(): void {
    this.#stats.overflows++;
    this.#backlog = [];
    this.#resync = true;
    this.#o.log.warn('shared_state_backlog_overflow', {
      capacity: this.#capacity,
      consequence: 'the backlog is replaced by this instance\'s whole revocation state, delivered when the engine takes writes again (folded as the tables fold it: nothing is lost, some users may have to sign in again)',
    });
  }

  #pump(): void {
    if (!this.#up || this.#closed) return;
    if (this.#resync) {
      this.#resync = false;
      // Everything the backlog held is in the tables' durable state (folded or not).
      this.#backlog = this.#o.tables.durableEvents().map((event) => {
        const member = sealRevocationMember(event, this.#o.macKey, this.#o.prefix);
        this.#remember(memberMac(member) as string);
        return { event, member };
      });
    }
    while (this.#inFlight < MAX_WRITES_IN_FLIGHT && this.#backlog.length > 0 && !this.#retry.pending) {
      const item = this.#backlog.shift() as Pending;
      this.#inFlight++;
      this.#write(item).then(() => {
        this.#stats.delivered++;
        this.#retry.succeeded();
        if (this.#failing) {
          this.#failing = false;
          this.#o.log.info('shared_state_writes_resumed', { backlog: this.#backlog.length + this.#inFlight - 1 });
        }
      }, (err: unknown) => this.#failed(item, err)).finally(() => {
        this.#inFlight--;
        if (this.#backlog.length === 0 && this.#inFlight === 0) this.#releaseSettled();
        else this.#pump();
      });
    }
  }

  #write(item: Pending): Promise<unknown> {
    const names = this.#o.names;
    return ADD_EVENT.run(this.#o.client, [names.revocations], [item.member, this.#lifeMs(item.event), names.revocationsChannel]);
  }

  #failed(item: Pending, err: unknown): void {
    if (this.#closed) return;
    if (!this.#resync) {
      if (this.#backlog.length >= this.#capacity) this.#overflow();
      else this.#backlog.unshift(item);
    }
    const code = err instanceof RingletError ? err.code : 'error';
    if (!this.#failing) {
      this.#failing = true;
      // ERR_ENGINE_DOWN / LOST / TIMEOUT: the outage is logged by the link; a refusal (an
      // ACL without the key or EVAL, a script error) is the operator's to fix.
      this.#o.log[code === 'ERR_ENGINE_REPLY' ? 'error' : 'warn']('shared_state_write_failed', { code, reason: err instanceof Error ? err.message : 'error', consequence: 'revocations wait in the backlog and are tried again' });
    }
    this.#retry.schedule(() => this.#pump());
  }

  /**
   * How long the engine keeps an event: until no credential it refuses can be accepted
   * (a not-before: its moment + the longest credential life; a denied id or span: its
   * `until`), counted from now on this instance's wall clock, which is what `until` was
   * computed on. Unknown (recorded or read under an untrusted wall clock): the longest life.
   */
  #lifeMs(event: RevocationEvent): number {
    const longest = this.#o.longestCredentialMs;
    let endWallMs: number | null;
    switch (event.type) {
      case 'all-not-before':
      case 'user-not-before':
        endWallMs = event.wall === null ? null : event.wall + longest;
        break;
      default:
        endWallMs = event.until;
    }
    if (endWallMs === null || !wallClockTrusted(this.#o.clocks)) return longest;
    return Math.round(Math.min(longest, Math.max(MIN_EVENT_TTL_MS, endWallMs - this.#o.clocks.wall.now())));
  }

  #releaseSettled(): void {
    const waiters = this.#settleWaiters;
    this.#settleWaiters = [];
    for (const done of waiters) done();
  }

  // ---- in ----

  #applyMember(member: string): void {
    const mac = memberMac(member);
    if (mac !== undefined && this.#seen.has(mac)) return;
    const event = openRevocationMember(member, this.#o.macKey, this.#o.prefix);
    if (typeof event === 'string') {
      this.#stats.rejected++;
      if (!this.#rejectLogged) {
        this.#rejectLogged = true;
        this.#o.log.warn('shared_state_event_refused', { reason: event, consequence: 'ignored; logged once (the count is in ringlet_shared_state_refused_total)' });
      }
      return;
    }
    this.#remember(mac as string);
    this.#stats.received++;
    this.#o.tables.apply(event, 'remote');
    try {
      this.#o.onRemote?.(event);
    } catch (err) {
      this.#o.log.error('shared_state_remote_hook_failed', { reason: err instanceof Error ? err.message : 'error' });
    }
  }

  #remember(mac: string): void {
    if (this.#seen.has(mac)) return;
    if (this.#seen.size >= this.#seenCapacity) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#seen.add(mac);
  }
}
