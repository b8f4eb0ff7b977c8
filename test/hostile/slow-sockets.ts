/**
 * Slow connections for the connection-exhaustion tests: sockets that connect and say
 * nothing, sockets that send half a request line and headers, and sockets that send one
 * complete request and then sit on the keep-alive connection. Each binds a chosen local
 * address (Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2, 127.0.0.3, ... are distinct
 * client addresses on one machine).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export type SlowKind = 'idle' | 'partial-headers' | 'keep-alive';

export const SLOW_KINDS: readonly SlowKind[] = ['idle', 'partial-headers', 'keep-alive'];

export interface SlowSocket {
  kind: SlowKind;
  localAddress: string;
  socket: Socket;
  connected: boolean;
  /** The server closed it (refused or shed); we never close a socket before `destroyAll`. */
  closed: boolean;
  /** A keep-alive socket got its one answer. */
  answered: boolean;
}

export interface SlowSocketsOptions {
  port: number;
  /** The server's address (default 127.0.0.1). */
  host?: string;
  count: number;
  /** Source addresses, used round-robin. */
  localAddresses: readonly string[];
  /** Speak TLS (an `idle` socket then never starts its handshake). */
  tls?: boolean;
  /** Host header value of the requests (default the server address). */
  hostHeader?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SlowSockets {
  readonly sockets: SlowSocket[] = [];
  private changes = 0;

  /** Opens `count` sockets (kinds round-robin) and resolves once nothing has changed for 300 ms. */
  static async open(o: SlowSocketsOptions): Promise<SlowSockets> {
    const set = new SlowSockets();
    const host = o.host ?? '127.0.0.1';
    const hostHeader = o.hostHeader ?? (host.includes(':') ? `[${host}]` : host);
    for (let i = 0; i < o.count; i++) {
      const kind = SLOW_KINDS[i % SLOW_KINDS.length]!;
      const localAddress = o.localAddresses[i % o.localAddresses.length]!;
      set.add(kind, localAddress, host, o.port, hostHeader, o.tls === true);
    }
    await set.settle();
    return set;
  }

  private add(kind: SlowKind, localAddress: string, host: string, port: number, hostHeader: string, tls: boolean): void {
    const onReady = () => {
      entry.connected = true;
      this.changes++;
      if (kind === 'partial-headers') socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostHeader}\r\nX-Slow: `);
      if (kind === 'keep-alive') socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`);
    };
    // TLS runs over a TCP socket opened first: tls.connect has no localAddress of its own.
    const socket: Socket = tls && kind !== 'idle'
      ? tlsConnect({ socket: netConnect({ host, port, localAddress }), rejectUnauthorized: false }, onReady)
      : netConnect({ host, port, localAddress }, onReady);
    const entry: SlowSocket = { kind, localAddress, socket, connected: false, closed: false, answered: false };
    socket.on('data', () => {
      if (!entry.answered) this.changes++;
      entry.answered = true;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      entry.closed = true;
      this.changes++;
    });
    this.sockets.push(entry);
  }

  /** Every socket connected or closed, then 300 ms without any change. */
  async settle(): Promise<void> {
    const deadline = Date.now() + 10_000;
    let seen = -1;
    let stableSince = Date.now();
    while (Date.now() < deadline) {
      const allStarted = this.sockets.every((s) => s.connected || s.closed);
      if (this.changes !== seen) {
        seen = this.changes;
        stableSince = Date.now();
      } else if (allStarted && Date.now() - stableSince >= 300) return;
      await sleep(25);
    }
  }

  /** Sockets still open. */
  held(filter: (s: SlowSocket) => boolean = () => true): number {
    return this.sockets.filter((s) => !s.closed && filter(s)).length;
  }

  /** Sockets the server closed. */
  closedByServer(filter: (s: SlowSocket) => boolean = () => true): number {
    return this.sockets.filter((s) => s.closed && filter(s)).length;
  }

  destroyAll(): void {
    for (const s of this.sockets) s.socket.destroy();
  }
}
