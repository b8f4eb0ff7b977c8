/**
 * The library under test: a node:http server on 127.0.0.1:0 whose handler a test swaps, a
 * client for it, and — in the test suite only — a hand-written Connect-style chain, as
 * Express runs middleware, without Express.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import type { Middleware } from 'ringlet';
import { sendRequest, type Reply, type RequestOptions } from '../support/http.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface App {
  port: number;
  origin: string;
  /** The handler every request goes to from now on. */
  handle(handler: Handler): void;
  /** A request to the app (test/support/http.ts). */
  call(method: string, path: string, options?: RequestOptions): Promise<Reply>;
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
    call: (method, path, options = {}) => sendRequest(port, method, path, options),
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
