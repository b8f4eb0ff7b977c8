/**
 * The built-in load generator: keep-alive HTTP/1.1 over raw sockets, one request in flight
 * per connection, prebuilt request bytes (one request, or one per rotated header value, sent
 * in turn). Used when `wrk` is not
 * installed, and for paced background traffic (wrk cannot pace).
 *
 * It reads just enough of each response to find its end: the status line, Content-Length
 * or a chunked body, and `Connection: close` (ringlet closes a socket after 1000 requests,
 * node's maxRequestsPerSocket), after which it reconnects. Latency is measured from the
 * write to the end of the response; when paced, a late request is sent at once and timed
 * from its send (coordinated omission is not corrected: background traffic only).
 */
import { connect, type Socket } from 'node:net';
import { LatencyHistogram } from './histogram.js';
import type { LoadResult, LoadSpec } from './types.js';

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');
/** A response head larger than this is a broken server, not a benchmark. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Pause before reconnecting after a socket error (refused, reset). */
const RETRY_AFTER_ERROR_MS = 10;
/** How long after the deadline in-flight responses may take before sockets are cut. */
const HARD_STOP_GRACE_MS = 2000;

export interface ParsedHead {
  status: number;
  headBytes: number;
  /** Body length, or -1 for a chunked body (read to the terminating chunk). */
  bodyBytes: number;
  close: boolean;
}

/** Parses a response head at the start of `buf`; undefined until the blank line has arrived. */
export function parseResponseHead(buf: Buffer): ParsedHead | undefined {
  const end = buf.indexOf(HEADER_END);
  if (end === -1) {
    if (buf.length > MAX_HEAD_BYTES) throw new Error('response head too large');
    return undefined;
  }
  const head = buf.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  if (!head.startsWith('HTTP/1.') || !Number.isInteger(status)) throw new Error('not an HTTP/1.x response');
  let bodyBytes = 0;
  let close = head.startsWith('HTTP/1.0');
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === 'content-length') bodyBytes = Number(value);
    else if (name === 'transfer-encoding' && value.includes('chunked')) bodyBytes = -1;
    else if (name === 'connection') close = value.includes('close') ? true : value.includes('keep-alive') ? false : close;
  }
  return { status, headBytes: end + HEADER_END.length, bodyBytes, close };
}

/** The request bytes sent for every iteration. */
export function buildRequest(spec: Pick<LoadSpec, 'url' | 'headers'>): Buffer {
  const url = new URL(spec.url);
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries(spec.headers)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** One request per rotated value (or the one request), sent in turn. */
export function buildRequests(spec: Pick<LoadSpec, 'url' | 'headers' | 'rotate'>): Buffer[] {
  const rotate = spec.rotate;
  if (rotate === undefined) return [buildRequest(spec)];
  return rotate.values.map((value) => buildRequest({ url: spec.url, headers: { ...spec.headers, [rotate.header]: value } }));
}

interface Totals {
  requests: number;
  non2xx: number;
  socketErrors: number;
}

/** Runs the load described by `spec` and resolves with what it measured. */
export function runBuiltinLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  if (url.protocol !== 'http:') throw new Error('the built-in generator speaks plain http only');
  const port = Number(url.port || 80);
  const host = url.hostname;
  const requests = buildRequests(spec);
  let turn = 0;
  const histogram = new LatencyHistogram();
  const totals: Totals = { requests: 0, non2xx: 0, socketErrors: 0 };
  const intervalMs = spec.ratePerSec === undefined ? 0 : (spec.connections * 1000) / spec.ratePerSec;
  const started = performance.now();
  const deadline = started + spec.durationMs;
  let open = 0;
  let done = false;
  const sockets = new Set<Socket>();

  return new Promise((resolve) => {
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(hardStop);
      const elapsedMs = performance.now() - started;
      resolve({
        tool: 'builtin',
        requests: totals.requests,
        durationMs: elapsedMs,
        requestsPerSec: (totals.requests * 1000) / elapsedMs,
        non2xx: totals.non2xx,
        socketErrors: totals.socketErrors,
        latencyP50Ms: histogram.quantileMs(0.5),
        latencyP99Ms: histogram.quantileMs(0.99),
      });
    };

    const startConnection = (index: number, nextSendAt: number) => {
      if (performance.now() >= deadline) {
        if (open === 0) finish();
        return;
      }
      open++;
      const socket: Socket = connect({ host, port, noDelay: true });
      sockets.add(socket);
      let errored = false;
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      let scheduled = nextSendAt;
      let closed = false;
      let timer: NodeJS.Timeout | undefined;

      const send = () => {
        timer = undefined;
        if (closed) return;
        if (performance.now() >= deadline) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        socket.write(requests[turn++ % requests.length] as Buffer);
      };
      const sendWhenDue = () => {
        if (intervalMs === 0) return send();
        scheduled = Math.max(scheduled + intervalMs, performance.now() - intervalMs);
        const wait = scheduled - performance.now();
        if (wait <= 0) send();
        else timer = setTimeout(send, wait);
      };
      socket.on('connect', () => {
        scheduled = performance.now() - intervalMs + (intervalMs * index) / spec.connections;
        sendWhenDue();
      });
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        for (;;) {
          let head: ParsedHead | undefined;
          try {
            head = parseResponseHead(pending);
          } catch {
            totals.socketErrors++;
            socket.destroy();
            return;
          }
          if (head === undefined) return;
          let end: number;
          if (head.bodyBytes >= 0) {
            end = head.headBytes + head.bodyBytes;
            if (pending.length < end) return;
          } else {
            const at = pending.indexOf(CHUNKED_END, head.headBytes - 2);
            if (at === -1) return;
            end = at + CHUNKED_END.length;
          }
          pending = pending.subarray(end);
          histogram.record(performance.now() - sentAt);
          totals.requests++;
          if (head.status < 200 || head.status > 299) totals.non2xx++;
          if (head.close) {
            socket.end();
            return;
          }
          sendWhenDue();
        }
      });
      socket.on('error', () => {
        totals.socketErrors++;
        errored = true;
      });
      socket.on('close', () => {
        closed = true;
        sockets.delete(socket);
        if (timer !== undefined) clearTimeout(timer);
        open--;
        // Reconnect after a server-side close (maxRequestsPerSocket) until the deadline;
        // after an error, not in a tight loop.
        if (!done && performance.now() < deadline) setTimeout(() => startConnection(index, scheduled), errored ? RETRY_AFTER_ERROR_MS : 0);
        else if (open === 0) finish();
      });
    };

    // A response that never comes must not hang the run.
    const hardStop = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
      finish();
    }, spec.durationMs + HARD_STOP_GRACE_MS);
    for (let i = 0; i < spec.connections; i++) startConnection(i, 0);
  });
}
