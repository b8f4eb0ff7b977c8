/**
 * What the hostile suite needs beyond test/support/server.ts: many requests over a few
 * keep-alive connections (so 10 000 cases take seconds, not minutes), raw sockets, and the
 * secret-leak check every hostile test ends with.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { Test } from 'tap';
import type { TestServer } from '../support/server.js';

export interface Sent {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A few keep-alive connections to one server; `run` keeps `concurrency` requests in flight. */
export class KeepAlivePool {
  private readonly agent: Agent;

  constructor(private readonly port: number, readonly concurrency = 4) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  send(r: Sent): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...r.headers };
      if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
      const req = httpRequest({ host: '127.0.0.1', port: this.port, method: r.method ?? 'GET', path: r.path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(r.body);
    });
  }

  /** Sends `count` generated requests, `concurrency` at a time; `check` sees each answer in order of completion. */
  async run<T>(count: number, make: (index: number) => { sent: Sent; meta: T }, check: (answer: Answer, meta: T, index: number) => void): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const { sent, meta } = make(index);
        let answer: Answer;
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
  t.notOk(s.logs.some((l) => l.includes('"internal_error"')), 'no internal_error logged');
}

/** The cookie value of `name=value` as the server sent it. */
export function cookieValue(cookie: string): string {
  return cookie.slice(cookie.indexOf('=') + 1);
}
