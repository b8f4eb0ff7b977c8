/**
 * The upstream for the proxy benchmark: a node:http server answering `/1k` with 1 KiB and
 * `/1m` with 1 MiB (built once, sent with Content-Length), and 200 on anything else
 * (`/healthz` for the readiness check). The proxies under test all forward to it.
 *
 * Run: node dist/bench/proxy-upstream.js --port 8090 [--host 127.0.0.1]
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { CHILD_SERVER_OPTIONS, serveChild } from './child-server.js';

const BODY_BYTES: Readonly<Record<string, number>> = { '/1k': 1024, '/1m': 1024 * 1024 };

const { values } = parseArgs({ options: CHILD_SERVER_OPTIONS });
const bodies = new Map(Object.entries(BODY_BYTES).map(([path, bytes]) => [path, Buffer.alloc(bytes, 'x')]));

const server = createServer((req, res) => {
  const body = bodies.get(req.url ?? '') ?? Buffer.alloc(0);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
  res.end(body);
});
serveChild(server, values);
