/**
 * The route-policy table, cell by cell: every declared route and method against every kind
 * of caller, checked over HTTP against an expectations table written here by hand — not
 * derived from src/server/route-policy.ts, so a wrong declaration there fails this test.
 */
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { PERMISSIONS, tokenMayCarry, type Permission } from '../../src/access/permissions.js';
import type { Role } from '../../src/access/roles.js';
import { ROUTE_TABLE, type PolicyMethod } from '../../src/server/route-policy.js';
import { hashPasswordSync } from '../../src/users/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type Reply } from '../support/http.js';

/** Callers: nobody, cookie sessions of each role, a full admin token, and one admin token per permission a token may carry. */
const TOKEN_PERMISSIONS = PERMISSIONS.filter(tokenMayCarry);
type Caller = 'anonymous' | 'viewer' | 'admin' | 'token' | `token:${Permission}`;
const CALLERS: Caller[] = ['anonymous', 'viewer', 'admin', 'token', ...TOKEN_PERMISSIONS.map((p) => `token:${p}` as const)];

/**
 * Who reaches each route's handler. Written independently of the policy table. `tokens:X`
 * means the admin token narrowed to X (and the full admin token, which holds every
 * permission a token may carry, unless `noFullToken`).
 */
interface Expectation {
  /** METHOD and path as the test calls it; the route name ties it to the table. */
  route: string;
  method: PolicyMethod;
  call: { method: string; path: string; body?: 'empty' | 'login' | 'password' | 'revoke-ref' | 'revoke-token' };
  allowed: Caller[];
}

const EVERY_TOKEN: Caller[] = ['token', ...TOKEN_PERMISSIONS.map((p) => `token:${p}` as const)];

const EXPECTATIONS: Expectation[] = [
  { route: 'login', method: 'GET', call: { method: 'GET', path: '/login' }, allowed: CALLERS },
  { route: 'login', method: 'POST', call: { method: 'POST', path: '/login', body: 'login' }, allowed: CALLERS },
  { route: 'logout', method: 'POST', call: { method: 'POST', path: '/logout', body: 'empty' }, allowed: CALLERS },
  { route: 'session', method: 'GET', call: { method: 'GET', path: '/session' }, allowed: ['viewer', 'admin', ...EVERY_TOKEN] },
  { route: 'password', method: 'GET', call: { method: 'GET', path: '/password' }, allowed: ['viewer', 'admin'] },
  { route: 'password', method: 'POST', call: { method: 'POST', path: '/password', body: 'password' }, allowed: ['viewer', 'admin'] },
  { route: 'auth', method: 'GET', call: { method: 'GET', path: '/auth' }, allowed: ['viewer', 'admin', 'token', 'token:ui:read'] },
  // Anonymous reaches the handler, which wants credentials in the body (401 invalid_client).
  { route: 'token', method: 'POST', call: { method: 'POST', path: '/token', body: 'empty' }, allowed: ['anonymous', 'viewer', 'admin'] },
  { route: 'sessions', method: 'GET', call: { method: 'GET', path: '/sessions' }, allowed: ['viewer', 'admin', 'token', 'token:sessions:own'] },
  { route: 'sessions_revoke', method: 'POST', call: { method: 'POST', path: '/sessions/revoke', body: 'revoke-ref' }, allowed: ['viewer', 'admin', 'token', 'token:sessions:own'] },
  { route: 'sessions_revoke_user', method: 'POST', call: { method: 'POST', path: '/sessions/revoke-user', body: 'empty' }, allowed: ['viewer', 'admin', 'token', 'token:sessions:own'] },
  { route: 'tokens_revoke', method: 'POST', call: { method: 'POST', path: '/tokens/revoke', body: 'revoke-token' }, allowed: ['admin', 'token', 'token:sessions:write'] },
  // Users admin: admins only (a viewer never sees the page), tokens within users:read / users:write.
  // Empty bodies: the handler refuses them (400), so no cell changes the users file.
  { route: 'users', method: 'GET', call: { method: 'GET', path: '/users' }, allowed: ['admin', 'token', 'token:users:read'] },
  { route: 'users_add', method: 'POST', call: { method: 'POST', path: '/users/add', body: 'empty' }, allowed: ['admin', 'token', 'token:users:write'] },
  { route: 'users_role', method: 'POST', call: { method: 'POST', path: '/users/role', body: 'empty' }, allowed: ['admin', 'token', 'token:users:write'] },
  { route: 'users_reset', method: 'POST', call: { method: 'POST', path: '/users/reset', body: 'empty' }, allowed: ['admin', 'token', 'token:users:write'] },
  { route: 'users_remove', method: 'POST', call: { method: 'POST', path: '/users/remove', body: 'empty' }, allowed: ['admin', 'token', 'token:users:write'] },
  { route: 'metrics', method: 'GET', call: { method: 'GET', path: '/metrics' }, allowed: ['viewer', 'admin', 'token', 'token:metrics:read'] },
  { route: 'healthz', method: 'GET', call: { method: 'GET', path: '/healthz' }, allowed: CALLERS },
  { route: 'home', method: 'GET', call: { method: 'GET', path: '/' }, allowed: ['viewer', 'admin', ...EVERY_TOKEN] },
  { route: 'upstream', method: 'GET', call: { method: 'GET', path: '/ui/status' }, allowed: ['viewer', 'admin', 'token', 'token:ui:read'] },
  { route: 'upstream', method: 'OTHER', call: { method: 'POST', path: '/ui/reboot', body: 'empty' }, allowed: ['admin', 'token', 'token:ui:write'] },
  { route: 'upstream', method: 'OTHER', call: { method: 'DELETE', path: '/ui/user/3' }, allowed: ['admin', 'token', 'token:ui:write'] },
];

/** Reachable while the user still has to change a generated password. */
const BEFORE_PASSWORD_CHANGE = new Set(['GET /login', 'POST /login', 'POST /logout', 'GET /session', 'GET /password', 'POST /password', 'GET /metrics', 'GET /healthz']);

/** What the gate says when it refuses; a handler's own 4xx never reads like this. */
const GATE_REFUSAL = /sign in required|permission required|role required|password change required|not permitted|cross-origin request refused|CSRF token/;

function refusedByGate(r: Reply): boolean {
  return (r.status === 401 || r.status === 403) && GATE_REFUSAL.test(r.text);
}

interface Credentials {
  headers: Record<string, string>;
  /** Cookie callers send their CSRF token and a same-origin Origin on state changes. */
  csrf: Record<string, string>;
}

async function upstreamStandIn(t: Test): Promise<{ url: string; seen: Array<{ method: string; user: string | undefined }> }> {
  const seen: Array<{ method: string; user: string | undefined }> = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', user: req.headers['remote-user'] as string | undefined });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('upstream answered');
    });
  });
  const tunnels = new Set<Socket>();
  server.on('upgrade', (req, socket: Socket) => {
    seen.push({ method: 'UPGRADE', user: req.headers['remote-user'] as string | undefined });
    tunnels.add(socket);
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of tunnels) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A WebSocket handshake over a raw socket; resolves with the status line's code (0 when closed unanswered). */
function upgrade(s: TestServer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(s.port, '127.0.0.1');
    let text = '';
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    const lines = ['GET /ui/live HTTP/1.1', `Host: 127.0.0.1:${s.port}`, 'Connection: Upgrade', 'Upgrade: websocket',
      'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** Who may open a WebSocket tunnel to the upstream (written by hand, like EXPECTATIONS). */
const UPGRADE_ALLOWED: Caller[] = ['admin', 'token', 'token:ui:write'];

function addUser(s: TestServer, name: string, role: Role, mustChangePassword = false): Promise<void> {
  const hash = hashPasswordSync('a long enough password', { logN: 10, r: 8, p: 1 });
  // One locked change applied to the users file as it is now.
  return s.running.deps.users.update((db) => db.upsert({ name, role, hash, mustChangePassword })).then(() => undefined);
}

function cookieCredentials(s: TestServer, user: string, role: Role): Credentials {
  const issued = s.running.deps.sessions.issue(user, role, '192.0.2.10');
  const cookie = `${s.running.deps.cookies.session}=${issued.cookieValue}`;
  return { headers: { cookie }, csrf: { 'x-csrf-token': issued.session.csrfToken ?? '', origin: s.origin } };
}

function tokenCredentials(s: TestServer, scope: readonly string[]): Credentials {
  const issued = s.running.deps.sessions.issueToken('admin', 'admin', scope);
  return { headers: { authorization: `Bearer ${issued.token}` }, csrf: {} };
}

/** Fresh credentials for every cell: some calls end the session or token they use. */
function credentialsFor(s: TestServer, caller: Caller): Credentials {
  if (caller === 'anonymous') return { headers: {}, csrf: {} };
  if (caller === 'viewer') return cookieCredentials(s, 'viewer', 'viewer');
  if (caller === 'admin') return cookieCredentials(s, 'admin', 'admin');
  if (caller === 'token') return tokenCredentials(s, TOKEN_PERMISSIONS);
  return tokenCredentials(s, [caller.slice('token:'.length)]);
}

function bodyOf(kind: Expectation['call']['body']): unknown {
  switch (kind) {
    case 'login': return { username: 'nobody', password: 'not a real password' };
    case 'password': return { currentPassword: 'wrong current password', newPassword: 'a brand new passphrase' };
    case 'revoke-ref': return { ref: 'no-such-ref' };
    case 'revoke-token': return { jti: 'some-jti', user: 'viewer' };
    default: return {};
  }
}

/** Every request comes "from" 192.0.2.10 through the trusted loopback proxy, so /metrics is not open by address. */
const REMOTE = { 'x-forwarded-for': '192.0.2.10' };

function call(s: TestServer, e: Expectation, creds: Credentials, extra: Record<string, string> = {}): Promise<Reply> {
  const headers = { ...REMOTE, ...creds.headers, ...(e.call.method === 'GET' ? {} : creds.csrf), ...extra };
  return s.request(e.call.method, e.call.path, e.call.body === undefined ? { headers } : { headers, json: bodyOf(e.call.body) });
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: every route against every caller`, async (t) => {
    const up = await upstreamStandIn(t);
    const proxied = await startTestServer({ mode, options: { upstream: new URL(up.url), trustedProxies: ['127.0.0.1'] } });
    const plain = await startTestServer({ mode, options: { trustedProxies: ['127.0.0.1'] } });
    t.teardown(() => Promise.all([proxied.close(), plain.close()]));
    for (const s of [proxied, plain]) {
      await addUser(s, 'admin', 'admin');
      await addUser(s, 'viewer', 'viewer');
    }
    for (const e of EXPECTATIONS) {
      const s = e.route === 'home' ? plain : proxied;
      for (const caller of CALLERS) {
        const seenBefore = up.seen.length;
        const r = await call(s, e, credentialsFor(s, caller));
        const allowed = e.allowed.includes(caller);
        const cell = `${e.call.method} ${e.call.path} as ${caller}`;
        if (allowed) {
          t.notOk(refusedByGate(r), `${cell}: reaches the handler (${r.status} ${r.text.slice(0, 80)})`);
        } else {
          t.equal(r.status, caller === 'anonymous' ? 401 : 403, `${cell}: refused (${r.text.slice(0, 80)})`);
          t.ok(refusedByGate(r), `${cell}: by the gate`);
        }
        if (e.route === 'upstream') {
          t.equal(up.seen.length - seenBefore, allowed ? 1 : 0, `${cell}: the upstream saw ${allowed ? 'it once' : 'nothing'}`);
        }
      }
    }
    for (const caller of CALLERS) {
      const creds = credentialsFor(proxied, caller);
      const seenBefore = up.seen.length;
      const status = await upgrade(proxied, { ...REMOTE, ...creds.headers, ...(creds.csrf['origin'] ? { origin: proxied.origin } : {}) });
      const allowed = UPGRADE_ALLOWED.includes(caller);
      t.equal(status, allowed ? 101 : caller === 'anonymous' ? 401 : 403, `WebSocket upgrade as ${caller}: ${allowed ? 'tunnelled' : 'refused'}`);
      t.equal(up.seen.length - seenBefore, allowed ? 1 : 0, `WebSocket upgrade as ${caller}: the upstream saw ${allowed ? 'it once' : 'nothing'}`);
    }
    // Loopback clients (after the trusted-proxy rules) read /metrics without a credential.
    const loopback = await proxied.request('GET', '/metrics', { headers: { 'x-forwarded-for': '127.0.0.1' } });
    t.equal(loopback.status, 200, '/metrics from a loopback client, no credential');
    const spoofed = await proxied.request('GET', '/metrics', { headers: { 'x-forwarded-for': '127.0.0.1, 192.0.2.10' } });
    t.equal(spoofed.status, 401, '/metrics: a remote client that prepends 127.0.0.1 is still remote');
  });

  t.test(`${mode} mode: a forced password change leaves only what the table allows`, async (t) => {
    const up = await upstreamStandIn(t);
    const proxied = await startTestServer({ mode, options: { upstream: new URL(up.url), trustedProxies: ['127.0.0.1'] } });
    const plain = await startTestServer({ mode, options: { trustedProxies: ['127.0.0.1'] } });
    t.teardown(() => Promise.all([proxied.close(), plain.close()]));
    for (const s of [proxied, plain]) await addUser(s, 'fresh', 'admin', true);
    for (const e of EXPECTATIONS) {
      const s = e.route === 'home' ? plain : proxied;
      const r = await call(s, e, cookieCredentials(s, 'fresh', 'admin'));
      const key = `${e.call.method} ${e.call.path}`;
      if (BEFORE_PASSWORD_CHANGE.has(key) || e.route === 'login' || e.route === 'healthz') {
        t.notOk(/password change required/.test(r.text), `${key}: reachable before the change`);
      } else {
        t.same([r.status, /password change required/.test(r.text)], [403, true], `${key}: password change required`);
      }
    }
    const page = await proxied.request('GET', '/ui/status', { headers: { ...cookieCredentials(proxied, 'fresh', 'admin').headers, accept: 'text/html' } });
    t.same([page.status, page.headers.location], [303, '/password?next=%2Fui%2Fstatus'], 'a browser is sent to the change form, keeping the page it asked for');
  });

  t.test(`${mode} mode: cookie-authenticated state changes need the CSRF proof the table declares`, async (t) => {
    const up = await upstreamStandIn(t);
    const s = await startTestServer({ mode, options: { upstream: new URL(up.url) } });
    t.teardown(() => s.close());
    await addUser(s, 'admin', 'admin');
    const changes = EXPECTATIONS.filter((e) => e.call.method !== 'GET' && e.route !== 'login');
    for (const e of changes) {
      const creds = cookieCredentials(s, 'admin', 'admin');
      const key = `${e.call.method} ${e.call.path}`;
      const crossSite = await call(s, e, { headers: creds.headers, csrf: { 'x-csrf-token': creds.csrf['x-csrf-token'] ?? '', origin: 'http://evil.example' } });
      t.same([crossSite.status, /cross-origin/.test(crossSite.text)], [403, true], `${key}: foreign Origin refused`);
      const noOrigin = await call(s, e, { headers: creds.headers, csrf: { 'x-csrf-token': creds.csrf['x-csrf-token'] ?? '' } });
      t.equal(noOrigin.status, 403, `${key}: neither Origin nor Sec-Fetch-Site refused`);
      const noToken = await call(s, e, { headers: creds.headers, csrf: { origin: s.origin } });
      if (e.route === 'upstream') t.notOk(refusedByGate(noToken), `${key}: the upstream's pages need the same origin only`);
      else t.same([noToken.status, /CSRF token/.test(noToken.text)], [403, true], `${key}: same origin without the token refused`);
    }
    const ws = cookieCredentials(s, 'admin', 'admin').headers;
    t.equal(await upgrade(s, { ...ws, origin: 'http://evil.example' }), 403, 'WebSocket upgrade: a foreign Origin is refused (cross-site WebSocket hijacking)');
    t.equal(await upgrade(s, ws), 403, 'WebSocket upgrade: a cookie handshake without Origin is refused');
    t.equal(await upgrade(s, { ...ws, origin: s.origin }), 101, 'WebSocket upgrade: same origin is tunnelled');
    const seenUsers = up.seen.map((r) => r.user);
    t.same(seenUsers.filter((u) => u !== 'admin'), [], 'the upstream only saw admitted requests');
  });
}

t.test('the expectations cover every declared route and method', async (t) => {
  const declared = ROUTE_TABLE.flatMap((r) => Object.keys(r.methods).map((m) => `${r.name} ${m}`));
  // UPGRADE is covered by UPGRADE_ALLOWED, over raw sockets.
  const covered = new Set([...EXPECTATIONS.map((e) => `${e.route} ${e.method}`), 'upstream UPGRADE']);
  t.same(declared.filter((k) => !covered.has(k)), [], 'no route or method without expectations');
  t.same([...covered].filter((k) => !declared.includes(k)), [], 'no expectation for an undeclared route');
});
