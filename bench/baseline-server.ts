/**
 * The ceiling: a bare node:http server that answers every request with an empty 200.
 * No routing, no parsing of headers beyond what node:http does, node's default limits.
 * The HTTP, memory and startup benchmarks start it with the same Node flags as ringlet.
 *
 * Run: node dist/bench/baseline-server.js --port 8081 [--host 127.0.0.1]
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
const port = Number(values.port ?? 0);

const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Length': '0' });
  res.end();
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
