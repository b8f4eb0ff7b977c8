/**
 * The proxy benchmark's ceiling: a plain node:http reverse proxy without authentication —
 * what a few lines of node:http do with no checks at all. Every request goes to the
 * upstream through one keep-alive Agent (Node 20's default client behaviour), headers
 * copied as they are, bodies piped both ways.
 *
 * Run: node dist/bench/baseline-proxy.js --port 8081 --upstream http://127.0.0.1:8090
 */
import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, upstream: { type: 'string' } } });
const port = Number(values.port ?? 0);
const upstream = new URL(values.upstream ?? 'http://127.0.0.1:8090');
const agent = new Agent({ keepAlive: true });

const server = createServer((req, res) => {
  const upstreamReq = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (upstreamRes) => {
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
    upstreamRes.pipe(res);
  });
  upstreamReq.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Length': '0' });
    res.end();
  });
  req.pipe(upstreamReq);
});
server.listen(port, values.host, () => {
  const address = server.address();
  process.stderr.write(`${JSON.stringify({ event: 'listening', port: typeof address === 'object' && address ? address.port : port })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    agent.destroy();
  });
}
