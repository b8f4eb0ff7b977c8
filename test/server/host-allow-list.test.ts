/**
 * `--allowed-host` adds names to what is served; IP literals and `localhost` stay served,
 * because a DNS-rebinding page always arrives with its own DNS name as Host, never with an
 * address. (Before, a single --allowed-host silently turned 127.0.0.1 away: /healthz and
 * /metrics on loopback answered 421.)
 */
import t from 'tap';
import { startTestServer } from '../support/server.js';

t.test('an allow-list adds names; IP literals and localhost stay served', async (t) => {
  const s = await startTestServer({ options: { allowedHosts: ['router.lan', 'admin.example:8443'] } });
  t.teardown(() => s.close());
  const cases: Array<[string, number]> = [
    [`127.0.0.1:${s.port}`, 200],
    ['127.0.0.1', 200],
    [`[::1]:${s.port}`, 200],
    [`localhost:${s.port}`, 200],
    ['LOCALHOST', 200],
    ['192.168.1.1', 200],
    ['router.lan', 200],
    [`Router.LAN:${s.port}`, 200],
    ['admin.example:8443', 200],
    ['admin.example:8444', 421],
    ['admin.example', 421],
    ['evil.example', 421],
    ['router.lan.evil.example', 421],
    ['localhost.evil.example', 421],
    ['127.0.0.1.evil.example', 421],
  ];
  for (const [host, status] of cases) {
    t.equal((await s.request('GET', '/healthz', { headers: { host } })).status, status, `Host: ${host}`);
  }
  t.equal((await s.request('GET', '/metrics', { headers: { host: `127.0.0.1:${s.port}` } })).status, 200, 'a loopback scrape still works');
});

t.test('without an allow-list: IP literals and localhost only', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  for (const [host, status] of [['127.0.0.1', 200], ['localhost', 200], ['router.lan', 421]] as const) {
    t.equal((await s.request('GET', '/healthz', { headers: { host } })).status, status, `Host: ${host}`);
  }
});
