/**
 * Several instances as strict as one: what must be remembered across instances goes through
 * the engine (Redis or Valkey) named by `--shared-state`. Constructed only when that option
 * is set; loading this module does nothing.
 *
 * - Revocations (shared-revocations.ts): written and published as they happen, applied by
 *   every instance to its local tables, read back at start and after every reconnect.
 * - The login throttle (shared-throttle.ts): failures counted in the engine, asked with a
 *   bounded wait, the local table the fallback.
 * - User changes (shared-users.ts): a change made on one instance is applied to the others'
 *   users files (when a users store is given).
 *
 * The link state, in one place: the instance is *synchronised* once both connections are up
 * and the engine's state has been read back since they came up. It stops being so when either
 * connection drops. While it is not, requests are served from local state (the default), or,
 * with `failClosed`, every credential minted by another instance is refused (this instance
 * cannot know what the others revoked meanwhile); its own credentials still work, so
 * signing in again here works. Each change is one log line; `stats()` feeds the metrics.
 */
import { RingletError } from '../errors.js';
import type { RevocationTables } from '../session/revocation.js';
import type { RevocationEvent } from '../session/revocation-events.js';
import type { SessionClocks } from '../session/time-policy.js';
import { randomBytesPooled } from '../util/random-pool.js';
import { EngineScript } from './engine-script.js';
import type { EngineTarget } from './engine-target.js';
import { engineClientFootprintBytes, RespClient, type LinkChange, type RespClientOptions } from './resp-client.js';
import { SharedRevocations, sharedRevocationsFootprintBytes, type SharedRevocationsStats } from './shared-revocations.js';
import { RetryTimer } from './retry-timer.js';
import type { SharedLog } from './shared-channel.js';
import { SharedThrottle, type SharedThrottleStats, type ThrottlePolicy } from './shared-throttle.js';
import { SharedUsers, sharedUsersFootprintBytes, type SharedUsersStats, type SharedUsersStore } from './shared-users.js';
import { sharedKeyNames, type SharedKeyNames } from './shared-wire.js';

/**
 * The client's limits as ringlet serve uses it. Its replies are small (a page of ZSCAN or
 * HSCAN: ~64-128 members of at most ~0.5 KiB; a counter; OK), so a reply held by the parser is
 * bounded well below the client's defaults, and so is what may queue (at most
 * MAX_WRITES_IN_FLIGHT writes of ~0.5 KiB, a login's few commands): the footprint counts
 * these limits (≈ 0.9 MiB), not the defaults (≈ 3.3 MiB).
 */
export const SHARED_STATE_CLIENT_SETTINGS: Readonly<Pick<RespClientOptions, 'maxQueuedBytes' | 'limits'>> = Object.freeze({
  maxQueuedBytes: 128 * 1024,
  limits: { maxBulkBytes: 64 * 1024, maxBufferedBytes: 256 * 1024, maxAggregateLength: 4096 },
});

/** A failed read-back is tried again after this (doubling, up to the maximum) while the links stay up. */
export const SYNC_RETRY_BASE_DELAY_MS = 500;
export const SYNC_RETRY_MAX_DELAY_MS = 30_000;

/** What `--shared-state` adds to an instance's memory at most (counted in the footprint). */
export function sharedStateFootprintBytes(revocationEntries: number): number {
  return engineClientFootprintBytes(SHARED_STATE_CLIENT_SETTINGS) + sharedRevocationsFootprintBytes(revocationEntries) + sharedUsersFootprintBytes();
}

/** KEYS[1] the epoch key; ARGV[1] a fresh id, written only when there is none. Returns the epoch. */
const EPOCH = new EngineScript(`
local e = redis.call('GET', KEYS[1])
if e then return e end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`);

export interface SharedStateOptions {
  target: EngineTarget;
  prefix: string;
  /** Refuse credentials minted elsewhere while not synchronised (`--shared-state-fail-closed`). */
  failClosed: boolean;
  /** HMAC key derived from the JWKS (`keys.deriveSecret('ringlet shared state')`). */
  macKey: Buffer;
  /** The users table, and the AES-256-GCM key its shared values are sealed with (`keys.deriveSecret('ringlet shared users')`). */
  users?: { store: SharedUsersStore; key: Buffer } | undefined;
  tables: RevocationTables;
  /** Told of every revocation event applied from another instance (RAM mode: end the matching store sessions). */
  onRemoteRevocation?: ((event: RevocationEvent) => void) | undefined;
  clocks: SessionClocks;
  longestCredentialMs: number;
  revocationEntries: number;
  throttle: ThrottlePolicy;
  log: SharedLog;
  /** Tests: faster timeouts and back-off (the serve limits are kept). */
  client?: Partial<Omit<RespClientOptions, 'target'>>;
}

export interface SharedStateStats {
  /** Both connections up and the engine's state read back since. */
  up: boolean;
  commandLinkUp: boolean;
  subscriberLinkUp: boolean;
  /** Credentials minted elsewhere are being refused (failClosed, not synchronised). */
  refusingOtherInstances: boolean;
  syncs: number;
  revocations: SharedRevocationsStats;
  throttle: SharedThrottleStats;
  /** Undefined when no users store was given. */
  users: SharedUsersStats | undefined;
  /** Commands refused at once because the client's queue was full. */
  failedFast: number;
}

export class SharedState {
  readonly client: RespClient;
  readonly names: SharedKeyNames;
  readonly revocations: SharedRevocations;
  readonly throttle: SharedThrottle;
  readonly users: SharedUsers | undefined;
  readonly #o: SharedStateOptions;
  #generation = 0;
  #commandUp = false;
  #subscriberUp = false;
  #synced = false;
  #syncing = -1;
  #epoch: string | undefined;
  readonly #retry = new RetryTimer(SYNC_RETRY_BASE_DELAY_MS, SYNC_RETRY_MAX_DELAY_MS);
  #syncs = 0;
  #closed = false;

  constructor(options: SharedStateOptions) {
    this.#o = options;
    this.names = sharedKeyNames(options.prefix);
    this.client = new RespClient({ ...options.client, ...SHARED_STATE_CLIENT_SETTINGS, target: options.target });
    this.revocations = new SharedRevocations({
      client: this.client, tables: options.tables, names: this.names, prefix: options.prefix, macKey: options.macKey,
      clocks: options.clocks, longestCredentialMs: options.longestCredentialMs, entries: options.revocationEntries, log: options.log,
      onRemote: options.onRemoteRevocation,
    });
    this.throttle = new SharedThrottle({
      client: this.client, names: this.names, macKey: options.macKey, policy: options.throttle, linkUp: () => this.#commandUp,
    });
    this.users = options.users === undefined ? undefined : new SharedUsers({
      client: this.client, names: this.names, prefix: options.prefix, key: options.users.key, store: options.users.store, log: options.log,
    });
    this.client.onLinkChange((change) => this.#linkChanged(change));
    this.client.onSubscriptionsReady(() => this.#maybeSync());
    if (options.failClosed) {
      options.tables.refuseOtherBoots = true;
      options.log.info('shared_state_fail_closed', { active: true, reason: 'not yet synchronised with the engine', consequence: 'credentials minted by other instances are refused until then' });
    }
  }

  /** Subscribes and connects, in the background: nothing here waits for the engine. */
  start(): void {
    this.revocations.start();
    this.users?.start();
    this.client.start();
  }

  get synced(): boolean {
    return this.#synced;
  }

  stats(): SharedStateStats {
    return {
      up: this.#synced,
      commandLinkUp: this.#commandUp,
      subscriberLinkUp: this.#subscriberUp,
      refusingOtherInstances: this.#o.tables.refuseOtherBoots,
      syncs: this.#syncs,
      revocations: this.revocations.stats(),
      throttle: this.throttle.stats(),
      users: this.users?.stats(),
      failedFast: this.client.stats().failedFast,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#retry.cancel();
    this.revocations.close();
    this.users?.close();
    await this.client.close();
  }

  #linkChanged({ link, up, error }: LinkChange): void {
    const engine = this.#o.target.toString();
    if (up) this.#o.log.info('shared_state_up', { link, engine });
    else this.#o.log.warn('shared_state_down', { link, engine, code: error?.code, reason: error?.message });
    if (link === 'command') {
      this.#commandUp = up;
      this.revocations.setLinkUp(up);
      this.users?.setLinkUp(up);
    } else {
      this.#subscriberUp = up;
    }
    if (!up) {
      this.#generation++;
      // A new connection reads back at once: no waiting retry left over from the last one.
      this.#retry.cancel();
      this.#setSynced(false, `the ${link} connection is down`);
    } else {
      this.#maybeSync();
    }
  }

  /** Reads the engine back once per connection generation, when both links are up and subscribed. */
  #maybeSync(): void {
    if (this.#closed || this.#synced || this.#syncing === this.#generation || this.#retry.pending) return;
    if (!this.#commandUp || this.client.stats().subscriber?.ready !== true) return;
    const generation = this.#generation;
    const current = () => generation === this.#generation && !this.#closed;
    this.#syncing = generation;
    const started = performance.now();
    this.#sync(current).then((applied) => {
      if (!current()) return;
      this.#syncs++;
      this.#retry.succeeded();
      this.#setSynced(true, undefined);
      this.#o.log.info('shared_state_synced', {
        revocationsApplied: applied.revocations, userFieldsApplied: applied.users, backlog: this.revocations.stats().backlog, ms: Math.round(performance.now() - started),
      });
    }, (err: unknown) => {
      if (!current()) return;
      const delayMs = this.#retry.schedule(() => this.#maybeSync());
      this.#o.log.warn('shared_state_sync_failed', {
        code: err instanceof RingletError ? err.code : 'error', reason: err instanceof Error ? err.message : 'error', retryInMs: delayMs,
      });
    }).finally(() => {
      if (this.#syncing === generation) this.#syncing = -1;
    });
  }

  async #sync(current: () => boolean): Promise<{ revocations: number; users: number }> {
    const epoch = await EPOCH.run(this.client, [this.names.epoch], [randomBytesPooled(12).toString('base64url')]);
    if (typeof epoch !== 'string') throw new RingletError('ERR_PROTOCOL', 'engine answered the epoch script with something other than a string');
    if (this.#epoch !== undefined && epoch !== this.#epoch) {
      this.#o.log.warn('shared_state_engine_emptied', { consequence: 'the engine lost its data (restarted without persistence?): this instance writes its whole revocation state again; user changes are ordered afresh (the users files keep their values)' });
      this.revocations.resyncAll();
      this.users?.engineEmptied();
    }
    this.#epoch = epoch;
    const revocations = await this.revocations.sync(current);
    const users = this.users === undefined ? 0 : await this.users.sync(current);
    return { revocations, users };
  }

  #setSynced(synced: boolean, reason: string | undefined): void {
    if (this.#synced === synced) return;
    this.#synced = synced;
    if (!this.#o.failClosed) return;
    const refusing = !synced;
    if (this.#o.tables.refuseOtherBoots === refusing) return;
    this.#o.tables.refuseOtherBoots = refusing;
    this.#o.log[refusing ? 'warn' : 'info']('shared_state_fail_closed', refusing
      ? { active: true, reason, consequence: 'credentials minted by other instances are refused until the engine is back and read' }
      : { active: false, consequence: 'credentials minted by other instances are accepted again' });
  }
}
