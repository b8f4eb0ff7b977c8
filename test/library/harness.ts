/**
 * The library under test: a node:http server on 127.0.0.1:0 whose handler a test swaps, a
 * client for it, and — in the test suite only — a hand-written Connect-style chain, as
 * Express runs middleware, without Express.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import type { Middleware } from 'ringlet';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  setCookie: string[];
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: string;
  /** A urlencoded body (sets its Content-Type). */
  form?: Record<string, string>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface App {
  port: number;
  origin: string;
  /** The handler every request goes to from now on. */
  handle(handler: Handler): void;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
}

export async function startApp(t: Test): Promise<App> {
  let current: Handler = (_req, res) => res.end();
  const server = createServer((req, res) => current(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    handle: (handler) => {
      current = handler;
    },
    call: (method, path, options = {}) => new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      let body = options.body;
      if (options.form !== undefined) {
        body = new URLSearchParams(options.form).toString();
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
      }
      const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, setCookie: res.headers['set-cookie'] ?? [] }));
      });
      req.on('error', reject);
      req.end(body);
    }),
  };
}

/** Connect-style: each step gets `next`; `next(err)` answers 500 (Express's default error handler). */
export function chain(...steps: Middleware[]): Handler {
  return (req, res) => {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined) {
        res.statusCode = 500;
        res.end('error');
        return;
      }
      const step = steps[i++];
      if (step) step(req, res, next);
    };
    next();
  };
}

/** `name=value` for a Cookie header, from the reply's Set-Cookie line for `name`. */
export function cookiePair(reply: Reply, name: string): string {
  const line = reply.setCookie.find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`no ${name} cookie in the ${reply.status} reply (Set-Cookie: ${reply.setCookie.join(' | ')})`);
  return line.split(';')[0] as string;
}
