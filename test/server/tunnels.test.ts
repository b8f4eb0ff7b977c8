/**
 * WebSocket tunnels end with their session: logout, revocation (one session, all of a user,
 * a bearer token), password change at once (SessionManager.onEnd); expiry, LRU eviction and
 * a user deleted, re-roled or forced to change password at the next sweep. Bounded per
 * session and in total. Both session modes where the mode matters.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Test } from 'tap';
import { DEFAULT_ROLE_PERMISSIONS } from '../../src/access/permissions.js';
import { ManualClock } from '../support/clock.js';
import { setPassword } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE, type TestServer, type TestServerOptions } from '../support/server.js';
import { cookiePair, sendRequest, sessionCookieOf } from '../support/http.js';
import { hasOpenssl, NO_OPENSSL, selfSignedCertificate } from '../support/tls.js';

const PASSWORD = 'tunnel test passphrase';

const VIEWER_PASSWORD = `viewer ${PASSWORD}`;

interface WsUpstream {
  server: Server;
  url: URL;
  /** Upstream-side tunnel sockets still open. */
  open: Set<Socket>;
  handshakes: number;
}

async function wsUpstream(t: Test): Promise<WsUpstream> {
  const open = new Set<Socket>();
  const up: WsUpstream = { server: undefined as never, url: undefined as never, open, handshakes: 0 };
  const server = createServer((_req, res) => res.end('ok'));
  server.on('upgrade', (_req, socket: Socket) => {
    up.handshakes++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    // ringlet's FIN (or reset) is what the upstream sees of a closed tunnel; node:http keeps the socket half-open until we end ours.
    socket.on('end', () => {
      open.delete(socket);
      socket.end();
    });
    socket.on('error', () => socket.destroy());
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.server = server;
  up.url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.teardown(() => {
    for (const s of open) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return up;
}

interface OpenTunnel {
  socket: Socket;
  status: number;
  closed: () => boolean;
  waitClose: (ms?: number) => Promise<boolean>;
  echo: (text: string) => Promise<boolean>;
}

function openTunnel(s: TestServer, credential: { cookie?: string; bearer?: string }, path = '/ws'): Promise<OpenTunnel> {
  return new Promise((resolve) => {
    const socket = connect(s.port, '127.0.0.1');
    let text = '';
    let closed = false;
    const closedP = new Promise<void>((r) => socket.on('close', () => {
      closed = true;
      r();
    }));
    socket.on('error', () => undefined);
    const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${s.port}`, `Origin: ${s.origin}`, 'Connection: Upgrade', 'Upgrade: websocket',
      'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
    if (credential.cookie) lines.push(`Cookie: ${credential.cookie}`);
    if (credential.bearer) lines.push(`Authorization: Bearer ${credential.bearer}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    const done = (): void => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({
        socket,
        status,
        closed: () => closed,
        waitClose: async (ms = 1500) => {
          await Promise.race([closedP, new Promise((r) => setTimeout(r, ms))]);
          return closed;
        },
        echo: async (payload) => {
          if (closed) return false;
          const before = text.length;
          socket.write(payload);
          const until = Date.now() + 1000;
          while (!text.slice(before).includes(`echo:${payload}`) && !closed && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
          return text.slice(before).includes(`echo:${payload}`);
        },
      });
    };
    socket.on('data', (d: Buffer) => {
      const first = text.length === 0;
      text += d.toString('latin1');
      if (first) setTimeout(done, 20);
    });
    socket.on('close', () => {
      if (text.length === 0) done();
    });
  });
}

async function viewerSetup(s: TestServer): Promise<{ admin: { cookie: string; csrf: string }; viewer: () => Promise<{ cookie: string; csrf: string }> }> {
  const admin = await adminWithPassword(s, PASSWORD);
  await s.running.deps.users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
  const viewer = async () => {
    const login = await jsonLogin(s, 'vic', VIEWER_PASSWORD);
    return { cookie: sessionCookieOf(login), csrf: login.json.csrfToken as string };
  };
  return { admin, viewer };
}

/** Viewers here may use the UI's WebSockets (ui:write), so the tests are about tunnels, not permissions. */
const PERMISSIONS = { ...DEFAULT_ROLE_PERMISSIONS, viewer: [...DEFAULT_ROLE_PERMISSIONS.viewer, 'ui:write' as const] };

async function server(t: Test, up: WsUpstream, o: TestServerOptions = {}): Promise<TestServer> {
  const s = await startTestServer({ ...o, options: { upstream: up.url, permissions: PERMISSIONS, ...o.options }, profile: { tunnelSweepIntervalMs: 100, ...o.profile } });
  t.teardown(() => s.close());
  return s;
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: a tunnel closes at once when its session is ended`, async (t) => {
    const up = await wsUpstream(t);
    // No sweep during the test: only the session manager's announcement can close the tunnel.
    const s = await server(t, up, { mode, profile: { tunnelSweepIntervalMs: 600_000 } });
    const { admin, viewer } = await viewerSetup(s);
    const cases: Array<[string, (v: { cookie: string; csrf: string }) => Promise<number>]> = [
      ['logout', (v) => s.request('POST', '/logout', { headers: { cookie: v.cookie, 'x-csrf-token': v.csrf, origin: s.origin }, json: {} }).then((r) => r.status)],
      ['an admin ends all of the user\'s sessions', () => s.request('POST', '/sessions/revoke-user', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { user: 'vic' } }).then((r) => r.status)],
      ['the user signs out everywhere', (v) => s.request('POST', '/sessions/revoke-user', { headers: { cookie: v.cookie, 'x-csrf-token': v.csrf, origin: s.origin }, json: {} }).then((r) => r.status)],
      ['the user changes the password', (v) => s.request('POST', '/password', {
        headers: { cookie: v.cookie, 'x-csrf-token': v.csrf, origin: s.origin },
        json: { currentPassword: VIEWER_PASSWORD, newPassword: VIEWER_PASSWORD.split('').reverse().join('') },
      }).then(async (r) => {
        // Back to the old password for the next case.
        const fresh = sessionCookieOf(r);
        await s.running.deps.users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
        return fresh.length > 0 ? r.status : 0;
      })],
    ];
    if (mode === 'ram') {
      cases.push(['an admin ends that one session', async () => {
        const list = await s.request('GET', '/sessions', { headers: { cookie: admin.cookie, accept: 'application/json' } });
        const row = (list.json.sessions as Array<{ ref: string; user: string }>).find((r) => r.user === 'vic');
        return (await s.request('POST', '/sessions/revoke', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { ref: row?.ref } })).status;
      }]);
    }
    for (const [title, end] of cases) {
      const v = await viewer();
      const tunnel = await openTunnel(s, { cookie: v.cookie });
      const bystander = await openTunnel(s, { cookie: admin.cookie });
      t.equal(tunnel.status, 101, `${title}: tunnel open`);
      t.ok(await tunnel.echo('hello'), `${title}: tunnel carries data`);
      const upstreamOpen = up.open.size;
      t.equal(await end(v), 200, `${title}: done`);
      t.ok(await tunnel.waitClose(1000), `${title}: the tunnel closed at once`);
      await new Promise((r) => setTimeout(r, 50));
      t.equal(up.open.size, upstreamOpen - 1, `${title}: its upstream side closed too`);
      t.ok(await bystander.echo('still'), `${title}: another user's tunnel is untouched`);
      bystander.socket.destroy();
    }
    t.match((await s.request('GET', '/metrics')).text, /ringlet_tunnels_closed_total\{reason="session_ended"\} [1-9]/, 'counted');
  });
}

t.test('a tunnel opened with a bearer token closes when the token is revoked', async (t) => {
  const up = await wsUpstream(t);
  const s = await server(t, up, { profile: { tunnelSweepIntervalMs: 600_000 } });
  const { admin } = await viewerSetup(s);
  const minted = await s.request('POST', '/token', { json: { username: 'vic', password: VIEWER_PASSWORD } });
  t.equal(minted.status, 200);
  const token = minted.json.access_token as string;
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti: string };
  const tunnel = await openTunnel(s, { bearer: token });
  t.equal(tunnel.status, 101, 'a bearer handshake needs no Origin check, and passes');
  const revoked = await s.request('POST', '/tokens/revoke', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { jti: claims.jti, user: 'vic' } });
  t.equal(revoked.status, 200);
  t.ok(await tunnel.waitClose(1000), 'closed at once');
  t.equal((await openTunnel(s, { bearer: token })).status, 401, 'the revoked token opens no new tunnel');
});

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: expiry closes a tunnel at the next sweep, and a tunnel is not activity`, async (t) => {
    const mono = new ManualClock(1_000);
    const wall = new ManualClock(Date.now());
    const up = await wsUpstream(t);
    const s = await server(t, up, { mode, monotonic: mono, wall, profile: { idleTimeoutMs: 60_000, absoluteTimeoutMs: 600_000 } });
    const { viewer } = await viewerSetup(s);
    const v = await viewer();
    const tunnel = await openTunnel(s, { cookie: v.cookie });
    t.equal(tunnel.status, 101);
    mono.advance(20_000);
    wall.advance(20_000);
    await new Promise((r) => setTimeout(r, 350));
    t.ok(await tunnel.echo('alive'), 'alive while the session is (three sweeps later)');
    mono.advance(45_000);
    wall.advance(45_000);
    t.ok(await tunnel.waitClose(1000), 'closed once the session idled out, although the tunnel was open all along');
    t.equal((await s.request('GET', '/app', { headers: { cookie: v.cookie, accept: 'application/json' } })).status, 401, 'the session is indeed gone');
  });
}

t.test('LRU eviction closes the evicted session\'s tunnel at the next sweep', async (t) => {
  const up = await wsUpstream(t);
  const s = await server(t, up, { profile: { capacity: 3, maxSessionsPerUser: 3 } });
  const { admin, viewer } = await viewerSetup(s);
  const v = await viewer();
  const tunnel = await openTunnel(s, { cookie: v.cookie });
  t.equal(tunnel.status, 101);
  // The admin's session and two more logins fill the store; the viewer's is the least recently used.
  await s.request('GET', '/session', { headers: { cookie: admin.cookie } });
  for (let i = 0; i < 2; i++) await jsonLogin(s, 'admin', PASSWORD);
  t.equal((await s.request('GET', '/session', { headers: { cookie: v.cookie } })).status, 401, 'the viewer was evicted');
  t.ok(await tunnel.waitClose(1000), 'its tunnel closed');
  t.match((await s.request('GET', '/metrics')).text, /ringlet_tunnels_closed_total\{reason="session_invalid"\} 1/);
});

t.test('a user deleted, re-roled or forced to change password loses their tunnels at the next sweep', async (t) => {
  const up = await wsUpstream(t);
  const s = await server(t, up);
  const { viewer } = await viewerSetup(s);
  const users = s.running.deps.users;
  const restore = () => users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
  const changes: Array<[string, () => Promise<unknown>]> = [
    ['deleted', () => users.update((db) => db.remove('vic'))],
    ['re-roled', () => users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'admin' }))],
    ['forced to change password', () => users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer', mustChangePassword: true }))],
  ];
  for (const [title, change] of changes) {
    await restore();
    const v = await viewer();
    const tunnel = await openTunnel(s, { cookie: v.cookie });
    t.equal(tunnel.status, 101, `${title}: open`);
    await new Promise((r) => setTimeout(r, 250));
    t.notOk(tunnel.closed(), `${title}: the sweep leaves a valid tunnel alone`);
    await change();
    t.ok(await tunnel.waitClose(1000), `${title}: closed`);
  }
});

t.test('tunnels are bounded per session (its oldest goes) and in total (503, nobody else\'s closed)', async (t) => {
  const up = await wsUpstream(t);
  const s = await server(t, up, { profile: { maxTunnels: 3, maxTunnelsPerSession: 2 } });
  const { admin, viewer } = await viewerSetup(s);
  const v = await viewer();
  const first = await openTunnel(s, { cookie: v.cookie });
  const second = await openTunnel(s, { cookie: v.cookie });
  const third = await openTunnel(s, { cookie: v.cookie });
  t.same([first.status, second.status, third.status], [101, 101, 101]);
  t.ok(await first.waitClose(1000), 'the session\'s oldest tunnel made room');
  t.ok(await second.echo('2') && await third.echo('3'), 'the newer two carry data');
  const adminOne = await openTunnel(s, { cookie: admin.cookie });
  t.equal(adminOne.status, 101, 'the third tunnel in total');
  const adminTwo = await openTunnel(s, { cookie: admin.cookie });
  t.equal(adminTwo.status, 503, 'the fourth in total is refused');
  t.ok(await second.echo('x') && await third.echo('y') && await adminOne.echo('z'), 'no open tunnel was closed for it');
  const metrics = (await s.request('GET', '/metrics')).text;
  t.match(metrics, /ringlet_tunnels_active 3/);
  t.match(metrics, /ringlet_tunnels_refused_total 1/);
  t.match(metrics, /ringlet_tunnels_closed_total\{reason="session_cap"\} 1/);
  for (const x of [second, third, adminOne]) x.socket.destroy();
});

t.test('maxTunnels 0 turns WebSockets off; shutdown closes open tunnels', async (t) => {
  const up = await wsUpstream(t);
  const off = await server(t, up, { profile: { maxTunnels: 0 } });
  const { admin } = await viewerSetup(off);
  t.equal((await openTunnel(off, { cookie: admin.cookie })).status, 503, 'no tunnels at all');
  const up2 = await wsUpstream(t);
  const s = await startTestServer({ options: { upstream: up2.url } });
  const admin2 = await adminWithPassword(s, PASSWORD);
  const tunnel = await openTunnel(s, { cookie: admin2.cookie });
  t.equal(tunnel.status, 101);
  await s.close();
  t.ok(await tunnel.waitClose(1000), 'closed at shutdown');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(up2.open.size, 0, 'upstream side closed too');
});

t.test('over HTTPS: refusals and tunnels on a TLS socket', { skip: hasOpenssl() ? false : NO_OPENSSL }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-tls-ws-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tls = selfSignedCertificate(dir, 'router.lan', 'DNS:router.lan,IP:127.0.0.1');
  const up = await wsUpstream(t);
  const s = await startTestServer({ dir, options: { upstream: up.url, tlsCertPath: tls.cert, tlsKeyPath: tls.key } });
  t.teardown(() => s.close());
  const login = cookiePair(await sendRequest(s.port, 'POST', '/login', { tls: true, json: { username: 'admin', password: s.firstPassword } }), '__Host-ringlet');
  // The generated first password must still be changed: a handshake gets 403 until then.
  const handshake = (origin: string) => new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: s.port, rejectUnauthorized: false });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n') && !text.includes('echo:')) socket.write('tls');
      if (text.includes('echo:tls')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nOrigin: ${origin}\r\nCookie: ${login}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    setTimeout(() => socket.destroy(), 2000);
  });
  t.match(await handshake(`https://127.0.0.1:${s.port}`), /^HTTP\/1\.1 403 [^]*password change required/, 'forced password change: 403 over TLS, then closed');
  await s.running.deps.users.update((db) => setPassword(db, 'admin', PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'admin' }));
  t.match(await handshake(`http://127.0.0.1:${s.port}`), /^HTTP\/1\.1 403 /, 'an http:// Origin is another origin than https://');
  t.match(await handshake(`https://127.0.0.1:${s.port}`), /^HTTP\/1\.1 101 [^]*echo:tls/, 'the tunnel works over TLS');
});
