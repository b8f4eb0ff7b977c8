/**
 * Chunked request bodies that never end, and malformed chunk framing. (limits.test.ts has
 * the Content-Length slow body, slowloris and the oversized chunked body.)
 */
import t from 'tap';
import { connect } from 'node:net';
import { startTestServer } from '../support/server.js';
import { rawExchange, statusOfRaw } from './client.js';

const REQUEST_TIMEOUT_MS = 600;

/** A chunked POST that keeps sending `chunk` every `everyMs` and never sends the last chunk. */
function endlessChunks(port: number, chunk: string | undefined, everyMs: number, extra = ''): Promise<{ elapsedMs: number; response: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.write(`POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n${extra}`);
    const drip = chunk === undefined ? undefined : setInterval(() => socket.write(chunk), everyMs);
    const give = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (d) => { response += d.toString('latin1'); });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (drip) clearInterval(drip);
      clearTimeout(give);
      resolve({ elapsedMs: Date.now() - started, response });
    });
  });
}

t.test('chunked bodies that never end are cut by the request timeout; others are served meanwhile', async (t) => {
  const s = await startTestServer({ profile: { headersTimeoutMs: 300, requestTimeoutMs: REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: 200 } });
  t.teardown(() => s.close());
  const dripping = endlessChunks(s.port, '1\r\n \r\n', 50);
  const silent = endlessChunks(s.port, undefined, 0);
  const halfChunk = endlessChunks(s.port, undefined, 0, '5\r\nab');
  t.equal((await s.request('GET', '/healthz')).status, 200, 'served while three bodies hang');
  const results = await Promise.all([dripping, silent, halfChunk]);
  for (const [title, r] of [['dripping chunks', results[0]], ['silent after one chunk', results[1]], ['silent mid-chunk', results[2]]] as const) {
    t.ok(r.elapsedMs < REQUEST_TIMEOUT_MS + 2_500, `${title}: closed after ${r.elapsedMs} ms`);
    t.equal(statusOfRaw(r.response), 408, `${title}: answered 408 Request Timeout, then closed`);
  }
  t.equal((await s.request('GET', '/healthz')).status, 200, 'still serving');
});

t.test('malformed chunk framing: 400 from the parser; 413 when a declared chunk is over the body limit', async (t) => {
  const s = await startTestServer({ profile: { maxBodyBytes: 1024 } });
  t.teardown(() => s.close());
  const head = 'POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n';
  const cases: Array<[string, string, number[]]> = [
    ['chunk size not hex', `${head}zz\r\n{}\r\n0\r\n\r\n`, [400]],
    ['negative chunk size', `${head}-1\r\n{}\r\n0\r\n\r\n`, [400]],
    ['chunk size overflowing 64 bits', `${head}${'f'.repeat(20)}\r\n{}\r\n0\r\n\r\n`, [400]],
    ['huge declared chunk, few bytes sent', `${head}FFFFFFF\r\n${'x'.repeat(2000)}`, [413]],
    ['chunk longer than declared', `${head}2\r\n{}}}}\r\n0\r\n\r\n`, [400]],
    ['chunk extension junk', `${head}2;${'a'.repeat(100)}\r\n{}\r\n0\r\n\r\n`, [400]],
    ['Transfer-Encoding gzip, chunked', head.replace('chunked', 'gzip, chunked') + '2\r\n{}\r\n0\r\n\r\n', [400]],
    ['Transfer-Encoding chunked twice', head.replace('Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n') + '2\r\n{}\r\n0\r\n\r\n', [400]],
  ];
  for (const [title, bytes, allowed] of cases) {
    const status = statusOfRaw((await rawExchange(s.port, bytes, 2000)).response);
    t.ok(allowed.includes(status), `${title}: ${status} in ${allowed.join('/')}`);
  }
  t.equal((await s.request('GET', '/healthz')).status, 200, 'still serving');
  t.same(s.logs.filter((l) => l.includes('"internal_error"')), [], 'no internal error');
});
