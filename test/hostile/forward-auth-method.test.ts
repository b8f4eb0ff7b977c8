/**
 * Forward-auth must judge the request the proxy is about to forward, not the GET it asks
 * with. A forward-auth proxy (nginx `auth_request`, Caddy, Traefik ForwardAuth) asks
 * `GET /auth` before *every* request to the admin UI, writes included, and names the
 * original method in `X-Forwarded-Method` (Traefik; the Caddy recipe) or
 * `X-Original-Method`. The route-policy table gives a viewer `ui:read` — reads — and keeps
 * writes for `ui:write` from this origin; a viewer, or a token narrowed to `ui:read`, must
 * not get a 200 for a POST or a DELETE through the proxy, and a cookie must not write from
 * another origin of the same site (a page on another port of the router: `SameSite=Strict`
 * sends the cookie there). A read that names another method in a method-override header
 * (`X-HTTP-Method-Override`: see method-override.test.ts) is judged as that method: the
 * proxy passes the header to the admin UI.
 */
import t from 'tap';
import { setPassword } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';
import { assertNoSecrets, cookieValue } from './client.js';

const PASSWORD = 'forward auth method passphrase';
const VIEWER_PASSWORD = `viewer ${PASSWORD}`;
const PUBLIC = 'router.example';
/** The end-to-end headers of a WebSocket handshake, as a proxy passes them to /auth. */
const WS = { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: /auth applies the upstream route's policy to the method the proxy names`, async (t) => {
    const s = await startTestServer({ mode, options: { trustedProxies: ['127.0.0.1'], allowedHosts: [PUBLIC, 'ringlet:8080'] } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    await s.running.deps.users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
    const viewer = sessionCookieOf(await jsonLogin(s, 'vic', VIEWER_PASSWORD));
    const mint = async (scope: string) => (await s.request('POST', '/token', { json: { username: 'admin', password: PASSWORD, scope } })).json.access_token as string;
    const readToken = await mint('ui:read');
    const writeToken = await mint('ui:read ui:write');
    const viewerToken = (await s.request('POST', '/token', { json: { username: 'vic', password: VIEWER_PASSWORD } })).json.access_token as string;
    const sameOrigin = { host: PUBLIC, origin: `http://${PUBLIC}` };

    const cases: Array<[string, Record<string, string>, number]> = [
      ['viewer, GET', { cookie: viewer, host: PUBLIC, 'x-forwarded-method': 'GET' }, 200],
      ['viewer, HEAD', { cookie: viewer, host: PUBLIC, 'x-forwarded-method': 'HEAD' }, 200],
      ['viewer, no method named (an old recipe)', { cookie: viewer, host: PUBLIC }, 200],
      ['viewer, POST (Traefik, Caddy)', { cookie: viewer, ...sameOrigin, 'x-forwarded-method': 'POST' }, 403],
      ['viewer, DELETE (nginx: X-Original-Method)', { cookie: viewer, ...sameOrigin, 'x-original-method': 'DELETE' }, 403],
      ['viewer, PUT named by one header, GET by the other', { cookie: viewer, ...sameOrigin, 'x-original-method': 'PUT', 'x-forwarded-method': 'GET' }, 403],
      ['viewer, a method spelled in lower case', { cookie: viewer, ...sameOrigin, 'x-forwarded-method': 'post' }, 403],
      // The original request's method-override headers reach /auth too (the proxy passes the client's headers).
      ['viewer, GET carrying X-HTTP-Method-Override: DELETE', { cookie: viewer, ...sameOrigin, 'x-forwarded-method': 'GET', 'x-http-method-override': 'DELETE' }, 403],
      ['viewer, GET carrying X_HTTP_Method: PUT', { cookie: viewer, ...sameOrigin, 'x-forwarded-method': 'GET', 'X_HTTP_Method': 'PUT' }, 403],
      ['viewer, GET carrying X-Method-Override: GET', { cookie: viewer, ...sameOrigin, 'x-forwarded-method': 'GET', 'x-method-override': 'GET' }, 200],
      ['viewer token, POST', { authorization: `Bearer ${viewerToken}`, host: PUBLIC, 'x-forwarded-method': 'POST' }, 403],
      ['admin token narrowed to ui:read, GET', { authorization: `Bearer ${readToken}`, host: PUBLIC, 'x-forwarded-method': 'GET' }, 200],
      ['admin token narrowed to ui:read, PATCH', { authorization: `Bearer ${readToken}`, host: PUBLIC, 'x-forwarded-method': 'PATCH' }, 403],
      ['admin token with ui:write, DELETE (no origin needed for a token)', { authorization: `Bearer ${writeToken}`, host: PUBLIC, 'x-forwarded-method': 'DELETE' }, 200],
      ['admin cookie, POST from this origin', { cookie: admin.cookie, ...sameOrigin, 'x-forwarded-method': 'POST' }, 200],
      ['admin cookie, POST, Sec-Fetch-Site same-origin', { cookie: admin.cookie, host: PUBLIC, 'sec-fetch-site': 'same-origin', 'x-forwarded-method': 'POST' }, 200],
      ['admin cookie, POST from another port of the same host (same site)', { cookie: admin.cookie, host: PUBLIC, origin: `http://${PUBLIC}:8443`, 'sec-fetch-site': 'same-site', 'x-forwarded-method': 'POST' }, 403],
      ['admin cookie, POST from another site', { cookie: admin.cookie, host: PUBLIC, origin: 'http://evil.example', 'x-forwarded-method': 'POST' }, 403],
      ['admin cookie, POST without Origin or Referer', { cookie: admin.cookie, host: PUBLIC, 'x-forwarded-method': 'POST' }, 403],
      // Traefik's ForwardAuth request carries Host: ringlet:8080 and the public name in X-Forwarded-Host.
      ['admin cookie, POST through Traefik (public name in X-Forwarded-Host)',
        { cookie: admin.cookie, host: 'ringlet:8080', origin: `http://${PUBLIC}`, 'x-forwarded-host': PUBLIC, 'x-forwarded-proto': 'http', 'x-forwarded-method': 'POST' }, 200],
      ['admin cookie, POST through Traefik from another site',
        { cookie: admin.cookie, host: 'ringlet:8080', origin: 'http://evil.example', 'x-forwarded-host': PUBLIC, 'x-forwarded-proto': 'http', 'x-forwarded-method': 'POST' }, 403],
      ['anonymous, POST', { host: PUBLIC, 'x-forwarded-method': 'POST' }, 401],
      // A WebSocket handshake is a GET whose tunnel carries writes (Caddy and Traefik proxy it
      // after /auth's 200): judged as the upstream's upgrade, ui:write from this origin.
      ['viewer, WebSocket handshake (Sec-WebSocket-Key)', { cookie: viewer, ...sameOrigin, 'x-forwarded-method': 'GET', ...WS }, 403],
      ['viewer, WebSocket handshake named only by Upgrade', { cookie: viewer, ...sameOrigin, 'x-forwarded-method': 'GET', upgrade: 'websocket' }, 403],
      ['admin token narrowed to ui:read, WebSocket handshake', { authorization: `Bearer ${readToken}`, host: PUBLIC, ...WS }, 403],
      ['admin token with ui:write, WebSocket handshake', { authorization: `Bearer ${writeToken}`, host: PUBLIC, ...WS }, 200],
      ['admin cookie, WebSocket handshake from this origin', { cookie: admin.cookie, ...sameOrigin, 'x-forwarded-method': 'GET', ...WS }, 200],
      ['admin cookie, WebSocket handshake from another site (cross-site hijacking)', { cookie: admin.cookie, host: PUBLIC, origin: 'http://evil.example', ...WS }, 403],
      ['admin cookie, WebSocket handshake from another port of the same host', { cookie: admin.cookie, host: PUBLIC, origin: `http://${PUBLIC}:8443`, ...WS }, 403],
    ];
    for (const [title, headers, status] of cases) {
      const r = await s.request('GET', '/auth', { headers });
      t.equal(r.status, status, `${title}: ${status}`);
      if (status !== 200) t.equal(r.headers['remote-user'], undefined, `${title}: no identity`);
    }

    // Only a trusted proxy's X-Forwarded-Host names this origin.
    const untrusted = await startTestServer({ mode, options: { allowedHosts: [PUBLIC, 'ringlet:8080'] } });
    t.teardown(() => untrusted.close());
    const admin2 = await adminWithPassword(untrusted, PASSWORD);
    const spoofedHost = await untrusted.request('GET', '/auth', {
      headers: { cookie: admin2.cookie, host: 'ringlet:8080', origin: 'http://evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', 'x-forwarded-method': 'POST' },
    });
    t.equal(spoofedHost.status, 403, 'an untrusted peer\'s X-Forwarded-Host is not this origin');

    assertNoSecrets(t, s, [PASSWORD, VIEWER_PASSWORD, cookieValue(viewer), cookieValue(admin.cookie), readToken, writeToken, viewerToken]);
  });
}
