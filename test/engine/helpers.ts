/** Helpers for the engine-client tests: waiting, recording link changes, a scripted fake engine. */
import { createServer, type Server, type Socket } from 'node:net';
import { RingletError } from '../../src/errors.js';
import { RespClient, type LinkChange, type RespClientOptions } from '../../src/engine/resp-client.js';
import { parseEngineUrl } from '../../src/engine/engine-target.js';
import { RespParser, type RespValue } from '../../src/engine/resp-parser.js';

/** Short timeouts and back-off so the tests take seconds, not minutes. */
export const FAST: Omit<RespClientOptions, 'target'> = {
  connectTimeoutMs: 500,
  commandTimeoutMs: 1_000,
  reconnectBaseDelayMs: 20,
  reconnectMaxDelayMs: 200,
  healthCheckIntervalMs: 0,
};

export function clientFor(url: string, options: Partial<RespClientOptions> = {}): RespClient {
  return new RespClient({ ...FAST, ...options, target: parseEngineUrl(url, 'url') });
}

/** Polls `predicate` every 5 ms; fails after `timeoutMs` naming `what`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The RingletError a promise rejects with (fails if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<RingletError> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 200)}`);
  } catch (err) {
    if (err instanceof RingletError) return err;
    throw err;
  }
}

/** Records every link change of a client. */
export class LinkLog {
  readonly changes: LinkChange[] = [];

  constructor(client: RespClient) {
    client.onLinkChange((change) => this.changes.push(change));
  }

  count(link: 'command' | 'subscriber', up: boolean): number {
    return this.changes.filter((c) => c.link === link && c.up === up).length;
  }

  last(link: 'command' | 'subscriber'): LinkChange | undefined {
    return this.changes.filter((c) => c.link === link).at(-1);
  }

  async waitFor(link: 'command' | 'subscriber', up: boolean, count = 1, timeoutMs = 10_000): Promise<void> {
    await until(() => this.count(link, up) >= count, `${link} link ${up ? 'up' : 'down'} ×${count}`, timeoutMs);
  }
}

/** A connection to the fake engine: the commands it received, and a way to answer. */
export interface FakeConnection {
  socket: Socket;
  commands: string[][];
  index: number;
}

/**
 * A scripted engine: parses what the client sends (commands are RESP arrays of bulk
 * strings) and hands each command to `onCommand`, which writes whatever it likes.
 */
export class FakeEngine {
  readonly connections: FakeConnection[] = [];
  readonly #server: Server;
  port = 0;

  constructor(onCommand: (conn: FakeConnection, command: string[]) => void) {
    this.#server = createServer((socket) => {
      const conn: FakeConnection = { socket, commands: [], index: this.connections.length };
      this.connections.push(conn);
      const parser = new RespParser((value: RespValue) => {
        const command = (value as string[]).map(String);
        conn.commands.push(command);
        onCommand(conn, command);
      });
      socket.on('data', (chunk) => {
        try {
          parser.feed(chunk);
        } catch {
          socket.destroy();
        }
      });
      socket.on('error', () => {});
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections the server still holds open. */
  get open(): number {
    return this.connections.filter((c) => !c.socket.destroyed).length;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

const handshakeDone = new WeakSet<FakeConnection>();

/** Answers the handshake the way Redis does (+OK to AUTH/SELECT, +PONG to its PING); false after it. */
export function answerHandshake(conn: FakeConnection, command: string[]): boolean {
  if (handshakeDone.has(conn)) return false;
  const name = command[0]?.toUpperCase();
  if (name === 'AUTH' || name === 'SELECT') {
    conn.socket.write('+OK\r\n');
  } else if (name === 'PING') {
    conn.socket.write('+PONG\r\n');
    handshakeDone.add(conn);
  } else {
    return false;
  }
  return true;
}
