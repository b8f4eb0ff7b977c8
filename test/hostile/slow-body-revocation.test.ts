/**
 * The gate decides on the session before it reads a body (so an unauthorised caller never
 * makes ringlet read one), and a body may take up to `requestTimeoutMs` to arrive. Someone
 * holding a stolen cookie can keep a `POST /token` open with half its body sent, as
 * insurance: when the owner signs out everywhere (or an admin does it for them), the rest of
 * the body goes out and the route would mint a bearer token from the session the gate
 * approved a while ago — a new credential, issued after the revocation, which the
 * revocation does not cover. A session that ended while its request's body was arriving
 * must get nothing from that request.
 */
import t from 'tap';
import { connect } from 'node:net';
import { setPassword } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';
import { assertNoSecrets, cookieValue } from './client.js';

const PASSWORD = 'slow body admin passphrase';
const VIEWER_PASSWORD = `viewer ${PASSWORD}`;

/** Sends the head and the first part of a JSON body; `finish()` sends the rest and resolves with the raw answer. */
function halfSent(s: TestServer, path: string, headers: Record<string, string>, body: string): { finish(): Promise<string> } {
  const socket = connect(s.port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const head = [`POST ${path} HTTP/1.1`, `Host: 127.0.0.1:${s.port}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  const cut = Math.floor(body.length / 2);
  socket.write(`${head}\r\n\r\n${body.slice(0, cut)}`);
  return {
    async finish() {
      // Give the gate its turn on the head before the rest arrives.
      socket.write(body.slice(cut));
      await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
      socket.destroy();
      return answer;
    },
  };
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: a session revoked while its request's body arrives gets nothing from it`, async (t) => {
    const s = await startTestServer({ mode, profile: { requestTimeoutMs: 10_000 } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    await s.running.deps.users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
    const secrets = [PASSWORD, VIEWER_PASSWORD, cookieValue(admin.cookie)];

    // The thief's cookie is the victim's own session.
    const victim = await jsonLogin(s, 'vic', VIEWER_PASSWORD);
    const stolen = sessionCookieOf(victim);
    secrets.push(cookieValue(stolen));
    const proof = { cookie: stolen, 'X-CSRF-Token': victim.json.csrfToken as string, Origin: s.origin };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    // 1. POST /token held open; the owner signs out everywhere.
    const mint = halfSent(s, '/token', proof, JSON.stringify({ scope: 'ui:read sessions:own' }));
    await sleep(50);
    const everywhere = await s.request('POST', '/sessions/revoke-user', { headers: { cookie: stolen, 'x-csrf-token': victim.json.csrfToken, origin: s.origin }, json: {} });
    t.equal(everywhere.status, 200, 'signed out everywhere');
    const minted = await mint.finish();
    const token = /"access_token":"([^"]+)"/.exec(minted)?.[1];
    if (token !== undefined) secrets.push(token);
    t.not(statusOf(minted), 200, `POST /token completed after the revocation: no token (${statusOf(minted)})`);
    if (token !== undefined) {
      t.equal((await s.request('GET', '/session', { headers: { authorization: `Bearer ${token}` } })).status, 401, 'and the token it minted does not work');
    }

    // 2. The same with a plain logout of that one session by an admin (RAM: by its ref).
    const again = await jsonLogin(s, 'vic', VIEWER_PASSWORD);
    const stolen2 = sessionCookieOf(again);
    secrets.push(cookieValue(stolen2));
    const mint2 = halfSent(s, '/token', { cookie: stolen2, 'X-CSRF-Token': again.json.csrfToken as string, Origin: s.origin }, JSON.stringify({}));
    await sleep(50);
    const logout = await s.request('POST', '/logout', { headers: { cookie: stolen2, 'x-csrf-token': again.json.csrfToken, origin: s.origin }, json: {} });
    t.equal(logout.status, 200, 'the owner signs out');
    const minted2 = await mint2.finish();
    const token2 = /"access_token":"([^"]+)"/.exec(minted2)?.[1];
    if (token2 !== undefined) secrets.push(token2);
    t.not(statusOf(minted2), 200, `POST /token completed after the logout: no token (${statusOf(minted2)})`);

    // 3. A removal while the body of a session-list change arrives: refused too.
    const third = await jsonLogin(s, 'vic', VIEWER_PASSWORD);
    const stolen3 = sessionCookieOf(third);
    secrets.push(cookieValue(stolen3));
    const late = halfSent(s, '/sessions/revoke-user', { cookie: stolen3, 'X-CSRF-Token': third.json.csrfToken as string, Origin: s.origin }, JSON.stringify({}));
    await sleep(50);
    await s.running.deps.users.update((db) => db.remove('vic'));
    t.equal(statusOf(await late.finish()), 401, 'a request of a removed user whose body came after the removal: 401');

    t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'the admin is untouched');
    assertNoSecrets(t, s, secrets);
  });
}

/**
 * The same insurance against the device UI itself: a write (a form that adds a user,
 * changes the Wi-Fi key) sent through the reverse proxy with half its body, finished after
 * the session was signed out everywhere. The upstream acts once the body is whole, so the
 * request must not reach it whole: it is cut when its session ends.
 */
t.test('reverse proxy: a write whose body is still arriving when its session ends never reaches the upstream whole', async (t) => {
  const { createServer } = await import('node:http');
  const whole: string[] = [];
  const upstream = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      whole.push(`${req.method} ${req.url} ${String(req.headers['remote-user'])} ${body}`);
      if (req.url === '/slow') setTimeout(() => res.end('done'), 300);
      else res.end('done');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => upstream.close());
  const url = new URL(`http://127.0.0.1:${(upstream.address() as import('node:net').AddressInfo).port}`);
  for (const mode of ['ram', 'cookie'] as const) {
    const s = await startTestServer({ mode, options: { upstream: url }, profile: { requestTimeoutMs: 10_000 } });
    const admin = await adminWithPassword(s, PASSWORD);
    const login = await jsonLogin(s, 'admin', PASSWORD);
    const stolen = sessionCookieOf(login);
    const write = halfSent(s, '/admin/users', { cookie: stolen, Origin: s.origin }, JSON.stringify({ add: 'mallory', role: 'admin' }));
    await new Promise((r) => setTimeout(r, 50));
    const everywhere = await s.request('POST', '/sessions/revoke-user', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { user: 'admin' } });
    t.equal(everywhere.status, 200, `${mode}: the admin's sessions are ended everywhere`);
    const answer = await write.finish();
    t.not(statusOf(answer), 200, `${mode}: the write is not answered by the upstream (${statusOf(answer)})`);
    await new Promise((r) => setTimeout(r, 100));
    t.same(whole.filter((w) => w.includes('mallory')), [], `${mode}: the upstream never got the whole write`);
    // Pipelined behind a slow request: whole, but still waiting for its turn when the
    // session ends. It was admitted before; it must not go out after.
    const piped = await jsonLogin(s, 'admin', PASSWORD);
    const pipedCookie = sessionCookieOf(piped);
    const { connect: connectRaw } = await import('node:net');
    const raw = connectRaw(s.port, '127.0.0.1');
    let rawAnswer = '';
    raw.on('data', (d: Buffer) => { rawAnswer += d.toString('latin1'); });
    raw.on('error', () => undefined);
    const payload = JSON.stringify({ add: 'trudy', role: 'admin' });
    raw.write(`GET /slow HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nCookie: ${pipedCookie}\r\n\r\n`
      + `POST /admin/users HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nCookie: ${pipedCookie}\r\nOrigin: ${s.origin}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload}`);
    await new Promise((r) => setTimeout(r, 100));
    const fresh0 = await jsonLogin(s, 'admin', PASSWORD);
    const ended = await s.request('POST', '/sessions/revoke-user', { headers: { cookie: sessionCookieOf(fresh0), 'x-csrf-token': fresh0.json.csrfToken, origin: s.origin }, json: { user: 'admin' } });
    t.equal(ended.status, 200, `${mode}: signed out everywhere while the pipelined write waits`);
    await new Promise<void>((resolve) => { raw.on('close', () => resolve()); setTimeout(resolve, 3000); });
    raw.destroy();
    t.same(whole.filter((w) => w.includes('trudy')), [], `${mode}: the pipelined write never reached the upstream`);
    t.match(rawAnswer, /HTTP\/1\.1 401/, `${mode}: it was answered 401`);

    // An ordinary write of a live session still goes through.
    const fresh = await jsonLogin(s, 'admin', PASSWORD);
    const ok = await s.request('POST', '/admin/users', { headers: { cookie: sessionCookieOf(fresh), origin: s.origin }, json: { add: 'bob' } });
    t.equal(ok.status, 200, `${mode}: a live session's write reaches the upstream`);
    assertNoSecrets(t, s, [PASSWORD, cookieValue(stolen), cookieValue(admin.cookie)]);
    await s.close();
  }
});
