/**
 * /metrics is open to loopback scrapers. Behind a proxy on the same machine every request
 * arrives from loopback, so the client is the one the trusted proxy names: a recipe that
 * routes /metrics to ringlet must not open it to the whole network.
 */
import t from 'tap';
import { adminWithPassword, startTestServer } from '../support/server.js';

t.test('through a trusted proxy, /metrics is open only to a loopback client', async (t) => {
  const s = await startTestServer({ options: { trustedProxies: ['127.0.0.1'] } });
  t.teardown(() => s.close());
  await adminWithPassword(s);
  const token = (await s.request('POST', '/token', { json: { username: 'admin', password: 'correct horse battery', scope: 'metrics:read' } })).json.access_token as string;
  const cases: Array<[string, Record<string, string>, number]> = [
    ['the trusted proxy itself, naming no client (no X-Forwarded-For)', {}, 401],
    ['forwarded for a loopback client', { 'x-forwarded-for': '127.0.0.1' }, 200],
    ['forwarded for a LAN client', { 'x-forwarded-for': '192.168.1.20' }, 401],
    ['forwarded for a LAN client that claims loopback further left', { 'x-forwarded-for': '127.0.0.1, 192.168.1.20' }, 401],
    ['forwarded for a LAN client with a metrics:read token', { 'x-forwarded-for': '192.168.1.20', authorization: `Bearer ${token}` }, 200],
  ];
  for (const [title, headers, status] of cases) t.equal((await s.request('GET', '/metrics', { headers })).status, status, title);
});

t.test('from an untrusted peer, X-Forwarded-For changes nothing', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  t.equal((await s.request('GET', '/metrics', { headers: { 'x-forwarded-for': '192.168.1.20' } })).status, 200, 'the loopback peer is the client');
});
