/**
 * Host and identity headers. A foreign Host is refused (421) before anything else happens
 * — no login, no state change — and identity headers a client sends never reach the
 * upstream: a stand-in upstream records every request head it receives.
 * (limits.test.ts covers a plain foreign Host on /healthz and /session; api.test.ts CSRF.)
 */
import t from 'tap';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DEFAULT_ROLE_PERMISSIONS } from '../../src/access/permissions.js';
import { hashPasswordSync, setUserPassword } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE } from '../support/server.js';
import { sessionCookieOf, setCookieLines } from '../support/http.js';
import { assertNoSecrets, cookieValue, rawExchange, statusOfRaw } from './client.js';

const PASSWORD = 'origin test passphrase';

t.test('a foreign Host is refused with 421 before login or any state change', async (t) => {
  const s = await startTestServer({ options: { allowedHosts: ['router.lan', '127.0.0.1'] } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  const withHost = (host: string) => ({ host, origin: `http://${host}` });
  const cases: Array<[string, () => Promise<{ status: number; headers: IncomingHttpHeaders }>, number]> = [
    ['allowed name', () => s.request('GET', '/healthz', { headers: { host: 'router.lan' } }), 200],
    ['allowed name as a suffix of an attacker name', () => s.request('GET', '/healthz', { headers: { host: 'router.lan.evil.example' } }), 421],
    ['attacker name ending in the allowed one', () => s.request('GET', '/healthz', { headers: { host: 'evilrouter.lan' } }), 421],
    ['login with the right password via a rebinding name', () => s.request('POST', '/login', { headers: withHost('evil.example'), json: { username: 'admin', password: PASSWORD } }), 421],
    ['logout with cookie and CSRF via a rebinding name', () => s.request('POST', '/logout', { headers: { ...withHost('evil.example'), cookie: admin.cookie, 'x-csrf-token': admin.csrf }, json: {} }), 421],
    ['revoke-user with cookie and CSRF via a rebinding name', () => s.request('POST', '/sessions/revoke-user', { headers: { ...withHost('evil.example'), cookie: admin.cookie, 'x-csrf-token': admin.csrf }, json: { user: 'admin' } }), 421],
    ['token mint via a rebinding name', () => s.request('POST', '/token', { headers: withHost('evil.example'), json: { username: 'admin', password: PASSWORD } }), 421],
    ['forward-auth via a rebinding name', () => s.request('GET', '/auth', { headers: { host: 'evil.example', cookie: admin.cookie } }), 421],
    ['empty Host (raw: node:http would fill it in)', async () => {
      const { response } = await rawExchange(s.port, 'GET /healthz HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n');
      return { status: statusOfRaw(response), headers: /\r\nset-cookie:/i.test(response) ? { 'set-cookie': ['x'] } : {} };
    }, 421],
  ];
  for (const [title, run, status] of cases) {
    const r = await run();
    t.equal(r.status, status, title);
    if (status === 421) t.same(setCookieLines(r), [], `${title}: no cookie set`);
  }
  t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie, host: 'router.lan' } })).status, 200, 'the admin session survived every attempt');
  t.equal(s.logEvents('login').filter((e) => e['result'] === 'success').length, 1, 'no login happened through a foreign Host');
  t.equal(s.logEvents('host_refused').length, 8, 'each refusal logged');
});

t.test('identity headers a client sends never reach the upstream (HTTP and WebSocket upgrade)', async (t) => {
  const seen: Array<{ url: string; headers: IncomingHttpHeaders; upgrade: boolean }> = [];
  const upstream = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, upgrade: false });
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  upstream.on('upgrade', (req, socket) => {
    seen.push({ url: req.url ?? '', headers: req.headers, upgrade: true });
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  const upstreamUrl = new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  // The viewer may also use the UI's WebSockets (ui:write): this test is about identity headers.
  const permissions = { ...DEFAULT_ROLE_PERMISSIONS, viewer: [...DEFAULT_ROLE_PERMISSIONS.viewer, 'ui:write' as const] };
  const s = await startTestServer({ options: { upstream: upstreamUrl, permissions } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  const vicHash = hashPasswordSync(`vic ${PASSWORD}`, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 });
  await s.running.deps.users.update((db) => setUserPassword(db, 'vic', vicHash, { role: 'viewer' }));
  const viewer = sessionCookieOf(await jsonLogin(s, 'vic', `vic ${PASSWORD}`));

  const spoofed: Record<string, string> = {
    'remote-user': 'admin', 'remote-groups': 'admin', 'remote-email': 'root@example', 'remote-name': 'Admin',
    'x-remote-user': 'admin', 'x-forwarded-user': 'admin', 'x-forwarded-groups': 'admin', 'x-forwarded-email': 'root@example',
    'x-auth-request-user': 'admin', 'x-auth-request-groups': 'admin', 'x-auth-request-email': 'root@example',
    'x-forwarded-for': '10.6.6.6', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https',
    'x-ringlet-no-touch': '1',
  };
  const SPOOFED_VALUES = new Set(['admin', 'root@example', 'Admin', '10.6.6.6', 'evil.example', 'https']);

  // Anonymous: nothing is forwarded at all.
  const anonApi = await s.request('GET', '/app/data', { headers: { ...spoofed, accept: 'application/json' } });
  t.equal(anonApi.status, 401, 'anonymous API client with spoofed identity: 401');
  const anonPage = await s.request('GET', '/app/page', { headers: { ...spoofed, accept: 'text/html' } });
  t.same([anonPage.status, anonPage.headers.location], [303, '/login?next=%2Fapp%2Fpage'], 'anonymous browser: to the login page');
  t.equal(seen.length, 0, 'the upstream saw no anonymous request');

  // Signed in as a viewer, claiming to be admin.
  const r = await s.request('GET', '/app/data', { headers: { ...spoofed, cookie: `${viewer}; theme=dark`, 'remote-user': 'admin' } });
  t.equal(r.status, 200, 'the viewer reaches the upstream');
  const got = seen.at(-1)!.headers;
  t.equal(got['remote-user'], 'vic', 'Remote-User is the session user');
  t.equal(got['remote-groups'], 'viewer', 'Remote-Groups is the session role');
  t.equal(got['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the real peer (no trusted proxy configured)');
  t.equal(got['x-forwarded-host'], `127.0.0.1:${s.port}`, 'X-Forwarded-Host is the real Host');
  t.equal(got['x-forwarded-proto'], 'http', 'X-Forwarded-Proto is what ringlet serves');
  for (const name of Object.keys(spoofed)) {
    const value = got[name];
    t.ok(value === undefined || !SPOOFED_VALUES.has(String(value)), `${name} not passed through (${String(value)})`);
  }
  t.equal(got['cookie'], 'theme=dark', 'the session cookie is stripped, other cookies pass');

  // Headers named in Connection are hop-by-hop: they cannot smuggle an identity header out either.
  const hop = await s.request('GET', '/app/hop', { headers: { cookie: viewer, connection: 'keep-alive, remote-user', 'remote-user': 'admin' } });
  t.equal(hop.status, 200);
  t.equal(seen.at(-1)!.headers['remote-user'], 'vic', 'Connection-listed Remote-User: still the session user');

  // WebSocket upgrade path.
  const upgrade = (cookie: string | undefined) => new Promise<string>((resolve) => {
    const socket = connect(s.port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => { got += d.toString('latin1'); });
    socket.on('close', () => resolve(got));
    socket.on('error', () => resolve(got));
    setTimeout(() => socket.destroy(), 1500);
    const lines = ['GET /app/ws HTTP/1.1', `Host: 127.0.0.1:${s.port}`, `Origin: ${s.origin}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Remote-User: admin', 'Remote-Groups: admin', 'X-Forwarded-User: admin'];
    if (cookie) lines.push(`Cookie: ${cookie}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
  const before = seen.length;
  t.match(await upgrade(undefined), /^HTTP\/1\.1 401/, 'anonymous upgrade: 401');
  t.equal(seen.length, before, 'the upstream saw no anonymous upgrade');
  t.match(await upgrade(viewer), /^HTTP\/1\.1 101/, 'viewer upgrade reaches the upstream');
  const ws = seen.at(-1)!;
  t.ok(ws.upgrade, 'as an upgrade');
  t.equal(ws.headers['remote-user'], 'vic', 'upgrade: Remote-User is the session user');
  t.equal(ws.headers['remote-groups'], 'viewer', 'upgrade: Remote-Groups is the session role');
  t.equal(ws.headers['x-forwarded-user'], undefined, 'upgrade: spoofed X-Forwarded-User removed');
  t.notOk(String(ws.headers['cookie'] ?? '').includes(cookieValue(viewer)), 'upgrade: the session cookie is stripped');
  assertNoSecrets(t, s, [PASSWORD, cookieValue(admin.cookie), cookieValue(viewer), `vic ${PASSWORD}`]);
});
