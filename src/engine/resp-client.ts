/**
 * A small RESP client for the shared-state engine (Redis or Valkey), on Node built-ins only:
 * one pipelined command connection (src/engine/resp-commands.ts) and, from the first
 * subscription on, one pub/sub connection (src/engine/resp-subscriber.ts); each keeps
 * itself up (src/engine/resp-link.ts) and parses replies with a bounded parser
 * (src/engine/resp-parser.ts). Constructing a client opens nothing; `start()` (or the first
 * command) connects.
 *
 * Failure is ordinary here: the engine restarts, the network drops, a proxy stalls. No call
 * waits longer than `commandTimeoutMs`, no queue grows past its bound, and the link state
 * and counters are there for logs and metrics (`stats()`, `onLinkChange`).
 */
import { ConfigError, RingletError } from '../errors.js';
import { systemMonotonicClock, type MonotonicClock } from '../util/clock.js';
import { integerOption } from '../util/options.js';
import type { EngineTarget } from './engine-target.js';
import type { RespArg } from './resp-command.js';
import { RespCommands, type CommandQueueStats } from './resp-commands.js';
import type { LinkOptions, LinkStats, LinkTlsOptions } from './resp-link.js';
import { DEFAULT_PARSER_LIMITS, resolveParserLimits, type RespParserLimits, type RespValue } from './resp-parser.js';
import { RespSubscriber, type MessageHandler, type SubscriberStats } from './resp-subscriber.js';

/** TCP + TLS + handshake must finish within this. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** From a call to its reply, whatever happens in between (queueing, reconnecting, the engine). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;
/** Commands waiting at once; more fail fast. */
export const DEFAULT_MAX_QUEUED_COMMANDS = 1_024;
/** Bytes of encoded commands waiting at once; more fail fast. */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
/** First reconnect delay ceiling; doubles per failure up to the maximum (full jitter below it). */
export const DEFAULT_RECONNECT_BASE_DELAY_MS = 100;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 5_000;
/** Idle links send PING this often: a dead peer is found within this plus commandTimeoutMs. */
export const DEFAULT_HEALTH_CHECK_INTERVAL_MS = 5_000;

/** Bounds on the options: a timeout of 10 ms at least; no timeout, delay or interval above 10 min. */
const MIN_ENGINE_WAIT_MS = 10;
const MAX_ENGINE_WAIT_MS = 600_000;
const MAX_RECONNECT_BASE_DELAY_MS = 60_000;
const MAX_QUEUED_COMMANDS = 65_536;
const MIN_QUEUED_BYTES = 1024;
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/**
 * Per connection beyond what its parser holds: the socket and, for rediss://, TLS (a
 * 16 KiB stream high-water mark each way, OpenSSL's record buffers and state), rounded up.
 */
export const LINK_SOCKET_BYTES = 96 * 1024;
/** The client's own objects: the command ring (one slot per queued command), subscriptions, counters. */
export const CLIENT_FIXED_BYTES = 64 * 1024;

/**
 * The most memory a client can hold, from its limits: the commands it may queue, and per
 * connection (commands, pub/sub) the reply its parser may hold plus the socket. With the
 * defaults: 1 MiB + 2 × (1 MiB + 96 KiB) + 64 KiB ≈ 3.3 MiB.
 */
export function engineClientFootprintBytes(options: Pick<RespClientOptions, 'maxQueuedBytes' | 'limits'> = {}): number {
  const queued = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  const held = options.limits?.maxBufferedBytes ?? DEFAULT_PARSER_LIMITS.maxBufferedBytes;
  return queued + 2 * (held + LINK_SOCKET_BYTES) + CLIENT_FIXED_BYTES;
}

export interface RespClientOptions {
  /** Where the engine is (parseEngineUrl). */
  target: EngineTarget;
  /** 2 (default): RESP2, any Redis >= 6 or Valkey. 3: HELLO 3 (RESP3 types, maps as Map). */
  protocol?: 2 | 3;
  /** 10 - 600000 ms, default 5000. */
  connectTimeoutMs?: number;
  /** 10 - 600000 ms, default 2000. */
  commandTimeoutMs?: number;
  /** 1 - 65536, default 1024. */
  maxQueuedCommands?: number;
  /** 1 KiB - 64 MiB, default 1 MiB. */
  maxQueuedBytes?: number;
  /** 1 - 60000 ms, default 100. */
  reconnectBaseDelayMs?: number;
  /** reconnectBaseDelayMs - 600000 ms, default 5000. */
  reconnectMaxDelayMs?: number;
  /** 0 (off) or 10 - 600000 ms, default 5000. */
  healthCheckIntervalMs?: number;
  /** Reply parser limits (defaults: the MAX_* constants of resp-parser.ts). */
  limits?: Partial<RespParserLimits>;
  /** For rediss://: extra trusted CAs (NODE_EXTRA_CA_CERTS works too). Certificates are always verified. */
  tls?: LinkTlsOptions;
  /** Jitter source, uniform in [0, 1) (default Math.random). */
  random?: () => number;
  clock?: MonotonicClock;
}

export type EngineLinkName = 'command' | 'subscriber';

/** A link came up or went down (once per outage; retries in between are only counted). */
export interface LinkChange {
  link: EngineLinkName;
  up: boolean;
  /** Why it is down (safe to log: a code and a reason, never a secret). */
  error: RingletError | undefined;
}

export interface RespClientStats extends CommandQueueStats {
  /** The command link is up, and so is the subscriber link if there is one. */
  up: boolean;
  command: LinkStats;
  /** Undefined until the first subscription. */
  subscriber: SubscriberStats | undefined;
}

function closedError(): RingletError {
  return new RingletError('ERR_CLOSED', 'engine client is closed');
}

/**
 * @example
 * const client = new RespClient({ target: parseEngineUrl('redis://:secret@127.0.0.1:6379/0', 'url') });
 * client.onLinkChange(({ link, up, error }) => log.info('engine', { link, up, reason: error?.message }));
 * client.start();
 * await client.command(['SET', 'ringlet:k', 'v', 'PX', 60_000]);
 * await client.subscribe('ringlet:events', (message) => apply(message));
 * await client.close();
 */
export class RespClient {
  readonly target: EngineTarget;
  readonly commandTimeoutMs: number;
  readonly #linkOptions: LinkOptions;
  readonly #healthCheckIntervalMs: number;
  readonly #clock: MonotonicClock;
  readonly #commands: RespCommands;
  #subscriber: RespSubscriber | undefined;
  readonly #linkListeners = new Set<(change: LinkChange) => void>();
  readonly #readyListeners = new Set<() => void>();
  #closed = false;

  constructor(options: RespClientOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object');
    if (options.target === undefined || typeof options.target.revealPassword !== 'function') {
      throw new ConfigError('target', 'must be an EngineTarget (parseEngineUrl)');
    }
    if (options.protocol !== undefined && options.protocol !== 2 && options.protocol !== 3) throw new ConfigError('protocol', 'must be 2 or 3');
    this.target = options.target;
    const connectTimeoutMs = integerOption(options.connectTimeoutMs, 'connectTimeoutMs', MIN_ENGINE_WAIT_MS, MAX_ENGINE_WAIT_MS, { fallback: DEFAULT_CONNECT_TIMEOUT_MS });
    this.commandTimeoutMs = integerOption(options.commandTimeoutMs, 'commandTimeoutMs', MIN_ENGINE_WAIT_MS, MAX_ENGINE_WAIT_MS, { fallback: DEFAULT_COMMAND_TIMEOUT_MS });
    const maxQueuedCommands = integerOption(options.maxQueuedCommands, 'maxQueuedCommands', 1, MAX_QUEUED_COMMANDS, { fallback: DEFAULT_MAX_QUEUED_COMMANDS });
    const maxQueuedBytes = integerOption(options.maxQueuedBytes, 'maxQueuedBytes', MIN_QUEUED_BYTES, MAX_QUEUED_BYTES, { fallback: DEFAULT_MAX_QUEUED_BYTES });
    const reconnectBaseDelayMs = integerOption(options.reconnectBaseDelayMs, 'reconnectBaseDelayMs', 1, MAX_RECONNECT_BASE_DELAY_MS, { fallback: DEFAULT_RECONNECT_BASE_DELAY_MS });
    const reconnectMaxDelayMs = integerOption(options.reconnectMaxDelayMs, 'reconnectMaxDelayMs', reconnectBaseDelayMs, MAX_ENGINE_WAIT_MS,
      { fallback: Math.max(DEFAULT_RECONNECT_MAX_DELAY_MS, reconnectBaseDelayMs) });
    this.#healthCheckIntervalMs = integerOption(options.healthCheckIntervalMs, 'healthCheckIntervalMs', 0, MAX_ENGINE_WAIT_MS, { fallback: DEFAULT_HEALTH_CHECK_INTERVAL_MS });
    if (this.#healthCheckIntervalMs > 0 && this.#healthCheckIntervalMs < 10) throw new ConfigError('healthCheckIntervalMs', 'must be 0 (off) or an integer from 10 to 600000');
    if (options.random !== undefined && typeof options.random !== 'function') throw new ConfigError('random', 'must be a function');
    if (options.target.tls !== true && options.tls !== undefined) throw new ConfigError('tls', 'only for rediss:// targets');
    this.#clock = options.clock ?? systemMonotonicClock;
    this.#linkOptions = {
      target: options.target,
      protocol: options.protocol ?? 2,
      connectTimeoutMs,
      reconnectBaseDelayMs,
      reconnectMaxDelayMs,
      limits: resolveParserLimits(options.limits),
      tls: options.tls,
      random: options.random ?? Math.random,
      clock: this.#clock,
    };
    this.#commands = new RespCommands(this.#linkOptions, {
      commandTimeoutMs: this.commandTimeoutMs, maxQueuedCommands, maxQueuedBytes,
      healthCheckIntervalMs: this.#healthCheckIntervalMs, clock: this.#clock,
    }, (up, error) => this.#announce({ link: 'command', up, error }));
  }

  /** Connects the command link (and keeps it up until `close()`). Idempotent. */
  start(): void {
    this.#commands.start();
  }

  /**
   * Sends one command and resolves with its reply (see RespValue). Rejects with a
   * RingletError whose code says what is known: `ERR_QUEUE_FULL` (refused at once),
   * `ERR_ENGINE_DOWN` (never sent), `ERR_ENGINE_TIMEOUT` / `ERR_CONNECTION_LOST` (sent; it may have
   * run), `ERR_ENGINE_REPLY` (EngineReplyError: the engine answered with an error),
   * `ERR_COMMAND_TOO_LARGE`, `ERR_CLOSED`. Commands that change the connection itself (SELECT,
   * AUTH, WATCH, MULTI, SUBSCRIBE, ...) throw ConfigError: a reconnect would undo them.
   */
  command(args: readonly RespArg[]): Promise<RespValue> {
    return this.#commands.command(args);
  }

  /** MULTI ... EXEC as one unit (see RespCommands.transaction). */
  transaction(commands: ReadonlyArray<readonly RespArg[]>): Promise<RespValue[] | null> {
    return this.#commands.transaction(commands);
  }

  /**
   * SUBSCRIBE `channel`; resolves when the engine confirms. Rejects when it cannot within
   * `commandTimeoutMs` (`ERR_ENGINE_DOWN`, `ERR_ENGINE_TIMEOUT`), yet the subscription stays and is
   * made when the link comes up: catch the rejection, and watch `onSubscriptionsReady`.
   * `ERR_ENGINE_REPLY` (e.g. NOPERM) means refused for good: the subscription is dropped.
   */
  subscribe(channel: string, handler: MessageHandler): Promise<void> {
    return this.#closed ? Promise.reject(closedError()) : this.#pubsub().subscribe('channel', channel, handler);
  }

  /** PSUBSCRIBE `pattern` (a glob: `ringlet:rev:*`). */
  psubscribe(pattern: string, handler: MessageHandler): Promise<void> {
    return this.#closed ? Promise.reject(closedError()) : this.#pubsub().subscribe('pattern', pattern, handler);
  }

  unsubscribe(channel: string, handler?: MessageHandler): void {
    this.#subscriber?.unsubscribe('channel', channel, handler);
  }

  punsubscribe(pattern: string, handler?: MessageHandler): void {
    this.#subscriber?.unsubscribe('pattern', pattern, handler);
  }

  /** Runs `listener` on every up/down change of either link; returns the remover. */
  onLinkChange(listener: (change: LinkChange) => void): () => void {
    this.#linkListeners.add(listener);
    return () => this.#linkListeners.delete(listener);
  }

  /**
   * Runs `listener` each time every subscription is confirmed on the pub/sub link: after
   * each (re)connect, the moment to reload whatever is mirrored from the engine.
   */
  onSubscriptionsReady(listener: () => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  stats(): RespClientStats {
    const { link, ...queue } = this.#commands.stats();
    const subscriber = this.#subscriber?.stats();
    return { ...queue, up: link.up && (subscriber === undefined || subscriber.link.up), command: link, subscriber };
  }

  /** Fails what is waiting with `ERR_CLOSED`, closes both connections. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#commands.close(), this.#subscriber?.close()]);
  }

  #pubsub(): RespSubscriber {
    if (this.#subscriber === undefined) {
      const subscriber = new RespSubscriber(this.#linkOptions, {
        commandTimeoutMs: this.commandTimeoutMs, healthCheckIntervalMs: this.#healthCheckIntervalMs, clock: this.#clock,
      }, (up, error) => this.#announce({ link: 'subscriber', up, error }));
      subscriber.onReady(() => {
        for (const listener of [...this.#readyListeners]) listener();
      });
      this.#subscriber = subscriber;
    }
    return this.#subscriber;
  }

  #announce(change: LinkChange): void {
    for (const listener of [...this.#linkListeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not break the link that reports to it.
      }
    }
  }
}
