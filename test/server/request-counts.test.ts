import t from 'tap';
import { connect } from 'node:net';
import { RequestCounts } from '../../src/server/metrics.js';
import { startTestServer } from '../support/server.js';

t.test('unit: responses counted by route and status class; unknown routes and odd statuses land in fixed cells', async (t) => {
  const counts = new RequestCounts();
  const cases: Array<[string, number, string, string]> = [
    ['auth', 200, 'auth', '2xx'],
    ['auth', 401, 'auth', '4xx'],
    ['auth', 403, 'auth', '4xx'],
    ['login', 303, 'login', '3xx'],
    ['parser', 431, 'parser', '4xx'],
    ['healthz', 503, 'healthz', '5xx'],
    ['no-such-route', 200, 'unknown', '2xx'],
    ['auth', 101, 'auth', '1xx'],
    ['auth', 99, 'auth', '1xx'],
    ['auth', 999, 'auth', '5xx'],
  ];
  for (const [route, status] of cases) counts.record(route, status);
  const expected = new Map<string, number>();
  for (const [, , route, cls] of cases) expected.set(`${route} ${cls}`, (expected.get(`${route} ${cls}`) ?? 0) + 1);
  for (const [key, n] of expected) {
    const [route, cls] = key.split(' ') as [string, string];
    t.equal(counts.read(route, cls), n, key);
  }
  t.equal(counts.read('login', '2xx'), 0, 'untouched cells read 0');
});

t.test('over HTTP: /auth answers and parser refusals reach ringlet_http_requests_total', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  const metric = async (route: string, cls: string) => {
    const text = (await s.request('GET', '/metrics')).text;
    return Number(new RegExp(`^ringlet_http_requests_total\\{route="${route}",class="${cls}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  };
  t.equal(await metric('auth', '4xx'), 0);
  for (let i = 0; i < 3; i++) t.equal((await s.request('GET', '/auth')).status, 401);
  t.equal(await metric('auth', '4xx'), 3, 'three 401s');
  t.equal(await metric('parser', '4xx'), 0);
  await new Promise<void>((resolve, reject) => {
    const socket = connect(s.port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'));
    socket.on('error', reject);
    socket.resume();
    socket.on('close', () => resolve());
  });
  t.equal(await metric('parser', '4xx'), 1, 'a smuggling-shaped request refused by the parser is counted');
});
