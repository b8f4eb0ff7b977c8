import t from 'tap';
import { adminWithPassword, jsonLogin, startTestServer } from '../support/server.js';
import { cookiePair, sessionCookieOf, setCookieLine, setCookieLines } from '../support/http.js';
import { ManualClock } from '../support/clock.js';

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: forward-auth answers`, async (t) => {
    const mono = new ManualClock(1000);
    const s = await startTestServer({ mode, monotonic: mono, options: { trustedProxies: ['127.0.0.1'] } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    const token = (await s.request('POST', '/token', { json: { username: 'admin', password: 'correct horse battery', scope: 'ui:read metrics:read' } })).json.access_token as string;
    const metricsOnly = (await s.request('POST', '/token', { json: { username: 'admin', password: 'correct horse battery', scope: 'metrics:read' } })).json.access_token as string;
    const cases: Array<[string, string, Record<string, string>, number, Record<string, string | undefined>]> = [
      ['cookie', '/auth', { cookie: admin.cookie }, 200, { 'remote-user': 'admin', 'remote-groups': 'admin' }],
      ['cookie, role met', '/auth?role=admin', { cookie: admin.cookie }, 200, { 'remote-user': 'admin' }],
      ['cookie, lower role asked', '/auth?role=viewer', { cookie: admin.cookie }, 200, {}],
      ['unknown role', '/auth?role=root', { cookie: admin.cookie }, 403, { 'remote-user': undefined }],
      ['scope held by role', '/auth?scope=sessions:write', { cookie: admin.cookie }, 200, {}],
      ['bearer, scope granted', '/auth?scope=metrics:read', { authorization: `Bearer ${token}` }, 200, { 'remote-user': 'admin' }],
      ['bearer, scope narrower than asked', '/auth?scope=sessions:write', { authorization: `Bearer ${token}` }, 403, {}],
      // A narrowing named twice is two narrowings: the second is not dropped.
      ['bearer, scope asked twice, the second not granted', '/auth?scope=metrics:read&scope=sessions:write', { authorization: `Bearer ${token}` }, 403, {}],
      ['cookie, role asked twice, the second unknown', '/auth?role=admin&role=root', { cookie: admin.cookie }, 403, {}],
      ['bearer, empty scope item', '/auth?scope=metrics:read%20', { authorization: `Bearer ${token}` }, 403, {}],
      ['bearer without ui:read (a monitoring token)', '/auth', { authorization: `Bearer ${metricsOnly}` }, 403, { 'remote-user': undefined }],
      ['bearer without ui:read, asking for what it holds', '/auth?scope=metrics:read', { authorization: `Bearer ${metricsOnly}` }, 403, { 'remote-user': undefined }],
      ['none', '/auth', {}, 401, { 'www-authenticate': 'Bearer realm="ringlet"' }],
      ['garbage cookie', '/auth', { cookie: 'ringlet=nope' }, 401, {}],
      ['spoofed identity headers alone', '/auth', { 'remote-user': 'admin', 'x-forwarded-user': 'admin' }, 401, {}],
      ['browser via trusted proxy', '/auth', { accept: 'text/html', 'x-forwarded-uri': '/admin/page?x=1', 'x-forwarded-host': 'app' }, 302, { location: '/login?next=%2Fadmin%2Fpage%3Fx%3D1' }],
      ['nginx style stays 401', '/auth', { accept: 'text/html', 'x-original-uri': '/admin' }, 401, {}],
      // The login URL for the original request, built once by ringlet (no recipe assembles `next`).
      ['browser via trusted proxy, query with &', '/auth', { accept: 'text/html', 'x-forwarded-uri': '/status?x=1&y=2' }, 302,
        { location: '/login?next=%2Fstatus%3Fx%3D1%26y%3D2', 'x-ringlet-login-url': '/login?next=%2Fstatus%3Fx%3D1%26y%3D2' }],
      ['nginx style browser: 401 naming the login URL', '/auth', { accept: 'text/html', 'x-original-uri': '/status?x=1&y=2' }, 401,
        { 'x-ringlet-login-url': '/login?next=%2Fstatus%3Fx%3D1%26y%3D2', 'www-authenticate': 'Bearer realm="ringlet"' }],
      ['nginx style API client: 401 without a login URL', '/auth', { accept: 'application/json', 'x-original-uri': '/status' }, 401, { 'x-ringlet-login-url': undefined }],
      ['Traefik/Caddy style API client: 401, not 302', '/auth', { 'x-forwarded-uri': '/status' }, 401, { location: undefined, 'x-ringlet-login-url': undefined }],
      ['browser via trusted proxy, next not a same-origin path', '/auth', { accept: 'text/html', 'x-forwarded-uri': '//evil.example/x' }, 302, { location: '/login' }],
      ['browser via trusted proxy, the original is /', '/auth', { accept: 'text/html', 'x-forwarded-uri': '/' }, 302, { location: '/login' }],
    ];
    for (const [title, path, headers, status, expect] of cases) {
      const r = await s.request('GET', path, { headers });
      t.equal(r.status, status, `${title}: ${status}`);
      for (const [name, value] of Object.entries(expect)) t.equal(r.headers[name], value, `${title}: ${name}`);
      t.same(setCookieLines(r), [], `${title}: no cookie set`);
    }
    const viewerCase = await s.request('GET', '/auth?role=admin', { headers: { authorization: `Bearer ${token}` } });
    t.equal(viewerCase.status, 200, 'the token keeps its role');
    mono.advance(16 * 60_000);
    t.equal((await s.request('GET', '/auth', { headers: { cookie: admin.cookie } })).status, 401, 'expired after the idle timeout');
  });

  t.test(`${mode} mode: untrusted peers cannot use forwarded headers`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const r = await s.request('GET', '/auth', { headers: { accept: 'text/html', 'x-forwarded-uri': '/admin' } });
    t.equal(r.status, 401, 'no redirect built from an untrusted header');
    t.equal(r.headers['x-ringlet-login-url'], '/login', 'the login page, without a next taken from an untrusted header');
  });

  t.test(`${mode} mode: the no-touch header does not count as activity`, async (t) => {
    const mono = new ManualClock(1000);
    const s = await startTestServer({ mode, monotonic: mono });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    let cookie = admin.cookie;
    // Poll every 5 minutes for an hour with the no-touch header: the session must still idle out.
    let alive = true;
    for (let i = 0; i < 12 && alive; i++) {
      mono.advance(5 * 60_000);
      const r = await s.request('GET', '/auth', { headers: { cookie, 'x-ringlet-no-touch': '1' } });
      alive = r.status === 200;
    }
    t.equal(alive, false, 'polling did not keep the session alive');
    const fresh = await jsonLogin(s, 'admin', 'correct horse battery');
    cookie = sessionCookieOf(fresh);
    for (let i = 0; i < 12; i++) {
      mono.advance(5 * 60_000);
      const r = await s.request('GET', '/auth', { headers: { cookie } });
      t.equal(r.status, 200, `active use keeps it alive (${i})`);
      if (setCookieLine(r, 'ringlet') !== undefined) {
        t.equal(mode, 'cookie', 'only cookie mode re-issues');
        cookie = cookiePair(r, 'ringlet');
      }
    }
  });
}
