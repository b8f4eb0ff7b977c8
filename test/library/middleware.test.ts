/**
 * The library's two shapes in both modes: the node:http wrapper and Connect-style
 * middleware, with login, logout, the role guard and CSRF, as README "As a library" shows.
 */
import t from 'tap';
import { createRinglet, generateJwks, RingletError, type RingletRequest } from 'ringlet';
import { ManualClock } from '../support/clock.js';
import { chain, startApp } from './harness.js';
import { cookiePair, setCookieLine, setCookieLines } from '../support/http.js';

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode}: node:http wrapper and Connect-style middleware`, async (t) => {
    const ringlet = createRinglet({ mode, capacity: 16, maxSessionsPerUser: 4, keys: generateJwks() });
    const site = ringlet.wrap((req: RingletRequest, res) => {
      if (req.url === '/login') {
        ringlet.login(res, 'alice', 'viewer');
        res.end(`signed in as ${req.ringletSession?.user}`);
      } else if (req.url === '/logout') {
        ringlet.logout(req, res);
        res.end(`bye, now ${req.ringletSession === undefined ? 'anonymous' : 'still signed in'}`);
      } else res.end(req.ringletSession ? `hello ${req.ringletSession.user} (${req.ringletSession.role})` : 'anonymous');
    });
    const admin = chain(ringlet.middleware, ringlet.requireRole('admin'), (_req, res) => res.end('admin area'));
    const viewer = chain(ringlet.middleware, ringlet.requireRole('viewer'), ringlet.requireCsrf(), (req, res) => res.end(`changed by ${(req as RingletRequest).ringletSession?.user}`));
    const app = await startApp(t);
    app.handle((req, res) => (req.url?.startsWith('/admin') ? admin(req, res) : req.url?.startsWith('/change') ? viewer(req, res) : site(req, res)));

    t.equal((await app.call('GET', '/')).text, 'anonymous');
    const login = await app.call('GET', '/login');
    t.equal(login.text, 'signed in as alice', 'the request that logs in sees its new session');
    t.match(setCookieLine(login, 'ringlet'), /HttpOnly; SameSite=Strict|SameSite=Strict.*HttpOnly/i);
    const cookie = cookiePair(login, 'ringlet');
    t.equal((await app.call('GET', '/', { headers: { cookie } })).text, 'hello alice (viewer)');
    t.equal((await app.call('GET', '/admin')).status, 401, 'requireRole: no session');
    t.equal((await app.call('GET', '/admin', { headers: { cookie } })).status, 403, 'requireRole: viewer below admin');
    t.equal((await app.call('POST', '/change', { headers: { cookie, origin: app.origin } })).status, 403, 'requireCsrf: no token');
    const csrf = ringlet.sessions.resolveCookie([cookie.slice('ringlet='.length)], false)?.session.csrfToken ?? '';
    const changed = await app.call('POST', '/change', { headers: { cookie, origin: app.origin, 'x-csrf-token': csrf } });
    t.same([changed.status, changed.text], [200, 'changed by alice']);
    t.equal((await app.call('POST', '/change', { headers: { cookie, origin: 'http://evil.example', 'x-csrf-token': csrf } })).status, 403, 'requireCsrf: foreign origin');
    const out = await app.call('GET', '/logout', { headers: { cookie } });
    t.equal(out.text, 'bye, now anonymous');
    t.match(setCookieLines(out).join(), /ringlet=;.*Max-Age=0/);
    t.equal((await app.call('GET', '/', { headers: { cookie } })).text, 'anonymous', 'logged out');
  });
}

t.test('options are validated once, naming the field', (t) => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['not an object', () => createRinglet(null as never), /^options: must be an object/],
    ['capacity', () => createRinglet({ capacity: 0 }), /^capacity: must be an integer from 1 to 1048576/],
    ['mode', () => createRinglet({ mode: 'redis' as 'ram' }), /^mode: must be one of ram, cookie/],
    ['keys', () => createRinglet({ keys: '{"keys":[]}' }), /keys/],
    ['an unknown option', () => createRinglet({ loginpath: '/login' } as never), /loginpath: is not a profile field/],
    ['loginPath: another host', () => createRinglet({ loginPath: '//evil.example/login' }), /^loginPath: must be a path on this origin/],
    ['loginPath: not a path', () => createRinglet({ loginPath: 'login' }), /^loginPath: must be a path/],
    ['loginPath: a query', () => createRinglet({ loginPath: '/login?x=1' }), /^loginPath: must be a path/],
    ['loginPath: a backslash', () => createRinglet({ loginPath: '/\\evil.example' }), /^loginPath: must be a path/],
    ['permissions: an unknown name', () => createRinglet({ permissions: { admin: [], viewer: ['root:all' as never] } }), /^permissions\.viewer: must be a list of known permission names/],
    ['permissions: a role missing', () => createRinglet({ permissions: { admin: [] } as never }), /^permissions\.viewer: /],
    ['secureCookies', () => createRinglet({ secureCookies: 'yes' as never }), /^secureCookies: must be true or false/],
    ['trustedOrigins', () => createRinglet({ trustedOrigins: 'https://a.example' as never }), /^trustedOrigins: must be a list/],
    ['refuseEarlierBoots', () => createRinglet({ refuseEarlierBoots: 1 as never }), /^refuseEarlierBoots: must be true or false/],
  ];
  for (const [name, make, message] of cases) t.throws(make, message, name);
  const ringlet = createRinglet();
  t.throws(() => ringlet.requireRole('root' as 'admin'), /^role: must be one of admin, viewer/, 'requireRole: an unknown role fails at mount');
  t.throws(() => ringlet.requireRole(undefined as unknown as 'admin'), /^role: /, 'requireRole: no role fails at mount');
  t.throws(() => ringlet.requirePermission('ui:delete' as 'ui:read'), /^permission: must be one of /, 'requirePermission: an unknown permission fails at mount');
  t.end();
});

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode}: user names a credential can carry, the same in both modes`, (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    for (const [name, user, ok] of [['64 characters', 'u'.repeat(64), true], ['65 characters', 'u'.repeat(65), false], ['empty', '', false]] as const) {
      let code = 'ok';
      let issued;
      try {
        issued = ringlet.sessions.issue(user, 'viewer', undefined);
      } catch (err) {
        code = err instanceof RingletError ? err.code : String(err);
      }
      t.equal(code, ok ? 'ok' : 'ERR_NAME_INVALID', `session: ${name}`);
      if (issued !== undefined) t.equal(ringlet.sessions.resolveCookie([issued.cookieValue], false)?.session.user, user, `session: ${name} resolves`);
      t.equal(ok ? 'ok' : 'refused', (() => {
        try {
          ringlet.sessions.issueToken(user, 'viewer', ['ui:read']);
          return 'ok';
        } catch (err) {
          return err instanceof RingletError && err.code === 'ERR_NAME_INVALID' ? 'refused' : String(err);
        }
      })(), `token: ${name}`);
    }
    t.end();
  });
}

t.test('refuseEarlierBoots: credentials of another process are refused, not only revoked ones', (t) => {
  const keys = generateJwks();
  const wall = new ManualClock(Date.UTC(2027, 0, 1));
  const earlier = createRinglet({ mode: 'cookie', keys, wallClock: wall });
  const issued = earlier.sessions.issue('alice', 'viewer', undefined);
  const token = earlier.sessions.issueToken('alice', 'viewer', ['ui:read']).token;
  const lenient = createRinglet({ mode: 'cookie', keys, wallClock: wall });
  const strict = createRinglet({ mode: 'cookie', keys, wallClock: wall, refuseEarlierBoots: true });
  t.equal(lenient.sessions.resolveCookie([issued.cookieValue], false)?.session.user, 'alice', 'default: another boot\'s cookie is accepted (timed on the wall clock)');
  t.equal(lenient.sessions.resolveBearer(token, false)?.user, 'alice', 'default: and its token');
  t.equal(strict.sessions.resolveCookie([issued.cookieValue], false), undefined, 'refuseEarlierBoots: the cookie is refused');
  t.equal(strict.sessions.resolveBearer(token, false), undefined, 'refuseEarlierBoots: the token is refused');
  const own = strict.sessions.issue('alice', 'viewer', undefined);
  t.equal(strict.sessions.resolveCookie([own.cookieValue], false)?.session.user, 'alice', 'its own credentials work');
  t.end();
});
