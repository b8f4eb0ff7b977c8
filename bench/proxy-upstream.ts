/**
 * The upstream for the proxy benchmark: a node:http server answering `/1k` with 1 KiB and
 * `/1m` with 1 MiB (built once, sent with Content-Length), and 200 on anything else
 * (`/healthz` for the readiness check). The proxies under test all forward to it.
 *
 * Run: node dist/bench/proxy-upstream.js --port 8090 [--host 127.0.0.1]
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const BODY_BYTES: Readonly<Record<string, number>> = { '/1k': 1024, '/1m': 1024 * 1024 };

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
const port = Number(values.port ?? 0);
const bodies = new Map(Object.entries(BODY_BYTES).map(([path, bytes]) => [path, Buffer.alloc(bytes, 'x')]));

const server = createServer((req, res) => {
  const body = bodies.get(req.url ?? '') ?? Buffer.alloc(0);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
  res.end(body);
});
server.listen(port, values.host, () => {
  const address = server.address();
  process.stderr.write(`${JSON.stringify({ event: 'listening', port: typeof address === 'object' && address ? address.port : port })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
