/**
 * The node:http(s) server with every limit of the profile applied, and the answers to
 * requests that never reach a route (malformed, oversized, smuggling shapes, slow clients).
 */
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { ConnectionLimits } from './connection-limits.js';

export interface HttpLimits {
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Called for requests the parser refused; `reason` is llhttp's code, never request bytes. */
export type ClientErrorLogger = (status: number, reason: string) => void;

/**
 * How often node:http checks for expired header/request timeouts. Node's default (30 s)
 * would let a slowloris client hold a connection for 30 s past a 10 s headers timeout.
 */
function checkingIntervalMs(limits: HttpLimits): number {
  return Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
}

function statusForParserError(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

function rawErrorResponse(status: number): string {
  const body = JSON.stringify({ error: status === 431 ? 'request_header_fields_too_large' : status === 408 ? 'request_timeout' : 'bad_request', message: STATUS_CODES[status] ?? 'Error' });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export function createLimitedServer(handler: RequestHandler, limits: HttpLimits, tls: TlsFiles | undefined, onClientError: ClientErrorLogger, connections: ConnectionLimits): Server {
  const options = {
    maxHeaderSize: limits.maxHeaderBytes,
    // Strict parsing: CL+TE, duplicate Content-Length, obs-fold and bare CR are refused (400).
    insecureHTTPParser: false,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(limits),
    requireHostHeader: true,
  };
  // A TLS handshake must finish within the headers timeout too (node's default is 120 s):
  // the headers cannot arrive before it.
  const listener = connections.recording(handler);
  const server: Server = tls
    ? (createHttpsServer({ ...options, handshakeTimeout: limits.headersTimeoutMs, cert: tls.cert, key: tls.key }, listener) as unknown as Server)
    : createHttpServer(options, listener);
  // Not node's `server.maxConnections`: it refuses the newcomer, so whoever holds the
  // connections first keeps everyone else out. ConnectionLimits decides instead.
  connections.attach(server, tls !== undefined);
  // Requests per keep-alive connection are bounded so one client cannot pin a socket forever.
  server.maxRequestsPerSocket = 1000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const status = statusForParserError(err.code);
    if (err.code !== 'ECONNRESET' && socket.writable) {
      onClientError(status, err.code ?? 'unknown');
      socket.end(rawErrorResponse(status));
    }
    socket.destroy();
  });
  return server;
}

/**
 * Stop accepting, let in-flight requests finish within `graceMs`, then cut what remains.
 * Resolves once the server is closed.
 */
export function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
