#!/usr/bin/env node
// Placeholder until the server lands (issue 4): proves the bin entry builds and runs.
import { createServer } from 'node:http';

const port = Number(process.env['RINGLET_PORT'] ?? 8080);
const host = process.env['RINGLET_HOST'] ?? '127.0.0.1';
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('ringlet: server not yet implemented\n');
});
server.listen(port, host, () => {
  process.stderr.write(`ringlet placeholder listening on http://${host}:${port}/\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
