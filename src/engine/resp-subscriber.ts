/**
 * The pub/sub connection. A RESP2 connection that has subscribed can only (un)subscribe
 * and PING, so pub/sub gets a link of its own, opened at the first subscription.
 *
 * Subscriptions are remembered here, not on the connection: after every reconnect they are
 * all sent again, and once the engine has confirmed each one the "ready" listeners run.
 * That moment matters to whoever mirrors engine state: messages published while the link
 * was down are lost (pub/sub does not queue), so a listener reloads what it mirrors after
 * "ready" (subscribed first, then reloaded: nothing falls in between).
 *
 * The engine only speaks when something is published, so silence proves nothing: the link
 * sends PING every `healthCheckIntervalMs` and drops the connection when no PONG comes back
 * within `commandTimeoutMs` (a half-open TCP connection would otherwise look up forever).
 */
import { ConfigError, RingletError } from '../errors.js';
import type { MonotonicClock } from '../util/clock.js';
import { encodeCommand } from './resp-command.js';
import { EngineReplyError } from './resp-commands.js';
import { RespLink, type LinkOptions, type LinkStats } from './resp-link.js';
import { RespErrorReply, type RespValue } from './resp-parser.js';

/** Channels plus patterns one client may hold: ringlet uses a handful. */
export const MAX_SUBSCRIPTIONS = 64;
/** Longest channel name or pattern, in bytes. */
export const MAX_CHANNEL_BYTES = 256;
/** Commands awaiting their reply on the pub/sub link; more means the engine stopped answering. */
const MAX_OUTSTANDING = 4 * MAX_SUBSCRIPTIONS + 1;

/** Called for each message: `pattern` is set for pattern subscriptions. Must not block. */
export type MessageHandler = (message: string, channel: string, pattern: string | undefined) => void;

export interface SubscriberSettings {
  commandTimeoutMs: number;
  healthCheckIntervalMs: number;
  clock: MonotonicClock;
}

export interface SubscriberStats {
  link: LinkStats;
  /** Channels and patterns subscribed (whether or not confirmed on the current connection). */
  subscriptions: number;
  /** All subscriptions are confirmed on an up link. */
  ready: boolean;
  messages: number;
  /** Handlers that threw (the message still reached the others). */
  handlerErrors: number;
  /** Subscriptions the engine refused (an ACL without the channel): dropped, not retried. */
  refused: number;
}

type Kind = 'channel' | 'pattern';

/** A command written on the link, awaiting its reply (replies come in order). */
type Sent = { op: 'subscribe' | 'unsubscribe'; key: string } | { op: 'ping' };

interface Waiter {
  resolve: () => void;
  reject: (error: RingletError) => void;
  timer: NodeJS.Timeout;
}

function keyOf(kind: Kind, name: string): string {
  return `${kind === 'channel' ? 'c' : 'p'}:${name}`;
}

export class RespSubscriber {
  readonly link: RespLink;
  readonly #settings: SubscriberSettings;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  /** Confirmed on the current connection. */
  readonly #confirmed = new Set<string>();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #readyListeners = new Set<() => void>();
  #sent: Sent[] = [];
  #ready = false;
  #refused = 0;
  #ping: NodeJS.Timeout | undefined;
  #pongDeadline: NodeJS.Timeout | undefined;
  #closed = false;
  #messages = 0;
  #handlerErrors = 0;
  readonly #onLinkChange: (up: boolean, error: RingletError | undefined) => void;

  constructor(linkOptions: LinkOptions, settings: SubscriberSettings, onLinkChange: (up: boolean, error: RingletError | undefined) => void) {
    this.#settings = settings;
    this.#onLinkChange = onLinkChange;
    this.link = new RespLink('subscriber', linkOptions, {
      up: () => this.#linkUp(),
      value: (value) => this.#value(value),
      down: (error) => this.#linkDown(error),
    });
  }

  /**
   * Adds `handler` for `channel` (`kind` 'pattern': a glob such as `ringlet:rev:*`). Resolves
   * once the engine has confirmed the subscription; rejects (`ERR_ENGINE_DOWN`,
   * `ERR_ENGINE_TIMEOUT`) when that takes longer than `commandTimeoutMs`, but the subscription
   * stays: it is made as soon as the link is up.
   */
  subscribe(kind: Kind, name: string, handler: MessageHandler): Promise<void> {
    if (this.#closed) return Promise.reject(new RingletError('ERR_CLOSED', 'engine client is closed'));
    if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > MAX_CHANNEL_BYTES) {
      throw new ConfigError(kind, `must be a non-empty string of at most ${MAX_CHANNEL_BYTES} bytes`);
    }
    if (typeof handler !== 'function') throw new ConfigError('handler', 'must be a function');
    const key = keyOf(kind, name);
    let set = this.#handlers.get(key);
    if (set === undefined) {
      if (this.#handlers.size >= MAX_SUBSCRIPTIONS) throw new ConfigError(kind, `at most ${MAX_SUBSCRIPTIONS} channels and patterns`);
      set = new Set();
      this.#handlers.set(key, set);
      this.#ready = false;
      if (this.link.up) this.#send('subscribe', key);
    }
    set.add(handler);
    this.link.start();
    if (this.#confirmed.has(key)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve, reject,
        timer: setTimeout(() => {
          this.#removeWaiter(key, waiter);
          reject(this.link.up
            ? new RingletError('ERR_ENGINE_TIMEOUT', `engine did not confirm the subscription within ${this.#settings.commandTimeoutMs} ms (it stays registered)`)
            : new RingletError('ERR_ENGINE_DOWN', `engine unavailable: subscription not confirmed within ${this.#settings.commandTimeoutMs} ms (it stays registered)`));
        }, this.#settings.commandTimeoutMs),
      };
      const list = this.#waiters.get(key) ?? [];
      list.push(waiter);
      this.#waiters.set(key, list);
    });
  }

  /** Removes `handler` (or every handler) from `name`; the last one out unsubscribes. */
  unsubscribe(kind: Kind, name: string, handler?: MessageHandler): void {
    const key = keyOf(kind, name);
    const set = this.#handlers.get(key);
    if (set === undefined) return;
    if (handler !== undefined) set.delete(handler);
    if (handler !== undefined && set.size > 0) return;
    this.#handlers.delete(key);
    for (const waiter of this.#waiters.get(key) ?? []) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.#waiters.delete(key);
    // Also when not yet confirmed: a SUBSCRIBE may be on its way.
    this.#confirmed.delete(key);
    if (this.link.up) this.#send('unsubscribe', key);
    this.#checkReady();
  }

  /**
   * `listener` runs each time every subscription is confirmed: after each (re)connect, and
   * after a new subscription on an up link.
   */
  onReady(listener: () => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  get ready(): boolean {
    return this.#ready;
  }

  stats(): SubscriberStats {
    return {
      link: this.link.stats(), subscriptions: this.#handlers.size, ready: this.#ready,
      messages: this.#messages, handlerErrors: this.#handlerErrors, refused: this.#refused,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopPing();
    for (const [key, list] of this.#waiters) {
      for (const waiter of list) {
        clearTimeout(waiter.timer);
        waiter.reject(new RingletError('ERR_CLOSED', 'engine client closed'));
      }
      this.#waiters.delete(key);
    }
    await this.link.close();
  }

  #linkUp(): void {
    this.#confirmed.clear();
    this.#sent = [];
    this.#ready = false;
    // One command per subscription, so a refusal (NOPERM) names the one it refuses.
    for (const key of this.#handlers.keys()) this.#send('subscribe', key);
    if (this.#settings.healthCheckIntervalMs > 0) {
      this.#ping = setInterval(() => this.#sendPing(), this.#settings.healthCheckIntervalMs);
      this.#ping.unref();
    }
    this.#onLinkChange(true, undefined);
    this.#checkReady();
  }

  #send(op: 'subscribe' | 'unsubscribe', key: string): void {
    const channel = key.startsWith('c:');
    const command = op === 'subscribe' ? (channel ? 'SUBSCRIBE' : 'PSUBSCRIBE') : (channel ? 'UNSUBSCRIBE' : 'PUNSUBSCRIBE');
    this.#written({ op, key }, encodeCommand([command, key.slice(2)]));
  }

  #written(sent: Sent, frame: Buffer): void {
    if (this.#sent.length >= MAX_OUTSTANDING) {
      this.link.drop(new RingletError('ERR_ENGINE_TIMEOUT', 'engine is not answering subscription commands'));
      return;
    }
    this.#sent.push(sent);
    this.link.write(frame);
  }

  #linkDown(error: RingletError): void {
    this.#stopPing();
    this.#confirmed.clear();
    this.#sent = [];
    this.#ready = false;
    this.#onLinkChange(false, error);
  }

  #sendPing(): void {
    if (this.#pongDeadline !== undefined || !this.link.up) return;
    this.#written({ op: 'ping' }, encodeCommand(['PING']));
    this.#pongDeadline = setTimeout(() => {
      this.#pongDeadline = undefined;
      this.link.drop(new RingletError('ERR_ENGINE_TIMEOUT', `engine did not answer PING within ${this.#settings.commandTimeoutMs} ms`));
    }, this.#settings.commandTimeoutMs);
  }

  #stopPing(): void {
    clearInterval(this.#ping);
    clearTimeout(this.#pongDeadline);
    this.#ping = undefined;
    this.#pongDeadline = undefined;
  }

  #value(value: RespValue): void {
    const kind = Array.isArray(value) && typeof value[0] === 'string' ? value[0].toLowerCase() : undefined;
    const text = (i: number): string | undefined => (Array.isArray(value) && typeof value[i] === 'string' ? value[i] : undefined);
    const length = Array.isArray(value) ? value.length : 0;
    // Messages are not replies: they arrive between them.
    if (kind === 'message' && length === 3 && text(1) !== undefined && text(2) !== undefined) {
      return this.#dispatch(keyOf('channel', text(1) as string), text(2) as string, text(1) as string, undefined);
    }
    if (kind === 'pmessage' && length === 4 && text(1) !== undefined && text(2) !== undefined && text(3) !== undefined) {
      return this.#dispatch(keyOf('pattern', text(1) as string), text(3) as string, text(2) as string, text(1));
    }
    // Everything else answers the oldest command written (RESP replies keep order).
    const expected = this.#sent.shift();
    if (value instanceof RespErrorReply && expected !== undefined) return this.#refusedReply(expected, value.code);
    const name = text(1);
    let matches = false;
    if (expected?.op === 'ping') {
      matches = value === 'PONG' || (kind === 'pong' && length === 2); // RESP3 answers PING plainly when subscribed
    } else if (expected !== undefined && kind !== undefined && name !== undefined && length === 3) {
      const pattern = kind.startsWith('p');
      matches = (pattern ? kind.slice(1) : kind) === expected.op && expected.key === keyOf(pattern ? 'pattern' : 'channel', name);
    }
    if (!matches || expected === undefined) {
      this.link.drop(new RingletError('ERR_PROTOCOL', 'engine sent something other than pub/sub data on the subscriber connection'));
      return;
    }
    if (expected.op === 'ping') return this.#pong();
    if (expected.op === 'subscribe') this.#confirm(expected.key);
  }

  #refusedReply(expected: Sent, code: string): void {
    if (expected.op === 'ping') {
      this.link.drop(new RingletError('ERR_ENGINE_REPLY', `engine refused PING on the subscriber connection (${code})`));
      return;
    }
    if (expected.op === 'unsubscribe') return;
    // e.g. NOPERM: the ACL user may not use this channel. Retrying would fail the same way.
    const set = this.#handlers.get(expected.key);
    if (set === undefined) return;
    this.#refused++;
    this.#handlers.delete(expected.key);
    const error = new EngineReplyError(expected.key.startsWith('c:') ? 'SUBSCRIBE' : 'PSUBSCRIBE', code);
    for (const waiter of this.#waiters.get(expected.key) ?? []) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#waiters.delete(expected.key);
    this.#checkReady();
  }

  #pong(): void {
    clearTimeout(this.#pongDeadline);
    this.#pongDeadline = undefined;
  }

  #confirm(key: string): void {
    if (!this.#handlers.has(key)) return; // unsubscribed meanwhile: its UNSUBSCRIBE follows
    this.#confirmed.add(key);
    for (const waiter of this.#waiters.get(key) ?? []) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.#waiters.delete(key);
    this.#checkReady();
  }

  #checkReady(): void {
    if (this.#ready || !this.link.up) return;
    for (const key of this.#handlers.keys()) if (!this.#confirmed.has(key)) return;
    this.#ready = true;
    for (const listener of [...this.#readyListeners]) {
      try {
        listener();
      } catch {
        this.#handlerErrors++;
      }
    }
  }

  #dispatch(key: string, message: string, channel: string, pattern: string | undefined): void {
    const set = this.#handlers.get(key);
    if (set === undefined) return; // unsubscribed meanwhile
    this.#messages++;
    for (const handler of [...set]) {
      try {
        handler(message, channel, pattern);
      } catch {
        this.#handlerErrors++;
      }
    }
  }

  #removeWaiter(key: string, waiter: Waiter): void {
    const list = this.#waiters.get(key);
    if (list === undefined) return;
    const i = list.indexOf(waiter);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.#waiters.delete(key);
  }
}
