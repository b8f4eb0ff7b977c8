/**
 * One connection to the engine that keeps itself up: TCP (node:net) or TLS (node:tls),
 * the handshake (HELLO 3 or AUTH, then SELECT, then PING, pipelined), a connect timeout
 * that covers all of it, and reconnection with capped exponential back-off and full
 * jitter. What flows over the link once it is up (commands, or pub/sub) belongs to its
 * owner, which hears `up`, every reply, and `down`.
 *
 * A link is "up" only after the engine has answered the handshake's PING: a port that
 * accepts TCP but never speaks RESP (a silent server, a wrong service) times out like an
 * unreachable one.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { RingletError, type RingletErrorCode } from '../errors.js';
import type { MonotonicClock } from '../util/clock.js';
import type { EngineTarget } from './engine-target.js';
import { encodeCommand, type RespArg } from './resp-command.js';
import { RespErrorReply, RespParser, type RespParserLimits, type RespValue } from './resp-parser.js';

/** TCP keep-alive probes start after this much idle time (a second line behind PING). */
export const KEEPALIVE_INITIAL_DELAY_MS = 15_000;
/**
 * A link that stayed up this long counts as recovered: its next failure backs off from the
 * base delay again. A link that drops sooner (an engine that accepts and then closes, a
 * proxy with no backend) keeps climbing the back-off instead of reconnecting in a loop.
 */
export const STABLE_LINK_MS = 5_000;

export type LinkState = 'idle' | 'connecting' | 'up' | 'waiting' | 'closed';

export interface LinkTlsOptions {
  /** Trusted CA certificates (PEM) besides Node's bundled ones and NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface LinkOptions {
  target: EngineTarget;
  /** 2: plain RESP2 (AUTH); 3: HELLO 3, replies may use RESP3 types and push frames. */
  protocol: 2 | 3;
  connectTimeoutMs: number;
  reconnectBaseDelayMs: number;
  reconnectMaxDelayMs: number;
  limits: RespParserLimits;
  tls: LinkTlsOptions | undefined;
  /** Uniform in [0, 1): the jitter source (injectable for tests). */
  random: () => number;
  clock: MonotonicClock;
}

export interface LinkHandlers {
  /** The handshake is done; the owner may write. */
  up(): void;
  /** A reply (or, with RESP3, a push frame) after the handshake. Must not throw. */
  value(value: RespValue, push: boolean): void;
  /**
   * The link is down: an up link dropped (`wasUp`), or an attempt failed. Reported once
   * per outage: further failed attempts of the same outage are only counted.
   */
  down(error: RingletError, wasUp: boolean): void;
}

/** Counters and state of one link, for logs and metrics. */
export interface LinkStats {
  state: LinkState;
  up: boolean;
  /** Handshakes completed. */
  connects: number;
  /** Of `connects`, those after the first (the link came back). */
  reconnects: number;
  /** Attempts that failed before the link was up (refused, timed out, AUTH refused, ...). */
  failedAttempts: number;
  /** Up links that went down. */
  drops: number;
  /** Malformed or oversized replies (each dropped the connection). */
  protocolErrors: number;
  /** The last failure's code and message (never a secret). */
  lastErrorCode: RingletErrorCode | undefined;
  lastErrorMessage: string | undefined;
  /** Monotonic ms of the last change between up and down. */
  stateSinceMs: number;
}

/**
 * "Full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015): uniform in
 * [0, min(cap, base·2^attempt)). After an engine restart, N instances spread their
 * reconnects over the whole window instead of arriving together at each step.
 */
export function reconnectDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.min(Math.max(random(), 0), 0.999_999) * ceiling);
}

interface HandshakeStep {
  name: string;
  args: RespArg[];
}

/** Only a Node error code (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`): messages hold addresses. */
function socketError(err: unknown): RingletError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'socket error';
  return new RingletError('ERR_ENGINE_DOWN', `engine unreachable: ${reason}`);
}

function handshakeError(step: string, code: string): RingletError {
  if (step === 'AUTH' || step === 'HELLO' || code === 'NOAUTH' || code === 'WRONGPASS' || code === 'NOPERM') {
    const why = code === 'WRONGPASS' ? 'user name or password refused'
      : code === 'NOAUTH' ? 'the engine wants a password (user:password@ in the URL)'
        : code === 'NOPERM' ? `the user may not run ${step}`
          : code === 'NOPROTO' ? 'the engine does not speak RESP3'
            : 'refused';
    return new RingletError(code === 'NOPROTO' ? 'ERR_ENGINE_REPLY' : 'ERR_ENGINE_AUTH', `engine ${step}: ${why} (${code})`);
  }
  return new RingletError('ERR_ENGINE_REPLY', `engine ${step} refused (${code})${step === 'SELECT' ? ': is the database number below the engine\'s "databases" setting?' : ''}`);
}

export class RespLink {
  readonly name: string;
  readonly #options: LinkOptions;
  readonly #handlers: LinkHandlers;
  readonly #parser: RespParser;
  #state: LinkState = 'idle';
  #socket: Socket | undefined;
  #handshake: HandshakeStep[] = [];
  #connectTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #corked = false;
  /** Failures since the link last stayed up for STABLE_LINK_MS: the back-off exponent. */
  #failures = 0;
  #upSinceMs = 0;
  /** A down was reported for the current outage. */
  #downReported = false;
  #closed: Promise<void> | undefined;
  #stats: LinkStats = {
    state: 'idle', up: false, connects: 0, reconnects: 0, failedAttempts: 0, drops: 0, protocolErrors: 0,
    lastErrorCode: undefined, lastErrorMessage: undefined, stateSinceMs: 0,
  };

  constructor(name: string, options: LinkOptions, handlers: LinkHandlers) {
    this.name = name;
    this.#options = options;
    this.#handlers = handlers;
    this.#parser = new RespParser((value, push) => this.#reply(value, push), { resp3: options.protocol === 3, limits: options.limits });
    this.#stats.stateSinceMs = options.clock.now();
  }

  get state(): LinkState {
    return this.#state;
  }

  get up(): boolean {
    return this.#state === 'up';
  }

  stats(): LinkStats {
    return { ...this.#stats, state: this.#state, up: this.#state === 'up' };
  }

  /** Starts connecting (once; later calls do nothing). */
  start(): void {
    if (this.#state === 'idle') this.#attempt();
  }

  /** Sends bytes on an up link (batched per tick); returns false when the link is not up. */
  write(frame: Uint8Array): boolean {
    const socket = this.#socket;
    if (this.#state !== 'up' || socket === undefined) return false;
    if (!this.#corked) {
      // Pipelining: everything written in this tick leaves in one segment.
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(frame);
    return true;
  }

  /** Drops the current connection (the owner saw a timeout or a reply it cannot place); it reconnects. */
  drop(error: RingletError): void {
    if (this.#socket !== undefined) this.#fail(this.#socket, error);
  }

  /** Closes for good: no reconnect. Resolves when the socket is gone. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#state = 'closed';
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = undefined;
    this.#closed = socket === undefined || socket.destroyed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
    return this.#closed;
  }

  #attempt(): void {
    this.#retryTimer = undefined;
    if (this.#state === 'closed') return;
    this.#state = 'connecting';
    this.#parser.reset();
    const { target } = this.#options;
    const socket: Socket = target.tls
      ? tlsConnect({ host: target.host, port: target.port, ca: this.#options.tls?.ca, minVersion: 'TLSv1.2', ...(isIP(target.host) === 0 ? { servername: target.host } : {}) })
      : netConnect({ host: target.host, port: target.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    this.#connectTimer = setTimeout(() => {
      this.#fail(socket, new RingletError('ERR_ENGINE_TIMEOUT', `engine did not complete the connection and handshake within ${this.#options.connectTimeoutMs} ms`));
    }, this.#options.connectTimeoutMs);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => this.#sendHandshake(socket));
    socket.on('data', (chunk: Buffer) => this.#data(socket, chunk));
    socket.on('error', (err) => this.#fail(socket, socketError(err)));
    socket.on('close', () => this.#fail(socket, new RingletError('ERR_ENGINE_DOWN', 'engine closed the connection')));
  }

  #sendHandshake(socket: Socket): void {
    if (socket !== this.#socket) return;
    const { target, protocol } = this.#options;
    const password = target.revealPassword();
    const steps: HandshakeStep[] = [];
    if (protocol === 3) {
      steps.push({ name: 'HELLO', args: password === undefined ? ['HELLO', 3] : ['HELLO', 3, 'AUTH', target.username ?? 'default', password] });
    } else if (password !== undefined) {
      steps.push({ name: 'AUTH', args: target.username === undefined ? ['AUTH', password] : ['AUTH', target.username, password] });
    }
    if (target.db !== 0) steps.push({ name: 'SELECT', args: ['SELECT', target.db] });
    steps.push({ name: 'PING', args: ['PING'] });
    this.#handshake = steps;
    socket.write(Buffer.concat(steps.map((s) => encodeCommand(s.args))));
  }

  #data(socket: Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    try {
      this.#parser.feed(chunk);
    } catch (err) {
      const error = err instanceof RingletError ? err : new RingletError('ERR_PROTOCOL', 'engine reply could not be handled');
      if (error.code === 'ERR_PROTOCOL') this.#stats.protocolErrors++;
      this.#fail(socket, error);
    }
  }

  #reply(value: RespValue, push: boolean): void {
    if (this.#state === 'up') {
      this.#handlers.value(value, push);
      return;
    }
    if (this.#state !== 'connecting' || push) return;
    const step = this.#handshake.shift();
    const socket = this.#socket;
    if (step === undefined || socket === undefined) return;
    if (value instanceof RespErrorReply) {
      this.#fail(socket, handshakeError(step.name, value.code));
      return;
    }
    if (this.#handshake.length === 0) this.#becomeUp();
  }

  #becomeUp(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#state = 'up';
    this.#downReported = false;
    this.#upSinceMs = this.#options.clock.now();
    this.#stats.stateSinceMs = this.#upSinceMs;
    this.#stats.connects++;
    if (this.#stats.connects > 1) this.#stats.reconnects++;
    this.#handlers.up();
  }

  #fail(socket: Socket, error: RingletError): void {
    if (socket !== this.#socket || this.#state === 'closed') return;
    this.#socket = undefined;
    socket.destroy();
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    const wasUp = this.#state === 'up';
    const now = this.#options.clock.now();
    if (wasUp) {
      this.#stats.drops++;
      if (now - this.#upSinceMs >= STABLE_LINK_MS) this.#failures = 0;
    } else {
      this.#stats.failedAttempts++;
    }
    this.#stats.lastErrorCode = error.code;
    this.#stats.lastErrorMessage = error.message;
    const delayMs = reconnectDelayMs(this.#failures++, this.#options.reconnectBaseDelayMs, this.#options.reconnectMaxDelayMs, this.#options.random);
    this.#state = 'waiting';
    this.#retryTimer = setTimeout(() => this.#attempt(), delayMs);
    if (wasUp || !this.#downReported) {
      this.#downReported = true;
      this.#stats.stateSinceMs = now;
      this.#handlers.down(error, wasUp);
    }
  }

  #clearTimers(): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#retryTimer);
    this.#connectTimer = undefined;
    this.#retryTimer = undefined;
  }
}
