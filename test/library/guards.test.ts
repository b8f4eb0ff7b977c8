/**
 * The library's guards fail closed. Mounted behind a foreign session middleware (the chain
 * here mimics express-session / cookie-session: it owns `req.session`), or with anything
 * else put on the request, no guard lets a request through that has no ringlet session;
 * CSRF comparisons never throw; the `csrf` form field works like the header; browsers go to
 * the login path; permissions follow the server's Grants rules. Both modes.
 */
import t from 'tap';
import { request, type IncomingMessage } from 'node:http';
import { createRinglet, generateJwks, type Middleware, type Ringlet, type RingletRequest } from 'ringlet';
import { chain, startApp, type App } from './harness.js';
import { cookiePair } from '../support/http.js';

type Forge = (req: IncomingMessage) => void;

const FORGED_ADMIN = {
  user: 'admin', role: 'admin', ref: 'x', via: 'bearer', csrfToken: 'forged', scope: undefined,
  createdAtMs: 0, idleExpiresAtMs: Number.MAX_SAFE_INTEGER, absoluteExpiresAtMs: Number.MAX_SAFE_INTEGER, data: undefined,
};

/** What other middleware may leave on a request before ringlet's runs. */
const FOREIGN_BEFORE: Array<[string, Forge]> = [
  ['express-session: an anonymous req.session = {}', (req) => Object.assign(req, { session: {} })],
  ['a forged req.session of an admin', (req) => Object.assign(req, { session: { user: 'admin', role: 'admin' } })],
  ['a forged req.session that looks like a ringlet bearer session', (req) => Object.assign(req, { session: { ...FORGED_ADMIN } })],
  ['a forged req.ringletSession', (req) => Object.assign(req, { ringletSession: { ...FORGED_ADMIN } })],
  ['a forged req.ringletSession as a getter', (req) => Object.defineProperty(req, 'ringletSession', { get: () => FORGED_ADMIN, configurable: true })],
];

/** A middleware that forges, whatever it costs it (a write ringlet refuses is swallowed, as sloppy-mode code would). */
function foreign(forge: Forge): Middleware {
  return (req, _res, next) => {
    try {
      forge(req);
    } catch {
      // ringlet's own name cannot be written once ringlet has resolved the request.
    }
    next();
  };
}

interface GuardCase {
  name: string;
  method: 'GET' | 'POST';
  guard: (r: Ringlet) => Middleware;
}

const GUARDS: GuardCase[] = [
  { name: "requireRole('viewer')", method: 'GET', guard: (r) => r.requireRole('viewer') },
  { name: "requireRole('admin')", method: 'GET', guard: (r) => r.requireRole('admin') },
  { name: "requirePermission('ui:read')", method: 'GET', guard: (r) => r.requirePermission('ui:read') },
  { name: "requirePermission('sessions:write')", method: 'GET', guard: (r) => r.requirePermission('sessions:write') },
  { name: 'requireCsrf()', method: 'POST', guard: (r) => r.requireCsrf() },
];

async function signIn(app: App, ringlet: Ringlet, user: string, role: 'admin' | 'viewer'): Promise<{ cookie: string; csrf: string }> {
  app.handle((_req, res) => {
    ringlet.login(res, user, role);
    res.end();
  });
  const cookie = cookiePair(await app.call('GET', '/login'), 'ringlet');
  const csrf = ringlet.sessions.resolveCookie([cookie.slice('ringlet='.length)], false)?.session.csrfToken;
  if (csrf === undefined) throw new Error('the new session does not resolve');
  return { cookie, csrf };
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode}: behind a foreign session middleware, every guard refuses a request without a ringlet session`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    let reached = 0;
    const handler: Middleware = (_req, res) => {
      reached++;
      res.end('reached');
    };
    for (const [what, forge] of FOREIGN_BEFORE) {
      for (const g of GUARDS) {
        const shapes: Array<[string, Middleware[]]> = [
          ['foreign, ringlet.middleware, guard', [foreign(forge), ringlet.middleware, g.guard(ringlet)]],
          ['foreign, guard (no ringlet.middleware)', [foreign(forge), g.guard(ringlet)]],
          ['ringlet.middleware, foreign, guard', [ringlet.middleware, foreign(forge), g.guard(ringlet)]],
        ];
        for (const [shape, steps] of shapes) {
          app.handle(chain(...steps, handler));
          const reply = await app.call(g.method, '/area', { headers: { origin: app.origin, 'x-csrf-token': 'forged' } });
          t.equal(reply.status, 401, `${what} → ${shape} (${g.name}): 401`);
        }
      }
    }
    t.equal(reached, 0, 'no handler behind a guard ever ran');
  });

  t.test(`${mode}: a foreign middleware cannot change the ringlet session handlers and guards see`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    const viewer = await signIn(app, ringlet, 'alice', 'viewer');
    const seen: string[] = [];
    const show: Middleware = (req, res) => {
      const own = (req as RingletRequest).ringletSession;
      seen.push(`${own?.user}/${own?.role}`);
      res.end(JSON.stringify({ foreign: (req as { session?: unknown }).session }));
    };
    for (const [what, forge] of FOREIGN_BEFORE) {
      app.handle(chain(foreign(forge), ringlet.middleware, foreign(forge), ringlet.requireRole('admin'), show));
      t.equal((await app.call('GET', '/admin', { headers: { cookie: viewer.cookie } })).status, 403, `${what}: alice is a viewer, whatever was forged`);
      app.handle(chain(foreign(forge), ringlet.middleware, foreign(forge), ringlet.requireRole('viewer'), show));
      const reply = await app.call('GET', '/area', { headers: { cookie: viewer.cookie } });
      t.equal(reply.status, 200, `${what}: alice's own session passes`);
    }
    t.same(new Set(seen), new Set(['alice/viewer']), 'req.ringletSession was ringlet\'s, every time');
    app.handle(chain(foreign((req) => Object.assign(req, { session: { cart: [1, 2] } })), ringlet.middleware, show));
    t.same((await app.call('GET', '/', { headers: { cookie: viewer.cookie } })).json, { foreign: { cart: [1, 2] } }, "ringlet leaves the other middleware's req.session alone");
    t.equal(ringlet.sessionOf({} as IncomingMessage), undefined, 'sessionOf: a request ringlet never saw has none');
  });

  t.test(`${mode}: a request whose ringletSession another middleware made unchangeable is refused (500), never passed`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    const viewer = await signIn(app, ringlet, 'alice', 'viewer');
    const pin: Forge = (req) => Object.defineProperty(req, 'ringletSession', { value: FORGED_ADMIN, configurable: false });
    let reached = 0;
    for (const g of GUARDS) {
      app.handle(chain(foreign(pin), g.guard(ringlet), (_req, res) => {
        reached++;
        res.end();
      }));
      for (const cookie of [undefined, viewer.cookie]) {
        const reply = await app.call(g.method, '/area', { headers: { origin: app.origin, 'x-csrf-token': viewer.csrf, ...(cookie ? { cookie } : {}) } });
        t.equal(reply.status, 500, `${g.name}, ${cookie ? 'with' : 'without'} a session: the chain's error answer`);
      }
    }
    t.equal(reached, 0);
    app.handle((req, res) => {
      pin(req);
      ringlet.wrap(() => {
        reached++;
        res.end();
      })(req, res);
    });
    t.equal((await app.call('GET', '/')).status, 500, 'wrap: the handler does not run');
    t.equal(reached, 0);
  });

  t.test(`${mode}: CSRF tokens are compared without throwing, whatever their bytes`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    const alice = await signIn(app, ringlet, 'alice', 'viewer');
    const bob = await signIn(app, ringlet, 'bob', 'viewer');
    app.handle(chain(ringlet.middleware, ringlet.requireCsrf(), (_req, res) => res.end('changed')));
    const same = alice.csrf;
    const cases: Array<[string, string, number]> = [
      ['the right token', same, 200],
      ['one non-ASCII character at the end (same length in characters)', `${same.slice(0, -1)}é`, 403],
      ['one non-ASCII character at the start', `é${same.slice(1)}`, 403],
      ['a 4-byte character in place of two', `${same.slice(0, -2)}😀`, 403],
      ['another session\'s token', bob.csrf, 403],
      ['one character short', same.slice(0, -1), 403],
      ['one character long', `${same}A`, 403],
      ['empty', '', 403],
      ['the token twice', `${same}, ${same}`, 403],
    ];
    for (const [name, token, status] of cases) {
      // Header bytes arrive one character each (latin1): 'é' is one byte, the length of the
      // token in characters, two bytes once UTF-8 encoded. Characters above U+00FF go as
      // their UTF-8 bytes, as a client would send them.
      const wire = /^[\x00-\xff]*$/.test(token) ? token : Buffer.from(token, 'utf8').toString('latin1');
      const reply = await app.call('POST', '/change', { headers: { cookie: alice.cookie, origin: app.origin, 'x-csrf-token': wire } });
      t.equal(reply.status, status, `header: ${name}`);
      const form = await app.call('POST', '/change', { headers: { cookie: alice.cookie, origin: app.origin }, form: { csrf: token } });
      t.equal(form.status, status, `form field: ${name}`);
    }
    const token = ringlet.sessions.issueToken('alice', 'viewer', ['ui:read']).token;
    t.equal((await app.call('POST', '/change', { headers: { authorization: `Bearer ${token}` } })).status, 200, 'a bearer token needs no CSRF token and no Origin');
  });

  t.test(`${mode}: requireCsrf takes the csrf form field`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks(), maxBodyBytes: 1024 });
    const app = await startApp(t);
    const alice = await signIn(app, ringlet, 'alice', 'viewer');
    const echo: Middleware = (req, res) => {
      const body = (req as RingletRequest).body as Record<string, unknown> | undefined;
      res.end(JSON.stringify({ body, proto: body === undefined ? 'none' : Object.getPrototypeOf(body) === null ? 'null' : 'object', marked: (req as { _body?: unknown })._body === true }));
    };
    app.handle(chain(ringlet.middleware, ringlet.requireCsrf(), echo));
    const headers = { cookie: alice.cookie, origin: app.origin };

    const read = await app.call('POST', '/change', { headers, form: { note: 'a b&c', csrf: alice.csrf } });
    t.equal(read.status, 200, 'a urlencoded body with the token passes');
    t.same(read.json, { body: { note: 'a b&c', csrf: alice.csrf }, proto: 'null', marked: true }, 'the fields ringlet read are left on req.body, marked as read');
    t.equal((await app.call('POST', '/change', { headers, form: { note: 'x' } })).status, 403, 'no csrf field');
    t.equal((await app.call('POST', '/change', { headers, form: { csrf: 'B'.repeat(alice.csrf.length) } })).status, 403, 'a wrong csrf field');
    t.equal((await app.call('POST', '/change', { headers, body: `csrf=${alice.csrf}` })).status, 403, 'no Content-Type: not a form, not read');
    t.equal((await app.call('POST', '/change', { headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=x&csrf=${alice.csrf}` })).status, 403, 'the first field wins (a later duplicate cannot override it)');
    t.equal((await app.call('POST', '/change', { headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ csrf: alice.csrf }) })).status, 403, 'a JSON body is not read: JSON clients send X-CSRF-Token');
    const big = await app.call('POST', '/change', { headers, form: { csrf: alice.csrf, pad: 'x'.repeat(2000) } });
    t.equal(big.status, 413, 'a body over maxBodyBytes: 413');
    t.equal((await app.call('POST', '/change', { headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=%E0%A4' })).status, 400, 'a malformed form: 400');

    // Another parser ran first: its req.body is used, the stream is not read again.
    const parsed = (body: unknown): Middleware => (req, _res, next) => {
      Object.assign(req, { body });
      req.resume();
      next();
    };
    const cases: Array<[string, unknown, number]> = [
      ['a parsed body with the token', { csrf: alice.csrf, note: 'n' }, 200],
      ['a parsed body without it', { note: 'n' }, 403],
      ['a parsed body whose csrf is a list (qs extended)', { csrf: [alice.csrf] }, 403],
      ['a parsed body that inherits csrf', Object.create({ csrf: alice.csrf }), 403],
      ['a raw Buffer body', Buffer.from(`csrf=${alice.csrf}`), 403],
      ['a string body', `csrf=${alice.csrf}`, 403],
      ['an empty body object (express.urlencoded on no body)', {}, 403],
    ];
    for (const [name, body, status] of cases) {
      app.handle(chain(ringlet.middleware, parsed(body), ringlet.requireCsrf(), (_req, res) => res.end('changed')));
      t.equal((await app.call('POST', '/change', { headers, form: { csrf: alice.csrf } })).status, status, name);
    }
  });

  t.test(`${mode}: requireCsrf refuses a cross-origin state change before it reads a byte of the body`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    const alice = await signIn(app, ringlet, 'alice', 'viewer');
    app.handle(chain(ringlet.middleware, ringlet.requireCsrf(), (_req, res) => res.end('changed')));
    // Declares a body and never sends it: reading it would wait for requestTimeoutMs.
    const reply = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port: app.port, method: 'POST', path: '/change', agent: false, headers: {
        cookie: alice.cookie, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded', 'content-length': '100',
      } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', () => {});
      req.write('csrf=');
    });
    t.equal(reply, 403);
    t.equal((await app.call('POST', '/change', { headers: { cookie: alice.cookie }, form: { csrf: alice.csrf } })).status, 403, 'no Origin, no Sec-Fetch-Site, no Referer: refused');
    t.equal((await app.call('POST', '/change', { headers: { cookie: alice.cookie, 'sec-fetch-site': 'cross-site', origin: app.origin }, form: { csrf: alice.csrf } })).status, 403, 'Sec-Fetch-Site: cross-site');
  });

  t.test(`${mode}: browsers without a session go to the login path; JSON clients keep 401`, async (t) => {
    const withPath = createRinglet({ mode, keys: generateJwks(), loginPath: '/signin' });
    const withoutPath = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const cases: Array<[string, Ringlet, 'role' | 'permission', string, Record<string, string>, number, string | undefined]> = [
      ['a browser page', withPath, 'role', 'GET', { accept: browser }, 303, '/signin?next=%2Fadmin%3Fx%3D1%26y%3D%2F'],
      ['a browser page, requirePermission', withPath, 'permission', 'GET', { accept: browser }, 303, '/signin?next=%2Fadmin%3Fx%3D1%26y%3D%2F'],
      ['HEAD from a browser', withPath, 'role', 'HEAD', { accept: browser }, 303, '/signin?next=%2Fadmin%3Fx%3D1%26y%3D%2F'],
      ['a JSON client', withPath, 'role', 'GET', { accept: 'application/json' }, 401, undefined],
      ['curl (*/*)', withPath, 'role', 'GET', { accept: '*/*' }, 401, undefined],
      ['no Accept', withPath, 'permission', 'GET', {}, 401, undefined],
      ['a browser POST (a form resubmitted)', withPath, 'role', 'POST', { accept: browser }, 401, undefined],
      ['a browser, no loginPath configured', withoutPath, 'role', 'GET', { accept: browser }, 401, undefined],
    ];
    for (const [name, ringlet, kind, method, headers, status, location] of cases) {
      const guard = kind === 'role' ? ringlet.requireRole('viewer') : ringlet.requirePermission('ui:read');
      app.handle(chain(ringlet.middleware, guard, (_req, res) => res.end('in')));
      const reply = await app.call(method, '/admin?x=1&y=/', { headers });
      t.equal(reply.status, status, `${name}: ${status}`);
      t.equal(reply.headers.location, location, `${name}: Location`);
      if (status === 401) t.equal(reply.headers['www-authenticate'], 'Bearer realm="ringlet"', `${name}: WWW-Authenticate`);
      t.equal(reply.headers['cache-control'], 'no-store', `${name}: the standard headers`);
    }
    const alice = await signIn(app, withPath, 'alice', 'viewer');
    app.handle(chain(withPath.middleware, withPath.requireRole('admin'), (_req, res) => res.end('in')));
    t.equal((await app.call('GET', '/admin', { headers: { accept: browser, cookie: alice.cookie } })).status, 403, 'signed in below the role: 403, no redirect');
  });

  t.test(`${mode}: requirePermission follows the role table and a token's scope, as the server's gate does`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const custom = createRinglet({ mode, keys: generateJwks(), permissions: { admin: ['ui:read', 'ui:write'], viewer: [] } });
    const app = await startApp(t);
    const viewer = await signIn(app, ringlet, 'vera', 'viewer');
    const admin = await signIn(app, ringlet, 'ann', 'admin');
    const bearer = (role: 'admin' | 'viewer', scope: string[]) => `Bearer ${ringlet.sessions.issueToken(role === 'admin' ? 'ann' : 'vera', role, scope).token}`;
    const fullAdminScope = ['sessions:own', 'sessions:read', 'sessions:write', 'users:read', 'users:write', 'metrics:read', 'ui:read', 'ui:write'];
    const callers: Record<string, Record<string, string>> = {
      'viewer cookie': { cookie: viewer.cookie },
      'admin cookie': { cookie: admin.cookie },
      'admin token, full scope': { authorization: bearer('admin', fullAdminScope) },
      'admin token narrowed to metrics:read': { authorization: bearer('admin', ['metrics:read']) },
      'viewer token claiming ui:write': { authorization: bearer('viewer', ['ui:write']) },
    };
    // Written from the permission table (src/access/permissions.ts), not from Grants.
    const expected: Record<string, Record<string, number>> = {
      'viewer cookie': { 'ui:read': 200, 'ui:write': 403, 'metrics:read': 200, 'sessions:write': 403, 'tokens:mint': 200, 'password:change': 200 },
      'admin cookie': { 'ui:read': 200, 'ui:write': 200, 'metrics:read': 200, 'sessions:write': 200, 'tokens:mint': 200, 'password:change': 200 },
      'admin token, full scope': { 'ui:read': 200, 'ui:write': 200, 'metrics:read': 200, 'sessions:write': 200, 'tokens:mint': 403, 'password:change': 403 },
      'admin token narrowed to metrics:read': { 'ui:read': 403, 'ui:write': 403, 'metrics:read': 200, 'sessions:write': 403, 'tokens:mint': 403, 'password:change': 403 },
      'viewer token claiming ui:write': { 'ui:read': 403, 'ui:write': 403, 'metrics:read': 403, 'sessions:write': 403, 'tokens:mint': 403, 'password:change': 403 },
    };
    for (const [caller, headers] of Object.entries(callers)) {
      for (const [permission, status] of Object.entries(expected[caller]!)) {
        app.handle(chain(ringlet.middleware, ringlet.requirePermission(permission as 'ui:read'), (_req, res) => res.end('in')));
        t.equal((await app.call('GET', '/x', { headers })).status, status, `${caller} × ${permission}`);
      }
    }
    const customViewer = await signIn(app, custom, 'vera', 'viewer');
    const customAdmin = await signIn(app, custom, 'ann', 'admin');
    for (const [who, cookie, permission, status] of [
      ['viewer', customViewer.cookie, 'ui:read', 403], ['admin', customAdmin.cookie, 'ui:write', 200], ['admin', customAdmin.cookie, 'metrics:read', 403],
    ] as const) {
      app.handle(chain(custom.middleware, custom.requirePermission(permission), (_req, res) => res.end('in')));
      t.equal((await app.call('GET', '/x', { headers: { cookie } })).status, status, `permissions option: ${who} × ${permission}`);
    }
  });

  t.test(`${mode}: credentials are read with the server's limits`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    const alice = await signIn(app, ringlet, 'alice', 'viewer');
    app.handle(ringlet.wrap((req: RingletRequest, res) => res.end(req.ringletSession?.user ?? 'anonymous')));
    t.equal((await app.call('GET', '/', { headers: { cookie: `pad=${'x'.repeat(7000)}; ${alice.cookie}` } })).text, 'alice', 'a Cookie header of 7 KB is read');
    t.equal((await app.call('GET', '/', { headers: { cookie: `pad=${'x'.repeat(8200)}; ${alice.cookie}` } })).text, 'anonymous', 'over 8 KiB: not parsed for a session (the server\'s cap)');
    const token = ringlet.sessions.issueToken('bob', 'viewer', ['ui:read']).token;
    t.equal((await app.call('GET', '/', { headers: { cookie: alice.cookie, authorization: `bearer ${token}` } })).text, 'bob', 'a bearer token comes first, its scheme case-insensitive');
  });
}
