import t from 'tap';
import { adminWithPassword, jsonLogin, startTestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: bearer tokens, scopes and revocation by jti`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    const issued = await s.request('POST', '/token', { json: { username: 'admin', password: 'correct horse battery' } });
    t.equal(issued.status, 200);
    t.same(Object.keys(issued.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    t.equal(issued.json.token_type, 'Bearer');
    t.equal(issued.json.expires_in, 3600);
    t.equal(issued.headers['cache-control'], 'no-store');
    const bearer = { authorization: `Bearer ${issued.json.access_token}` };
    const me = await s.request('GET', '/session', { headers: bearer });
    t.equal(me.status, 200);
    t.equal(me.json.via, 'bearer');
    t.equal(me.json.csrfToken, null);

    const form = await s.request('POST', '/token', { form: { grant_type: 'password', username: 'admin', password: 'correct horse battery', scope: 'metrics:read' } });
    t.equal(form.json.scope, 'metrics:read', 'RFC 6749 password grant with a narrower scope');
    const wider = await s.request('POST', '/token', { json: { username: 'admin', password: 'correct horse battery', scope: 'root:all' } });
    t.same([wider.status, wider.json.error], [400, 'invalid_scope']);
    const badGrant = await s.request('POST', '/token', { form: { grant_type: 'client_credentials' } });
    t.same([badGrant.status, badGrant.json.error], [400, 'unsupported_grant_type']);
    const wrong = await s.request('POST', '/token', { json: { username: 'admin', password: 'nope' } });
    t.same([wrong.status, wrong.json.error], [400, 'invalid_grant']);
    const fromSession = await s.request('POST', '/token', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { scope: 'metrics:read' } });
    t.equal(fromSession.status, 200, 'a live session can mint a token');
    const noCsrf = await s.request('POST', '/token', { headers: { cookie: admin.cookie, origin: s.origin }, json: {} });
    t.equal(noCsrf.status, 403, 'but not without its CSRF token');

    const jti = me.json.ref as string;
    const revoke = await s.request('POST', '/tokens/revoke', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { jti, user: 'admin' } });
    t.equal(revoke.status, 200);
    t.equal((await s.request('GET', '/session', { headers: bearer })).status, 401, 'revoked by jti');
    const other = { authorization: `Bearer ${form.json.access_token}` };
    t.equal((await s.request('GET', '/session', { headers: other })).status, 200, 'other tokens unaffected');
  });

  t.test(`${mode} mode: CSRF on every cookie-authenticated state change`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    const routes: Array<[string, Record<string, string>]> = [
      ['/logout', {}],
      ['/password', { currentPassword: 'correct horse battery', newPassword: 'another long passphrase' }],
      ['/token', {}],
      ['/sessions/revoke', { ref: 'x' }],
      ['/sessions/revoke-user', { user: 'admin' }],
      ['/tokens/revoke', { jti: 'x', user: 'admin' }],
    ];
    const attacks: Array<[string, Record<string, string>]> = [
      ['no Origin, no token', {}],
      ['foreign Origin with token', { origin: 'http://evil.example', 'x-csrf-token': admin.csrf }],
      ['null Origin with token', { origin: 'null', 'x-csrf-token': admin.csrf }],
      ['Sec-Fetch-Site cross-site with token', { 'sec-fetch-site': 'cross-site', 'x-csrf-token': admin.csrf }],
      ['same origin, wrong token', { origin: s.origin, 'x-csrf-token': 'A'.repeat(22) }],
      ['same origin, no token', { origin: s.origin }],
    ];
    for (const [path, body] of routes) {
      for (const [title, headers] of attacks) {
        const r = await s.request('POST', path, { headers: { cookie: admin.cookie, ...headers }, json: body });
        t.equal(r.status, 403, `${path}: ${title}`);
      }
    }
    t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'the session survived every attempt');
  });

  t.test(`${mode} mode: sessions admin`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    const second = sessionCookieOf(await jsonLogin(s, 'admin', 'correct horse battery'));
    const list = await s.request('GET', '/sessions', { headers: { cookie: admin.cookie } });
    t.equal(list.status, 200);
    if (mode === 'ram') {
      t.equal(list.json.listAvailable, true);
      t.equal(list.json.sessions.length, 2);
      t.equal(list.json.sessions.filter((x: { current: boolean }) => x.current).length, 1);
      t.notMatch(list.text, admin.cookie.split('=')[1]!, 'no session id in the list');
      t.notMatch(list.text, admin.csrf, 'no CSRF secret in the list');
      const other = list.json.sessions.find((x: { current: boolean }) => !x.current);
      const r = await s.request('POST', '/sessions/revoke', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { ref: other.ref } });
      t.equal(r.status, 200);
      t.equal((await s.request('GET', '/session', { headers: { cookie: second } })).status, 401, 'revoked by ref');
    } else {
      t.equal(list.json.listAvailable, false);
      t.match(list.json.reason, /Cookie mode/);
    }
    const html = await s.request('GET', '/sessions', { headers: { cookie: admin.cookie, accept: 'text/html' } });
    t.equal(html.status, 200);
    t.notMatch(html.text, /<script/i);
    const all = await s.request('POST', '/sessions/revoke-user', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: { user: 'admin' } });
    t.equal(all.status, 200);
    t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 401, 'logout everywhere');
    t.equal((await s.request('GET', '/session', { headers: { cookie: second } })).status, 401);
  });

  t.test(`${mode} mode: CORS only for configured origins`, async (t) => {
    const s = await startTestServer({ mode, options: { corsOrigins: ['https://app.example'] } });
    t.teardown(() => s.close());
    const pre = await s.request('OPTIONS', '/session', { headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    t.equal(pre.status, 204);
    t.equal(pre.headers['access-control-allow-origin'], 'https://app.example');
    t.equal(pre.headers['access-control-allow-credentials'], 'true');
    t.match(pre.headers['access-control-allow-headers'], /Authorization, Content-Type, X-CSRF-Token/);
    t.equal(pre.headers['access-control-max-age'], '600');
    for (const origin of ['https://other.example', 'null']) {
      const r = await s.request('OPTIONS', '/session', { headers: { origin } });
      t.equal(r.status, 403, `preflight from ${origin} refused`);
      t.notOk(r.headers['access-control-allow-origin']);
      const g = await s.request('GET', '/healthz', { headers: { origin } });
      t.notOk(g.headers['access-control-allow-origin'], `no CORS headers for ${origin}`);
    }
    const g = await s.request('GET', '/healthz', { headers: { origin: 'https://app.example' } });
    t.equal(g.headers['access-control-allow-origin'], 'https://app.example');
    t.not(g.headers['access-control-allow-origin'], '*');
  });
}
