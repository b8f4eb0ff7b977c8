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
import { CHILD_SERVER_OPTIONS, serveChild } from './child-server.js';

const { values } = parseArgs({ options: { ...CHILD_SERVER_OPTIONS, upstream: { type: 'string' } } });
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
serveChild(server, values, () => agent.destroy());
