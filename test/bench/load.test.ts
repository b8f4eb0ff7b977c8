import t from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findWrk, parseWrkDuration, parseWrkOutput, rotationScript, wrkArgs } from '../../bench/load/wrk.js';
import { runLoad } from '../../bench/load/run.js';
import { LatencyHistogram } from '../../bench/load/histogram.js';
import { buildRequest, buildRequests, parseResponseHead, runBuiltinLoad } from '../../bench/load/generator.js';

const WRK_REPORT = `Running 5s test @ http://127.0.0.1:40001/auth
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.85ms    3.11ms  49.92ms   96.02%
    Req/Sec    11.65k     1.06k   12.92k    80.00%
  Latency Distribution
     50%    2.58ms
     75%    2.71ms
     90%    3.00ms
     99%   29.13ms
  57983 requests in 5.00s, 4.37MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 1, read 2, write 0, timeout 3
Requests/sec:  11596.60
Transfer/sec:    895.71KB
`;

t.test('wrk durations', async (t) => {
  const cases: Array<[string, number]> = [['553.06us', 0.55306], ['2.58ms', 2.58], ['1.50s', 1500], ['2m', 120_000]];
  for (const [text, ms] of cases) t.ok(Math.abs(parseWrkDuration(text) - ms) < 1e-9, text);
  t.throws(() => parseWrkDuration('12parsecs'), /unreadable duration/);
});

t.test('wrk report', async (t) => {
  t.same(parseWrkOutput(WRK_REPORT), {
    requests: 57983, durationMs: 5000, requestsPerSec: 11596.6, non2xx: 12, socketErrors: 6, latencyP50Ms: 2.58, latencyP99Ms: 29.13,
  });
  const clean = WRK_REPORT.replace(/ {2}Non-2xx.*\n/, '').replace(/ {2}Socket errors.*\n/, '');
  t.match(parseWrkOutput(clean), { non2xx: 0, socketErrors: 0 });
  t.throws(() => parseWrkOutput(WRK_REPORT.replace(/Latency Distribution[\s\S]*?99%.*\n/, '')), /not understood/, 'no --latency block is an error');
  t.throws(() => parseWrkOutput(''), /not understood/);
});

t.test('wrk arguments', async (t) => {
  t.same(wrkArgs({ url: 'http://127.0.0.1:1/auth', headers: { Cookie: 'a=b' }, connections: 8, durationMs: 4400 }),
    ['-t1', '-c8', '-d4s', '--latency', '-H', 'Cookie: a=b', 'http://127.0.0.1:1/auth']);
  t.throws(() => wrkArgs({ url: 'http://x/', headers: {}, connections: 1, durationMs: 1000, ratePerSec: 10 }), /cannot pace/);
  const rotating = { url: 'http://127.0.0.1:1/auth', headers: {}, connections: 2, durationMs: 1000, rotate: { header: 'Cookie', values: ['a=1', 'a=2'] } };
  t.same(wrkArgs(rotating, '/tmp/r.lua'), ['-t1', '-c2', '-d1s', '--latency', '-s', '/tmp/r.lua', 'http://127.0.0.1:1/auth']);
  t.throws(() => wrkArgs(rotating), /needs its Lua script/);
});

t.test('wrk rotation script', async (t) => {
  const script = rotationScript({ header: 'Authorization', values: ['Bearer a.b.c', 'Bearer "q"\\'] });
  t.match(script, /^local values = \{\n  "Bearer a\.b\.c",\n  "Bearer \\"q\\"\\\\",\n\}/, 'values as escaped string literals, in order');
  t.match(script, /wrk\.headers\["Authorization"\] = values\[turn\]/);
  t.match(script, /turn = turn % #values \+ 1/, 'cycles through all values');
  t.throws(() => rotationScript({ header: 'Cookie', values: [] }), /non-empty printable/);
  t.throws(() => rotationScript({ header: 'Cookie', values: ['a\nb'] }), /non-empty printable/, 'no control characters');
  t.throws(() => rotationScript({ header: 'Cookie', values: ['é'] }), /non-empty printable/);
});

t.test('latency histogram quantiles', async (t) => {
  const h = new LatencyHistogram();
  t.ok(Number.isNaN(h.quantileMs(0.5)), 'empty → NaN');
  for (let i = 1; i <= 100; i++) h.record(i * 0.1); // 0.1 .. 10 ms
  t.equal(h.count, 100);
  t.ok(Math.abs(h.quantileMs(0.5) - 5.01) < 0.011, `p50 ${h.quantileMs(0.5)}`);
  t.ok(Math.abs(h.quantileMs(0.99) - 9.91) < 0.011, `p99 ${h.quantileMs(0.99)}`);
  h.record(250.5);
  t.equal(h.quantileMs(1), 251, 'coarse buckets above 100 ms, upper edge');
  h.record(1e9);
  t.equal(h.quantileMs(1), Infinity, 'overflow bucket');
});

t.test('response heads', async (t) => {
  const cases: Array<[string, ReturnType<typeof parseResponseHead>]> = [
    ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', { status: 200, headBytes: 38, bodyBytes: 0, close: false }],
    ['HTTP/1.1 401 Unauthorized\r\ncontent-length: 12\r\nConnection: close\r\n\r\n{"x":1}', { status: 401, headBytes: 68, bodyBytes: 12, close: true }],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', { status: 200, headBytes: 47, bodyBytes: -1, close: false }],
    ['HTTP/1.0 200 OK\r\n\r\n', { status: 200, headBytes: 19, bodyBytes: 0, close: true }],
    ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n', { status: 200, headBytes: 43, bodyBytes: 0, close: false }],
    ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n', undefined],
  ];
  for (const [raw, want] of cases) t.same(parseResponseHead(Buffer.from(raw, 'latin1')), want, JSON.stringify(raw));
  t.throws(() => parseResponseHead(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), /not an HTTP/);
  t.equal(buildRequest({ url: 'http://127.0.0.1:9/auth?role=admin', headers: { Cookie: 'ringlet=x' } }).toString(),
    'GET /auth?role=admin HTTP/1.1\r\nHost: 127.0.0.1:9\r\nCookie: ringlet=x\r\n\r\n');
  t.same(buildRequests({ url: 'http://h/a', headers: { Accept: '*/*' }, rotate: { header: 'Cookie', values: ['c=1', 'c=2'] } }).map(String), [
    'GET /a HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nCookie: c=1\r\n\r\n',
    'GET /a HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nCookie: c=2\r\n\r\n',
  ]);
  t.equal(buildRequests({ url: 'http://h/a', headers: {} }).length, 1);
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

t.test('built-in generator against a real server', async (t) => {
  let seen = 0;
  let withCookie = 0;
  const server = createServer((req, res) => {
    seen++;
    if (req.headers.cookie === 'ringlet=abc') withCookie++;
    // Every 5th request answers 401 and every 7th closes the connection, chunked sometimes.
    if (seen % 5 === 0) res.writeHead(401, { 'Content-Length': '2' }).end('no');
    else if (seen % 7 === 0) res.writeHead(200, { Connection: 'close', 'Content-Length': '0' }).end();
    else if (seen % 3 === 0) { res.writeHead(200); res.write('chunk'); res.end(); }
    else res.writeHead(200, { 'Content-Length': '0' }).end();
  });
  server.maxRequestsPerSocket = 50;
  const port = await listen(server);
  t.teardown(() => server.close());
  const result = await runBuiltinLoad({ url: `http://127.0.0.1:${port}/auth`, headers: { Cookie: 'ringlet=abc' }, connections: 4, durationMs: 400 });
  t.equal(result.tool, 'builtin');
  t.ok(result.requests > 100, `requests ${result.requests}`);
  t.equal(result.requests, seen, 'every request answered was counted once');
  t.equal(withCookie, seen, 'headers are sent');
  t.ok(Math.abs(result.non2xx - Math.floor(seen / 5)) <= 4, `non-2xx ${result.non2xx} of ${seen}`);
  t.equal(result.socketErrors, 0);
  t.ok(result.latencyP50Ms > 0 && result.latencyP99Ms >= result.latencyP50Ms);

  const paced = await runBuiltinLoad({ url: `http://127.0.0.1:${port}/`, headers: {}, connections: 2, durationMs: 500, ratePerSec: 100 });
  t.ok(paced.requests >= 35 && paced.requests <= 60, `paced at 100/s for 0.5 s: ${paced.requests}`);
});

t.test('rotation: every tool sends the values in turn', async (t) => {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    const cookie = req.headers.cookie ?? '';
    seen.set(cookie, (seen.get(cookie) ?? 0) + 1);
    res.writeHead(200, { 'Content-Length': '0' }).end();
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  const values = ['s=1', 's=2', 's=3'];
  const tools = findWrk() === undefined ? ['builtin'] as const : ['builtin', 'wrk'] as const;
  for (const tool of tools) {
    seen.clear();
    const result = await runLoad({ url: `http://127.0.0.1:${port}/`, headers: {}, connections: 2, durationMs: tool === 'wrk' ? 1000 : 300, rotate: { header: 'Cookie', values } }, { tool });
    t.ok(result.requests > 30, `${tool}: ${result.requests} requests`);
    t.same([...seen.keys()].sort(), values, `${tool}: only the rotated values were sent`);
    const counts = [...seen.values()];
    t.ok(Math.max(...counts) - Math.min(...counts) <= 2 + 2, `${tool}: in turn (${counts.join(', ')})`);
  }
});

t.test('built-in generator: a refused port is socket errors, not a hang', async (t) => {
  const server = createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  const result = await runBuiltinLoad({ url: `http://127.0.0.1:${port}/`, headers: {}, connections: 2, durationMs: 200 });
  t.equal(result.requests, 0);
  t.ok(result.socketErrors > 0);
});
