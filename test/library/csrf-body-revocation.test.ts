/**
 * `requireCsrf()` reads a form body itself (the `csrf` field) after it resolved the session,
 * and a body may take a long time to arrive. A service route behind it — mint an API key,
 * change a setting — must not run for a session that was logged out, or whose user was
 * signed out everywhere, while its request's body was arriving: someone holding a stolen
 * cookie could otherwise keep such a request open as insurance against the logout.
 */
import t from 'tap';
import { connect } from 'node:net';
import { createRinglet, generateJwks } from 'ringlet';
import { chain, startApp } from './harness.js';
import { cookiePair } from '../support/http.js';

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode}: a session revoked while requireCsrf reads its form body does not reach the route`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    app.handle((_req, res) => {
      ringlet.login(res, 'alice', 'admin');
      res.end();
    });
    const cookie = cookiePair(await app.call('GET', '/login'), 'ringlet');
    const csrf = ringlet.sessions.resolveCookie([cookie.slice('ringlet='.length)], false)?.session.csrfToken ?? '';
    let reached = 0;
    app.handle(chain(ringlet.middleware, ringlet.requireCsrf(), (_req, res) => {
      reached++;
      res.end('api key minted');
    }));

    const body = new URLSearchParams({ csrf, name: 'insurance' }).toString();
    const socket = connect(app.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /keys HTTP/1.1\r\nHost: 127.0.0.1:${app.port}\r\nOrigin: ${app.origin}\r\nCookie: ${cookie}\r\n`
      + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 50));
    ringlet.sessions.revokeUser('alice');
    socket.write(body.slice(10));
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
    socket.destroy();
    t.equal(reached, 0, 'the route never ran');
    t.match(answer, /^HTTP\/1\.1 401/, 'the request is answered 401');

    // A live session's form still passes.
    app.handle((_req, res) => {
      ringlet.login(res, 'alice', 'admin');
      res.end();
    });
    const fresh = cookiePair(await app.call('GET', '/login'), 'ringlet');
    const freshCsrf = ringlet.sessions.resolveCookie([fresh.slice('ringlet='.length)], false)?.session.csrfToken ?? '';
    app.handle(chain(ringlet.middleware, ringlet.requireCsrf(), (_req, res) => {
      reached++;
      res.end('ok');
    }));
    const ok = await app.call('POST', '/keys', { headers: { cookie: fresh, origin: app.origin }, form: { csrf: freshCsrf } });
    t.equal(ok.status, 200, 'a live session with its token passes');
    t.equal(reached, 1);
  });
}
