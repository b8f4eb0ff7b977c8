import t from 'tap';
import { adminWithPassword, formLogin, jsonLogin, startTestServer } from '../support/server.js';
import { cookiesFrom, sessionCookieOf, setCookieLine } from '../support/http.js';

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: first start → forced change → session → logout`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const password = s.firstPassword;
    t.match(password, /^\S{16,}$/, 'a generated password is printed once');
    t.equal(s.logs.filter((l) => l.includes(password)).length, 0, 'and never logged');

    const login = await formLogin(s, 'admin', password, '/sessions');
    t.equal(login.status, 303);
    t.equal(login.headers.location, '/password?next=%2Fsessions', 'forced to change the password first');
    const cookie = sessionCookieOf(login);
    const setCookie = setCookieLine(login, 'ringlet');
    t.match(setCookie, /; HttpOnly/i);
    t.match(setCookie, /; SameSite=Strict/i);
    t.match(setCookie, /; Path=\//i);
    t.notMatch(setCookie, /Max-Age|Expires/i, 'a browser-session cookie');
    t.notMatch(setCookie, /Secure/i, 'plain HTTP: no Secure');

    const blocked = await s.request('GET', '/sessions', { headers: { cookie } });
    t.equal(blocked.status, 403, 'only the change-password route until the password is changed');
    const blockedHtml = await s.request('GET', '/sessions', { headers: { cookie, accept: 'text/html' } });
    t.equal(blockedHtml.status, 303);
    t.equal(blockedHtml.headers.location, '/password?next=%2Fsessions');
    const who = await s.request('GET', '/session', { headers: { cookie } });
    t.equal(who.status, 200);
    t.equal(who.json.mustChangePassword, true);

    const page = await s.request('GET', '/password', { headers: { cookie, accept: 'text/html' } });
    t.equal(page.status, 200);
    t.match(page.text, /must choose a new password/i);
    t.match(page.text, /minlength="10"/, 'the form asks for the length the server enforces');
    const csrf = who.json.csrfToken as string;
    const weak = await s.request('POST', '/password', { headers: { cookie, origin: s.origin }, form: { csrf, current_password: password, new_password: 'short', confirm_password: 'short', next: '/sessions' } });
    t.equal(weak.status, 400, 'a weak password is refused');
    const same = await s.request('POST', '/password', { headers: { cookie, origin: s.origin }, form: { csrf, current_password: password, new_password: password, confirm_password: password } });
    t.equal(same.status, 400, 'the generated password cannot be kept');
    const changed = await s.request('POST', '/password', { headers: { cookie, origin: s.origin }, form: { csrf, current_password: password, new_password: 'a much better passphrase', confirm_password: 'a much better passphrase', next: '/sessions', end_other_sessions: 'on' } });
    t.equal(changed.status, 303);
    t.equal(changed.headers.location, '/sessions');
    const fresh = sessionCookieOf(changed);
    t.not(fresh, cookie, 'a fresh session after the change');
    t.equal((await s.request('GET', '/session', { headers: { cookie } })).status, 401, 'the old session ended');
    const me = await s.request('GET', '/session', { headers: { cookie: fresh } });
    t.equal(me.status, 200);
    t.same([me.json.user, me.json.role, me.json.mode, me.json.mustChangePassword], ['admin', 'admin', mode, false]);
    t.equal(me.headers['cache-control'], 'no-store');

    const old = await jsonLogin(s, 'admin', password);
    t.equal(old.status, 401, 'the generated password no longer works');
    const out = await s.request('POST', '/logout', { headers: { cookie: fresh, origin: s.origin }, form: { csrf: me.json.csrfToken } });
    t.equal(out.status, 303);
    t.equal(out.headers.location, '/login?loggedout=1');
    t.match(setCookieLine(out, 'ringlet'), /^ringlet=;.*Max-Age=0/);
    t.equal((await s.request('GET', '/session', { headers: { cookie: fresh } })).status, 401, 'logged out for good');
  });

  t.test(`${mode} mode: wrong password and unknown user get the same answer, nothing is set`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const wrong = await formLogin(s, 'admin', 'not the password');
    t.equal(wrong.status, 401);
    t.match(wrong.text, /Wrong user name or password/);
    t.match(wrong.text, /value="admin"/, 'the user name is kept');
    t.notOk(Object.keys(cookiesFrom(wrong)).includes('ringlet'), 'no session cookie');
    const unknown = await formLogin(s, 'nobody', 'not the password');
    t.equal(unknown.status, 401);
    const a = await jsonLogin(s, 'admin', 'x');
    const b = await jsonLogin(s, 'ghost', 'x');
    t.same([a.status, a.json], [b.status, b.json], 'identical JSON answers');
    t.ok(s.logEvents('login').some((e) => e['user'] === '[unknown]'), 'unknown names are not logged');
  });

  t.test(`${mode} mode: JSON login and no session fixation`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    const again = await jsonLogin(s, 'admin', 'correct horse battery', { cookie: admin.cookie });
    t.equal(again.status, 200);
    t.same(Object.keys(again.json).sort(), ['absoluteExpiresAt', 'csrfToken', 'idleExpiresAt', 'mustChangePassword', 'role', 'user']);
    const next = sessionCookieOf(again);
    t.not(next, admin.cookie, 'login always issues a fresh id');
    t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 401, 'the previous session is gone');
    t.equal((await s.request('GET', '/session', { headers: { cookie: next } })).status, 200);
  });

  t.test(`${mode} mode: login form CSRF and open-redirect defences`, async (t) => {
    const s = await startTestServer({ mode });
    t.teardown(() => s.close());
    await adminWithPassword(s);
    const noNonce = await s.request('POST', '/login', { headers: { origin: s.origin }, form: { username: 'admin', password: 'correct horse battery', csrf: 'x' } });
    t.equal(noNonce.status, 403, 'form without the signed nonce');
    const page = await s.request('GET', '/login');
    const nonce = cookiesFrom(page)['ringlet-login'] ?? '';
    const token = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const foreign = await s.request('POST', '/login', { headers: { cookie: `ringlet-login=${nonce}`, origin: 'http://evil.example' }, form: { username: 'admin', password: 'correct horse battery', csrf: token } });
    t.equal(foreign.status, 403, 'foreign Origin');
    const crossSite = await s.request('POST', '/login', { headers: { cookie: `ringlet-login=${nonce}`, 'sec-fetch-site': 'cross-site' }, form: { username: 'admin', password: 'correct horse battery', csrf: token } });
    t.equal(crossSite.status, 403, 'Sec-Fetch-Site: cross-site');
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const r = await formLogin(s, 'admin', 'correct horse battery', next);
      t.equal(r.status, 303);
      t.equal(r.headers.location, '/', `next=${next} is not followed`);
    }
    const ok = await formLogin(s, 'admin', 'correct horse battery', '/sessions?x=1');
    t.equal(ok.headers.location, '/sessions?x=1');
  });
}
