/**
 * The command connection: requests pipelined on one link, replies matched in order (RESP
 * answers in the order commands arrive), and a bounded queue in front of it.
 *
 * Every command waits in one fixed-size FIFO ring from the call until its reply. While
 * the link is down, new commands wait there unsent (they leave as soon as it is up); when
 * the ring or its byte budget is full, a call fails at once with `ERR_QUEUE_FULL` and is
 * counted. Each command has the same deadline (`commandTimeoutMs` after the call), so FIFO
 * order is deadline order and one timer serves the whole ring:
 * - an unsent command past its deadline fails with `ERR_ENGINE_DOWN` (it surely did not run);
 * - a sent one fails with `ERR_ENGINE_TIMEOUT` (it may have run); its slot stays until its reply
 *   arrives, so later replies still match;
 * - if the oldest sent command has waited `commandTimeoutMs` since it was written, the
 *   engine is not answering: the connection is dropped and rebuilt, and every other sent
 *   command fails with `ERR_CONNECTION_LOST` (it may have run). A command is never resent
 *   after it was written: the caller decides whether repeating it is safe.
 */
import { ConfigError, RingletError } from '../errors.js';
import type { MonotonicClock } from '../util/clock.js';
import { MAX_TIMER_MS } from '../util/durations.js';
import { encodeCommand, type RespArg } from './resp-command.js';
import { RespLink, type LinkOptions, type LinkStats } from './resp-link.js';
import { RespErrorReply, type RespValue } from './resp-parser.js';

/** An error reply from the engine (`-WRONGTYPE ...`): `replyCode` is its first word. */
export class EngineReplyError extends RingletError {
  readonly replyCode: string;

  constructor(command: string, replyCode: string) {
    super('ERR_ENGINE_REPLY', `engine refused ${command} (${replyCode})`);
    this.replyCode = replyCode;
  }
}

export interface CommandQueueSettings {
  commandTimeoutMs: number;
  maxQueuedCommands: number;
  maxQueuedBytes: number;
  /** An idle up link sends PING this often (0: never), so a dead peer is found without traffic. */
  healthCheckIntervalMs: number;
  clock: MonotonicClock;
}

export interface CommandQueueStats {
  /** Commands waiting: unsent, sent, and sent-but-timed-out awaiting their late reply. */
  queueLength: number;
  queuedBytes: number;
  /** Refused at once because the queue was full (ERR_QUEUE_FULL). */
  failedFast: number;
  /** Sent, no reply within the deadline (ERR_ENGINE_TIMEOUT). */
  timedOut: number;
  /** Never sent: the link was not up before the deadline (ERR_ENGINE_DOWN). */
  notSent: number;
  /** Sent, then the connection dropped before the reply (ERR_CONNECTION_LOST). */
  connectionLost: number;
  /** Answered with an error reply (ERR_ENGINE_REPLY). */
  errorReplies: number;
}

interface Pending {
  /** The encoded command until it is written (then only its size is kept). */
  frame: Buffer | undefined;
  bytes: number;
  /** The command's name, for messages (never its arguments). */
  name: string;
  resolve: (value: RespValue) => void;
  reject: (error: RingletError) => void;
  deadlineMs: number;
  /** When it was written; -1 while unsent. */
  writtenAtMs: number;
  /** Timed out while sent: its reply is awaited only to be discarded. */
  abandoned: boolean;
  /** Part of a transaction or a health check: not counted in the caller-facing counters. */
  internal: boolean;
}

function commandName(args: readonly RespArg[]): string {
  const first = args[0];
  return typeof first === 'string' && /^[A-Za-z][A-Za-z.|_-]{0,31}$/.test(first) ? first.toUpperCase() : 'command';
}

const NOOP = (): void => {};

/**
 * Commands that change the connection itself (its database, its reply stream, its
 * transaction or its identity). A reconnect would silently undo them, and pub/sub would
 * turn the reply stream into messages: the link does these itself (SELECT and AUTH in
 * every handshake, MULTI/EXEC in `transaction`, pub/sub on its own connection).
 */
const CONNECTION_STATE_COMMANDS = new Set([
  'AUTH', 'HELLO', 'SELECT', 'SWAPDB', 'QUIT', 'RESET', 'MONITOR', 'SYNC', 'PSYNC',
  'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH',
  'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE',
]);

/** Encodes; a limit reached (ERR_COMMAND_TOO_LARGE) is returned for the caller's promise, misuse throws. */
function encodeOrRefuse<T>(encode: () => T): T | RingletError {
  try {
    return encode();
  } catch (err) {
    if (err instanceof RingletError) return err;
    throw err;
  }
}

function refuseConnectionState(args: readonly RespArg[]): void {
  const name = typeof args[0] === 'string' ? args[0].toUpperCase() : '';
  const sub = typeof args[1] === 'string' ? args[1].toUpperCase() : '';
  if (CONNECTION_STATE_COMMANDS.has(name) || (name === 'CLIENT' && (sub === 'REPLY' || sub === 'TRACKING'))) {
    throw new ConfigError('args', `${name}${name === 'CLIENT' ? ` ${sub}` : ''} changes the connection, which a reconnect would undo: use the URL's database, transaction() or subscribe()`);
  }
}

export class RespCommands {
  readonly link: RespLink;
  readonly #settings: CommandQueueSettings;
  readonly #ring: (Pending | undefined)[];
  #head = 0;
  #size = 0;
  /** Entries at the head already written (all of them while up; none while down). */
  #sent = 0;
  /** Of the sent ones at the head, those abandoned (they form a prefix: deadline order). */
  #abandoned = 0;
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #health: NodeJS.Timeout | undefined;
  #lastReplyMs = 0;
  #closed = false;
  #stats = { failedFast: 0, timedOut: 0, notSent: 0, connectionLost: 0, errorReplies: 0 };
  readonly #onLinkChange: (up: boolean, error: RingletError | undefined) => void;

  constructor(linkOptions: LinkOptions, settings: CommandQueueSettings, onLinkChange: (up: boolean, error: RingletError | undefined) => void) {
    this.#settings = settings;
    this.#onLinkChange = onLinkChange;
    this.#ring = new Array<Pending | undefined>(settings.maxQueuedCommands).fill(undefined);
    this.link = new RespLink('command', linkOptions, {
      up: () => this.#linkUp(),
      value: (value, push) => this.#value(value, push),
      down: (error) => this.#linkDown(error),
    });
  }

  start(): void {
    this.link.start();
  }

  /**
   * Sends one command; resolves with its reply. Rejects with RingletError: `ERR_QUEUE_FULL`
   * (at once), `ERR_ENGINE_DOWN` (never sent), `ERR_ENGINE_TIMEOUT` or `ERR_CONNECTION_LOST` (sent,
   * may have run), `ERR_ENGINE_REPLY` (an EngineReplyError), `ERR_CLOSED`, `ERR_COMMAND_TOO_LARGE`.
   * Throws ConfigError for commands that change the connection (SELECT, WATCH, SUBSCRIBE, ...).
   */
  command(args: readonly RespArg[]): Promise<RespValue> {
    refuseConnectionState(args);
    const frame = encodeOrRefuse(() => encodeCommand(args));
    if (frame instanceof RingletError) return Promise.reject(frame);
    return new Promise<RespValue>((resolve, reject) => {
      const refused = this.#refuse(1, frame.length);
      if (refused !== undefined) return reject(refused);
      this.#push(frame, commandName(args), resolve, reject, false);
      this.#afterPush();
    });
  }

  /**
   * MULTI, the commands, EXEC: queued together or refused together, sent back to back on one
   * connection (so nothing else interleaves), run atomically by the engine. Resolves with
   * EXEC's array of replies (an error reply inside it stays a RespErrorReply). A command the
   * engine refuses to queue rejects the whole. WATCH is refused (a reconnect between it and
   * EXEC would drop it silently): for check-and-set, use a script (EVAL).
   */
  transaction(commands: ReadonlyArray<readonly RespArg[]>): Promise<RespValue[] | null> {
    for (const args of commands) refuseConnectionState(args);
    const frames = encodeOrRefuse(() => [encodeCommand(['MULTI']), ...commands.map((args) => encodeCommand(args)), encodeCommand(['EXEC'])]);
    if (frames instanceof RingletError) return Promise.reject(frames);
    return new Promise<RespValue[] | null>((resolve, reject) => {
      const refused = this.#refuse(frames.length, frames.reduce((n, f) => n + f.length, 0));
      if (refused !== undefined) return reject(refused);
      let queueError: RingletError | undefined;
      const note = (error: RingletError): void => {
        queueError ??= error;
      };
      frames.forEach((frame, i) => {
        if (i < frames.length - 1) {
          this.#push(frame, i === 0 ? 'MULTI' : commandName(commands[i - 1] as readonly RespArg[]), NOOP, note, true);
          return;
        }
        this.#push(frame, 'EXEC', (value) => {
          if (value === null || Array.isArray(value)) resolve(value); // null: EXEC aborted
          else reject(new RingletError('ERR_PROTOCOL', 'EXEC answered with something other than an array'));
        }, (error) => reject(queueError !== undefined && error instanceof EngineReplyError && error.replyCode === 'EXECABORT' ? queueError : error), false);
      });
      this.#afterPush();
    });
  }

  stats(): CommandQueueStats & { link: LinkStats } {
    return { queueLength: this.#size, queuedBytes: this.#queuedBytes, ...this.#stats, link: this.link.stats() };
  }

  /** Fails every waiting command with `ERR_CLOSED` and closes the link. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#health);
    this.#timer = undefined;
    this.#health = undefined;
    const closing = this.link.close();
    while (this.#size > 0) {
      const entry = this.#shift();
      if (!entry.abandoned) entry.reject(new RingletError('ERR_CLOSED', `engine client closed before ${entry.name} was answered`));
    }
    await closing;
  }

  /** The refusal when closed or without room for `count` entries of `bytes` in all; else undefined. */
  #refuse(count: number, bytes: number): RingletError | undefined {
    if (this.#closed) return new RingletError('ERR_CLOSED', 'engine client is closed');
    if (this.#size + count > this.#ring.length || this.#queuedBytes + bytes > this.#settings.maxQueuedBytes) {
      this.#stats.failedFast++;
      return new RingletError('ERR_QUEUE_FULL', `engine command queue full (${this.#size} commands, ${this.#queuedBytes} bytes waiting)`);
    }
    return undefined;
  }

  #push(frame: Buffer, name: string, resolve: (value: RespValue) => void, reject: (error: RingletError) => void, internal: boolean): void {
    const entry: Pending = {
      frame, bytes: frame.length, name, resolve, reject, internal,
      deadlineMs: this.#settings.clock.now() + this.#settings.commandTimeoutMs, writtenAtMs: -1, abandoned: false,
    };
    this.#ring[(this.#head + this.#size) % this.#ring.length] = entry;
    this.#size++;
    this.#queuedBytes += entry.bytes;
  }

  #afterPush(): void {
    if (this.link.up) this.#flush();
    else this.link.start();
    if (this.#timer === undefined) this.#arm();
  }

  #at(offset: number): Pending {
    return this.#ring[(this.#head + offset) % this.#ring.length] as Pending;
  }

  #shift(): Pending {
    const entry = this.#ring[this.#head] as Pending;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#size--;
    this.#queuedBytes -= entry.bytes;
    if (this.#sent > 0) this.#sent--;
    if (entry.abandoned) this.#abandoned--;
    return entry;
  }

  /** Writes every unsent entry, in order. */
  #flush(): void {
    const now = this.#settings.clock.now();
    while (this.#sent < this.#size) {
      const entry = this.#at(this.#sent);
      this.link.write(entry.frame as Buffer);
      entry.frame = undefined;
      entry.writtenAtMs = now;
      this.#sent++;
    }
  }

  #linkUp(): void {
    this.#lastReplyMs = this.#settings.clock.now();
    this.#flush();
    const interval = this.#settings.healthCheckIntervalMs;
    if (interval > 0) {
      this.#health = setInterval(() => this.#healthCheck(), interval);
      this.#health.unref();
    }
    this.#onLinkChange(true, undefined);
  }

  #linkDown(error: RingletError): void {
    clearInterval(this.#health);
    this.#health = undefined;
    // Sent commands are lost with the connection; unsent ones wait for the next.
    while (this.#sent > 0) {
      const entry = this.#shift();
      if (entry.abandoned) continue;
      if (!entry.internal) this.#stats.connectionLost++;
      entry.reject(new RingletError('ERR_CONNECTION_LOST', `engine connection lost before ${entry.name} was answered (it may have run)`));
    }
    this.#abandoned = 0;
    this.#onLinkChange(false, error);
  }

  #value(value: RespValue, push: boolean): void {
    // RESP3 push frames (client-side caching invalidations, ...) are not replies.
    if (push) return;
    if (this.#sent === 0) {
      this.link.drop(new RingletError('ERR_PROTOCOL', 'engine sent a reply nobody asked for'));
      return;
    }
    this.#lastReplyMs = this.#settings.clock.now();
    const entry = this.#shift();
    if (entry.abandoned) return;
    if (value instanceof RespErrorReply) {
      if (!entry.internal) this.#stats.errorReplies++;
      entry.reject(new EngineReplyError(entry.name, value.code));
    } else {
      entry.resolve(value);
    }
  }

  #healthCheck(): void {
    if (this.#size > 0 || !this.link.up) return;
    if (this.#settings.clock.now() - this.#lastReplyMs < this.#settings.healthCheckIntervalMs) return;
    const frame = encodeCommand(['PING']);
    this.#push(frame, 'PING', NOOP, NOOP, true);
    this.#afterPush();
  }

  /** One timer for the ring: the first live deadline, or the oldest write's liveness limit. */
  #arm(): void {
    if (this.#size === 0 || this.#closed) return;
    const timeoutMs = this.#settings.commandTimeoutMs;
    let nextMs = this.#abandoned < this.#size ? this.#at(this.#abandoned).deadlineMs : Infinity;
    if (this.#sent > 0) nextMs = Math.min(nextMs, this.#at(0).writtenAtMs + timeoutMs);
    const delayMs = Math.max(1, Math.ceil(nextMs - this.#settings.clock.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
      this.#arm();
    }, Math.min(delayMs, MAX_TIMER_MS));
  }

  #expire(): void {
    const now = this.#settings.clock.now();
    while (this.#abandoned < this.#size) {
      const entry = this.#at(this.#abandoned);
      if (entry.deadlineMs > now) break;
      if (entry.writtenAtMs >= 0) {
        entry.abandoned = true;
        this.#abandoned++;
        if (!entry.internal) this.#stats.timedOut++;
        entry.reject(new RingletError('ERR_ENGINE_TIMEOUT', `engine did not answer ${entry.name} within ${this.#settings.commandTimeoutMs} ms (it may have run)`));
      } else {
        // Unsent entries exist only while no entry is sent: this one is at the head.
        this.#shift();
        if (!entry.internal) this.#stats.notSent++;
        const last = this.link.stats();
        entry.reject(new RingletError('ERR_ENGINE_DOWN', `engine unavailable: ${entry.name} not sent within ${this.#settings.commandTimeoutMs} ms${last.lastErrorMessage === undefined ? '' : ` (${last.lastErrorMessage})`}`));
      }
    }
    if (this.#sent > 0 && now - this.#at(0).writtenAtMs >= this.#settings.commandTimeoutMs) {
      this.link.drop(new RingletError('ERR_ENGINE_TIMEOUT', `engine did not answer within ${this.#settings.commandTimeoutMs} ms`));
    }
  }
}
