/**
 * A deliberately lenient upstream for the desync harness: it parses HTTP/1.1 itself, the way
 * weak embedded servers and CGI gateways do, and records every request it parses. If ringlet
 * ever lets bytes through that it did not frame itself, this upstream turns them into extra
 * requests, and the harness sees them.
 *
 * Its quirks (each one a real-world behaviour that makes smuggling work):
 * - header names compare case-insensitively with `_` and `-` alike (CGI maps both to `_`);
 * - any Transfer-Encoding value that contains "chunked" means chunked, and wins over
 *   Content-Length;
 * - a body on GET or HEAD is ignored whatever Content-Length says (the bytes become the next
 *   request);
 * - the first Content-Length counts, duplicates are ignored;
 * - keep-alive always, pipelining served in order.
 *
 * Paths that change its answer: `/ws/101` answers an upgrade with `101 websocket` and then
 * records raw tunnel bytes; `/ws/200` answers 200 and keeps parsing requests on the same
 * connection; `/ws/101-h2c` answers `101` with `Upgrade: h2c`; `/double` sends two responses;
 * `/garbage` sends a response followed by bytes that are no response (`/glued`: in the same
 * write); `/later` sends a second
 * response 100 ms after the first, while the connection sits idle; `/slow` answers after
 * 100 ms (the harness counts how many requests it has in flight at once, over all
 * connections); `/switch` answers `101` to a request that asked for no upgrade.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  /** Connection number (1, 2, ...), in accept order. */
  connection: number;
  method: string;
  target: string;
  /** Header name (lowercased, `_` as `-`) → every value, in order. */
  headers: Map<string, string[]>;
  body: string;
}

export interface TunnelBytes {
  connection: number;
  data: string;
}

export interface RecordingUpstream {
  port: number;
  url: URL;
  requests: Recorded[];
  tunnelData: TunnelBytes[];
  /** Connections accepted so far, and those still open. */
  connections(): { accepted: number; open: number };
  /** Numbers of the connections that were closed, in order. */
  closed: number[];
  /** Most requests in flight at once (answered later than they were parsed: `/slow`). */
  maxInFlight(): number;
  /** Resolves once `n` requests have been recorded (or after `timeoutMs`). */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/_/g, '-');
}

export function header(r: Recorded, name: string): string | undefined {
  return r.headers.get(name)?.[0];
}

const HEAD_END = Buffer.from('\r\n\r\n');

function respond(socket: Socket, body: string, extra = ''): void {
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: Recorded[] = [];
  const tunnelData: TunnelBytes[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let accepted = 0;
  const open = new Set<Socket>();
  const closed: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const record = (r: Recorded): void => {
    requests.push(r);
    for (const w of [...waiters]) {
      if (requests.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const server: Server = createServer((socket) => {
    const connection = ++accepted;
    open.add(socket);
    socket.on('close', () => {
      open.delete(socket);
      closed.push(connection);
    });
    socket.on('error', () => socket.destroy());
    let buffer = Buffer.alloc(0);
    let tunnel = false;

    const parseOne = (): boolean => {
      const headEnd = buffer.indexOf(HEAD_END);
      if (headEnd === -1) return false;
      const lines = buffer.toString('latin1', 0, headEnd).split(/\r?\n/);
      const [method = '', target = ''] = (lines[0] ?? '').split(' ');
      const headers = new Map<string, string[]>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = normaliseName(line.slice(0, colon));
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      let offset = headEnd + 4;
      let body = '';
      const te = (headers.get('transfer-encoding') ?? []).join(',').toLowerCase();
      const bodiless = method === 'GET' || method === 'HEAD';
      if (!bodiless && te.includes('chunked')) {
        let chunks = '';
        for (;;) {
          const lineEnd = buffer.indexOf('\r\n', offset);
          if (lineEnd === -1) return false;
          const size = parseInt(buffer.toString('latin1', offset, lineEnd), 16);
          if (Number.isNaN(size)) {
            socket.destroy();
            return false;
          }
          if (size === 0) {
            const end = buffer.indexOf('\r\n\r\n', lineEnd);
            if (end === -1) return false;
            offset = end + 4;
            break;
          }
          if (buffer.length < lineEnd + 2 + size + 2) return false;
          chunks += buffer.toString('latin1', lineEnd + 2, lineEnd + 2 + size);
          offset = lineEnd + 2 + size + 2;
        }
        body = chunks;
      } else if (!bodiless && headers.has('content-length')) {
        const length = parseInt(headers.get('content-length')?.[0] ?? '0', 10) || 0;
        if (buffer.length < offset + length) return false;
        body = buffer.toString('latin1', offset, offset + length);
        offset += length;
      }
      buffer = buffer.subarray(offset);
      const r: Recorded = { connection, method, target, headers, body };
      record(r);
      const info = JSON.stringify({ user: header(r, 'remote-user') ?? null, target });
      const upgrade = (headers.get('upgrade')?.[0] ?? '').toLowerCase();
      const path = target.split('?')[0] ?? '';
      if (upgrade !== '' && target.startsWith('/ws/101')) {
        const token = target === '/ws/101-h2c' ? 'h2c' : 'websocket';
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${token}\r\nConnection: Upgrade\r\nSet-Cookie: ringlet=forged-by-upstream; Path=/\r\nSet-Cookie: ui-ws=1; Path=/\r\n\r\n`);
        tunnel = true;
        if (buffer.length > 0) tunnelData.push({ connection, data: buffer.toString('latin1') });
        buffer = Buffer.alloc(0);
        return false;
      }
      if (path === '/double') {
        respond(socket, info);
        respond(socket, JSON.stringify({ user: 'admin', target: '/smuggled-response' }));
      } else if (path === '/garbage') {
        respond(socket, info);
        socket.write('THIS IS NOT HTTP\r\n\r\n');
      } else if (path === '/glued') {
        // The answer and the bytes that are no answer in one write: one read for ringlet.
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(info)}\r\n\r\n${info}THIS IS NOT HTTP\r\n\r\n`);
      } else if (path === '/slow') {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          if (!socket.destroyed) respond(socket, info);
        }, 100);
      } else if (path === '/switch') {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      } else if (path === '/later') {
        respond(socket, info);
        setTimeout(() => {
          if (!socket.destroyed) respond(socket, JSON.stringify({ user: 'admin', target: '/late-response' }));
        }, 100);
      } else {
        respond(socket, info);
      }
      return true;
    };

    socket.on('data', (d: Buffer) => {
      if (tunnel) {
        tunnelData.push({ connection, data: d.toString('latin1') });
        socket.write(Buffer.concat([Buffer.from('echo:'), d]));
        return;
      }
      buffer = Buffer.concat([buffer, d]);
      while (!tunnel && parseOne());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: new URL(`http://127.0.0.1:${port}`),
    requests,
    tunnelData,
    connections: () => ({ accepted, open: open.size }),
    closed,
    maxInFlight: () => maxInFlight,
    waitForRequests: (n, timeoutMs = 2000) => new Promise<void>((resolve) => {
      if (requests.length >= n) return resolve();
      const w = { n, resolve };
      waiters.push(w);
      setTimeout(() => {
        const i = waiters.indexOf(w);
        if (i !== -1) waiters.splice(i, 1);
        resolve();
      }, timeoutMs);
    }),
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    }),
  };
}
