/**
 * Who gets a connection. node's own `server.maxConnections` refuses the newcomer once the
 * limit is reached, so one address holding `maxConnections` idle or half-sent sockets locked
 * everyone else out (issue 13) until node's timeouts freed them — and it could reopen them as
 * fast as they closed. Instead:
 *
 *  1. A cap per client address (`maxConnectionsPerAddress`; IPv6 by /64, see
 *     `addressKey`), judged on the socket peer: connection admission happens before any
 *     header is read, so X-Forwarded-For cannot be consulted (and could be forged). A
 *     connection over the cap is closed at once; that address's other connections are not
 *     touched. Trusted proxies are exempt: every client behind them shares their address,
 *     and the proxy is where per-client connection limits belong (nginx `limit_conn`).
 *  2. At the global limit (`maxConnections`), one connection that is idle — a keep-alive
 *     connection between requests, or one that has not yet delivered complete request
 *     headers (a pending TLS handshake included) — is closed to make room: the one least
 *     recently active (admitted, or starting a request). A connection with a request in
 *     progress, or a tunnelled (upgraded) one, is never closed for a newcomer; only when
 *     every connection is such is the newcomer refused.
 *
 * node's timeouts (headers, request, keep-alive) still apply to every admitted connection.
 * Refusals and closures are counted (metrics) and logged at most once a minute per kind.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { addressKey, withoutIPv4Mapping } from '../util/address-key.js';
import type { MonotonicClock } from '../util/clock.js';
import { MINUTE_MS } from '../util/durations.js';
import { LogRateLimit, type Logger } from '../web/index.js';

/** Why a new connection was closed at once. */
export type ConnectionRefusal = 'per_address' | 'global';
export const CONNECTION_REFUSALS: readonly ConnectionRefusal[] = ['per_address', 'global'];

/** What an open connection closed for a newcomer was doing: between requests, or not yet through its first request's headers. */
export type ShedState = 'idle' | 'unfinished';
export const SHED_STATES: readonly ShedState[] = ['idle', 'unfinished'];

/** At most one `connection_refused` / `connection_shed` line per kind this often. */
export const CONNECTION_LOG_INTERVAL_MS = MINUTE_MS;

export interface ConnectionLimitsOptions {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Peers never held to the per-address cap (the trusted reverse proxies), exact addresses. */
  exemptPeers: readonly string[];
  log: Logger;
  clock: MonotonicClock;
}

export interface ConnectionStats {
  open: number;
  peakOpen: number;
  /** Addresses (keys) with at least one open connection. */
  addresses: number;
  /** Open connections that could be closed for a newcomer (between requests or before complete headers). */
  sheddable: number;
  admitted: number;
  refused: Readonly<Record<ConnectionRefusal, number>>;
  shed: Readonly<Record<ShedState, number>>;
}

interface Connection {
  /** The TCP socket (under TLS, the one the TLS socket wraps). */
  readonly socket: Socket;
  tlsSocket: TLSSocket | undefined;
  readonly key: string;
  /** TLS only: the address/port 4-tuple that finds it when its handshake completes. */
  readonly tuple: string | undefined;
  /** The response to its latest request (responses finish in order, so the earlier ones are done when it is). */
  lastResponse: ServerResponse | undefined;
  /** Requests seen on this connection. */
  requests: number;
  tunnelled: boolean;
  open: boolean;
}

/** No request yet, or the latest response has been handed to the OS in full. */
function betweenRequests(c: Connection): boolean {
  return c.lastResponse === undefined || c.lastResponse.writableFinished;
}

function tupleOf(s: Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}

export class ConnectionLimits {
  private readonly exempt: ReadonlySet<string>;
  private readonly perAddress = new Map<string, number>();
  /**
   * Open connections other than tunnels, least recently active first (activity: being
   * admitted, or starting a request). A Set iterates in insertion order, so a request moves
   * its connection to the back with one delete and one add. Whether a connection is between
   * requests is read when a newcomer needs room (`lastResponse.writableFinished`), not
   * tracked per response: a listener on every response costs the /auth hot path several µs.
   */
  private readonly byActivity = new Set<Connection>();
  /** The socket node:http hands to request listeners (TCP, or TLS over it) → its connection. */
  private readonly bySocket = new WeakMap<object, Connection>();
  /** TLS only: connections whose handshake has not finished, by address/port 4-tuple. */
  private readonly handshaking = new Map<string, Connection>();
  private readonly logGate: LogRateLimit;
  private tls = false;
  private open = 0;
  private peakOpen = 0;
  private admitted = 0;
  private readonly refused: Record<ConnectionRefusal, number> = { per_address: 0, global: 0 };
  private readonly shed: Record<ShedState, number> = { idle: 0, unfinished: 0 };

  constructor(private readonly o: ConnectionLimitsOptions) {
    this.exempt = new Set(o.exemptPeers.map(withoutIPv4Mapping));
    this.logGate = new LogRateLimit(CONNECTION_LOG_INTERVAL_MS, o.clock);
  }

  /**
   * Puts admission in front of the server's own connection handling: node:http (or the TLS
   * layer of node:https) sees only admitted sockets, so a refused one costs no parser and
   * no TLS state. Call before `listen`.
   */
  attach(server: Server, tls: boolean): void {
    this.tls = tls;
    const downstream = server.listeners('connection') as Array<(this: Server, socket: Socket) => void>;
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const listener of downstream) listener.call(server, socket);
    });
    if (tls) server.on('secureConnection', (tlsSocket: TLSSocket) => this.handshakeDone(tlsSocket));
  }

  /**
   * The server's request listener, with each request put on record before `handler` runs.
   * One listener, not a second one on 'request': node copies the listener array on every
   * emit that has more than one. ringlet registers no 'checkContinue'/'checkExpectation'
   * listener, so node hands every request to this one.
   */
  recording(handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      this.requestStarted(req.socket, res);
      handler(req, res);
    };
  }

  /**
   * A connection handed over to a tunnel (WebSocket upgrade): no longer between requests,
   * never closed for a newcomer. The upgrade listener calls this.
   */
  tunnelled(socket: object): void {
    const c = this.bySocket.get(socket);
    if (c === undefined || !c.open) return;
    c.tunnelled = true;
    this.byActivity.delete(c);
  }

  stats(): ConnectionStats {
    let sheddable = 0;
    for (const c of this.byActivity) if (betweenRequests(c)) sheddable++;
    return {
      open: this.open, peakOpen: this.peakOpen, addresses: this.perAddress.size, sheddable, admitted: this.admitted,
      refused: { ...this.refused }, shed: { ...this.shed },
    };
  }

  /** Decides on a new TCP connection; false when it was closed. */
  private admit(socket: Socket): boolean {
    const peer = socket.remoteAddress;
    if (peer === undefined) {
      // Reset by the client before we saw it: nothing to count.
      socket.destroy();
      return false;
    }
    const plainPeer = withoutIPv4Mapping(peer);
    const key = addressKey(plainPeer);
    const count = this.perAddress.get(key) ?? 0;
    if (count >= this.o.maxConnectionsPerAddress && !this.exempt.has(plainPeer)) return this.refuse(socket, 'per_address', key);
    if (this.open >= this.o.maxConnections) {
      const oldest = this.oldestBetweenRequests();
      if (oldest === undefined) return this.refuse(socket, 'global', key);
      this.shedConnection(oldest, key);
    }
    const tuple = this.tls ? tupleOf(socket) : undefined;
    const c: Connection = { socket, tlsSocket: undefined, key, tuple, lastResponse: undefined, requests: 0, tunnelled: false, open: true };
    // Read again: the connection just closed for this one may have been the same address's.
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
    this.open++;
    this.admitted++;
    if (this.open > this.peakOpen) this.peakOpen = this.open;
    this.byActivity.add(c);
    this.bySocket.set(socket, c);
    if (tuple !== undefined) this.handshaking.set(tuple, c);
    socket.once('close', () => this.release(c));
    return true;
  }

  private handshakeDone(tlsSocket: TLSSocket): void {
    const tuple = tupleOf(tlsSocket);
    const c = this.handshaking.get(tuple);
    if (c === undefined) return;
    this.handshaking.delete(tuple);
    if (!c.open) return;
    c.tlsSocket = tlsSocket;
    this.bySocket.set(tlsSocket, c);
    tlsSocket.once('close', () => this.release(c));
  }

  private requestStarted(socket: object, res: ServerResponse): void {
    const c = this.bySocket.get(socket);
    if (c === undefined || !c.open || c.tunnelled) return;
    c.lastResponse = res;
    c.requests++;
    this.byActivity.delete(c);
    this.byActivity.add(c);
  }

  /**
   * The least recently active connection that is between requests or not yet through its
   * first request's headers. Connections found mid-request move to the back (they are active
   * now), so the next search starts past them; one pass at most: O(maxConnections).
   */
  private oldestBetweenRequests(): Connection | undefined {
    let visits = this.byActivity.size;
    for (const c of this.byActivity) {
      if (visits-- <= 0) return undefined;
      if (betweenRequests(c)) return c;
      this.byActivity.delete(c);
      this.byActivity.add(c);
    }
    return undefined;
  }

  private refuse(socket: Socket, reason: ConnectionRefusal, key: string): false {
    socket.destroy();
    this.refused[reason]++;
    this.logGate.write(this.o.log.warn, 'connection_refused', `refused:${reason}`, {
      reason, address: key, open: this.open, limit: reason === 'global' ? this.o.maxConnections : this.o.maxConnectionsPerAddress,
    });
    return false;
  }

  private shedConnection(c: Connection, forKey: string): void {
    const state: ShedState = c.requests > 0 ? 'idle' : 'unfinished';
    this.release(c);
    c.tlsSocket?.destroy();
    c.socket.destroy();
    this.shed[state]++;
    this.logGate.write(this.o.log.warn, 'connection_shed', `shed:${state}`, { state, address: c.key, forAddress: forKey, open: this.open });
  }

  private release(c: Connection): void {
    if (!c.open) return;
    c.open = false;
    this.open--;
    c.lastResponse = undefined;
    this.byActivity.delete(c);
    if (c.tuple !== undefined && this.handshaking.get(c.tuple) === c) this.handshaking.delete(c.tuple);
    const count = (this.perAddress.get(c.key) ?? 1) - 1;
    if (count <= 0) this.perAddress.delete(c.key);
    else this.perAddress.set(c.key, count);
  }
}
