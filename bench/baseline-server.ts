/**
 * The ceiling: a bare node:http server that answers every request with an empty 200.
 * No routing, no parsing of headers beyond what node:http does, node's default limits.
 * The HTTP, memory and startup benchmarks start it with the same Node flags as ringlet.
 *
 * Run: node dist/bench/baseline-server.js --port 8081 [--host 127.0.0.1]
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { CHILD_SERVER_OPTIONS, serveChild } from './child-server.js';

const { values } = parseArgs({ options: CHILD_SERVER_OPTIONS });

const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Length': '0' });
  res.end();
});
serveChild(server, values);
