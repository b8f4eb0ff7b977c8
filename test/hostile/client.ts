/**
 * What the hostile suite needs beyond test/support/server.ts: many requests over a few
 * keep-alive connections (so 10 000 cases take seconds, not minutes), raw sockets, and the
 * secret-leak check every hostile test ends with.
 */
import { Agent, createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { sendRequest, sessionCookieOf, type Reply } from '../support/http.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE, type SignedIn, type TestServer } from '../support/server.js';
import { setPassword } from '../../src/users/index.js';

export interface Sent {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A few keep-alive connections to one server; `run` keeps `concurrency` requests in flight. */
export class KeepAlivePool {
  private readonly agent: Agent;

  constructor(private readonly port: number, readonly concurrency = 4) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  send(r: Sent): Promise<Reply> {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
    return sendRequest(this.port, r.method ?? 'GET', r.path, { headers, body: r.body, agent: this.agent });
  }

  /** Sends `count` generated requests, `concurrency` at a time; `check` sees each answer in order of completion. */
  async run<T>(count: number, make: (index: number) => { sent: Sent; meta: T }, check: (answer: Reply, meta: T, index: number) => void): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const { sent, meta } = make(index);
        let answer: Reply;
        try {
          answer = await this.send(sent);
        } catch (err) {
          // A server that closed the socket on a keep-alive reuse race is retried once.
          if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
          answer = await this.send(sent);
        }
        check(answer, meta, index);
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, worker));
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Writes raw bytes on a fresh socket; resolves with everything received until close or `waitMs`. */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 2000): Promise<{ response: string; closed: boolean; elapsedMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closed: false, elapsedMs: Date.now() - started });
    }, waitMs);
    socket.on('data', (d) => { response += d.toString('latin1'); });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, closed: true, elapsedMs: Date.now() - started });
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

export const statusOfRaw = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

/** Counts of answers by status, for messages. */
export class StatusCounts {
  readonly byStatus = new Map<number, number>();

  add(status: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  get(status: number): number {
    return this.byStatus.get(status) ?? 0;
  }

  total(): number {
    let n = 0;
    for (const v of this.byStatus.values()) n += v;
    return n;
  }

  toString(): string {
    return JSON.stringify(Object.fromEntries([...this.byStatus].sort((a, b) => a[0] - b[0])));
  }
}

/**
 * The secrets check (issue 7, "Secrets"): no password, cookie value, token or full id the
 * test used appears in the server's log lines, its stdout after the first-start banner,
 * or any response body collected.
 */
export function assertNoSecrets(t: Test, s: TestServer, secrets: Iterable<string>, bodies: Iterable<string> = []): void {
  const logs = s.logs.join('\n');
  const bodyText = [...bodies].join('\n');
  let checked = 0;
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    checked++;
    if (logs.includes(secret)) t.fail(`a secret (${secret.slice(0, 4)}…, ${secret.length} chars) appears in the logs`);
    if (bodyText.includes(secret)) t.fail(`a secret (${secret.slice(0, 4)}…, ${secret.length} chars) appears in a response body`);
  }
  t.ok(checked > 0 && s.logs.length > 0, `no secret in ${s.logs.length} log lines or ${bodyText.length} bytes of bodies (${checked} secrets checked)`);
  t.same(s.logs.filter((l) => l.includes('"internal_error"')), [], 'no internal_error logged');
}

/** The cookie value of `name=value` as the server sent it. */
export function cookieValue(cookie: string): string {
  return cookie.slice(cookie.indexOf('=') + 1);
}

export interface FloodOptions {
  /** Parallel connections. */
  connections?: number;
  /** Requests written ahead of their answers on one connection (HTTP/1.1 pipelining). */
  depth?: number;
  /** Requests per connection before it is closed and replaced (node closes at 1000). */
  perConnection?: number;
}

/**
 * Many small requests fast: raw sockets, HTTP/1.1 pipelining, answers parsed by
 * Content-Length (every ringlet answer carries one). `make(i)` returns request i's bytes;
 * `onAnswer` gets each status, in order per connection. Rejects if a connection closes
 * early or an answer has no Content-Length.
 */
export async function pipelineFlood(port: number, count: number, make: (index: number) => string, onAnswer: (status: number, index: number, head: string) => void, o: FloodOptions = {}): Promise<void> {
  const connections = o.connections ?? 4;
  const depth = o.depth ?? 16;
  const perConnection = o.perConnection ?? 500;
  let next = 0;
  const runConnection = (indices: number[]) => new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let sent = 0;
    let received = 0;
    let pending: Buffer = Buffer.alloc(0);
    const pump = () => {
      let chunk = '';
      while (sent < indices.length && sent - received < depth) chunk += make(indices[sent++]!);
      if (chunk.length > 0) socket.write(chunk, 'latin1');
    };
    socket.on('connect', pump);
    socket.on('error', reject);
    socket.on('close', () => {
      if (received < indices.length) reject(new Error(`connection closed after ${received} of ${indices.length} answers`));
    });
    socket.on('data', (data: Buffer) => {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd === -1) break;
        const head = pending.toString('latin1', 0, headEnd);
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length === null) {
          reject(new Error(`answer without Content-Length: ${head.slice(0, 80)}`));
          socket.destroy();
          return;
        }
        const total = headEnd + 4 + Number(length[1]);
        if (pending.length < total) break;
        pending = pending.subarray(total);
        onAnswer(statusOfRaw(head), indices[received++]!, head);
      }
      if (received === indices.length) {
        socket.end();
        resolve();
      } else pump();
    });
  });
  const worker = async () => {
    while (next < count) {
      const indices: number[] = [];
      while (indices.length < perConnection && next < count) indices.push(next++);
      await runConnection(indices);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/** A raw HTTP/1.1 request's bytes. */
export function rawRequest(method: string, path: string, headers: Record<string, string>, body = ''): string {
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (body.length > 0 || method === 'POST') head += `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n`;
  return `${head}\r\n${body}`;
}

/**
 * An upstream on loopback that answers every request `ok` and keeps what `record` makes of
 * it (the proxy tests' view of what reached the admin UI); closed at the test's end.
 */
export async function startRecordingServer<T>(t: Test, record: (req: IncomingMessage) => T): Promise<{ url: URL; seen: T[] }> {
  const seen: T[] = [];
  const upstream = createServer((req, res) => {
    seen.push(record(req));
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => upstream.close());
  return { url: new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`), seen };
}

/** ringlet in `mode` in front of `upstream`, its admin signed in, and a viewer `vic` signed in (`viewer`: the Cookie pair). */
export async function proxyWithViewer(mode: 'ram' | 'cookie', upstream: URL, password: string, viewerPassword: string): Promise<{ s: TestServer; admin: SignedIn; viewer: string }> {
  const s = await startTestServer({ mode, options: { upstream } });
  const admin = await adminWithPassword(s, password);
  await s.running.deps.users.update((db) => setPassword(db, 'vic', viewerPassword, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
  const viewer = sessionCookieOf(await jsonLogin(s, 'vic', viewerPassword));
  return { s, admin, viewer };
}
