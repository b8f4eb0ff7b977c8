import t from 'tap';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRinglet, generateJwks, type Middleware, type RingletRequest } from 'ringlet';

interface Reply { status: number; body: string; setCookie: string[] }

function call(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A tiny Connect-style chain, as Express runs middleware, without Express. */
function chain(...steps: Middleware[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err) {
        res.statusCode = 500;
        res.end('error');
        return;
      }
      const step = steps[i++];
      if (step) step(req, res, next);
    };
    next();
  };
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode}: node:http wrapper and Connect-style middleware`, async (t) => {
    const ringlet = createRinglet({ mode, capacity: 16, maxSessionsPerUser: 4, keys: generateJwks() });
    const app = ringlet.wrap((req: RingletRequest, res) => {
      if (req.url === '/login') {
        ringlet.login(res, 'alice', 'viewer');
        res.end('ok');
      } else if (req.url === '/logout') {
        ringlet.logout(req, res);
        res.end('bye');
      } else res.end(req.session ? `hello ${req.session.user} (${req.session.role})` : 'anonymous');
    });
    const admin = chain(ringlet.middleware, ringlet.requireRole('admin'), (_req, res) => res.end('admin area'));
    const viewer = chain(ringlet.middleware, ringlet.requireRole('viewer'), ringlet.requireCsrf(), (req, res) => res.end(`changed by ${(req as RingletRequest).session?.user}`));
    const server = createServer((req, res) => (req.url?.startsWith('/admin') ? admin(req, res) : req.url?.startsWith('/change') ? viewer(req, res) : app(req, res)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => server.close());
    const port = (server.address() as AddressInfo).port;

    t.equal((await call(port, 'GET', '/')).body, 'anonymous');
    const login = await call(port, 'GET', '/login');
    const cookieLine = login.setCookie.find((c) => c.startsWith('ringlet='));
    t.match(cookieLine, /HttpOnly; SameSite=Strict|SameSite=Strict.*HttpOnly/i);
    const cookie = (cookieLine ?? '').split(';')[0] as string;
    t.equal((await call(port, 'GET', '/', { cookie })).body, 'hello alice (viewer)');
    t.equal((await call(port, 'GET', '/admin')).status, 401, 'requireRole: no session');
    t.equal((await call(port, 'GET', '/admin', { cookie })).status, 403, 'requireRole: viewer below admin');
    t.equal((await call(port, 'POST', '/change', { cookie, origin: `http://127.0.0.1:${port}` })).status, 403, 'requireCsrf: no token');
    const csrf = ringlet.sessions.resolveCookie([cookie.slice('ringlet='.length)], false)?.session.csrfToken ?? '';
    const changed = await call(port, 'POST', '/change', { cookie, origin: `http://127.0.0.1:${port}`, 'x-csrf-token': csrf, host: `127.0.0.1:${port}` });
    t.same([changed.status, changed.body], [200, 'changed by alice']);
    t.equal((await call(port, 'POST', '/change', { cookie, origin: 'http://evil.example', 'x-csrf-token': csrf })).status, 403, 'requireCsrf: foreign origin');
    const out = await call(port, 'GET', '/logout', { cookie });
    t.match(out.setCookie.join(), /ringlet=;.*Max-Age=0/);
    t.equal((await call(port, 'GET', '/', { cookie })).body, 'anonymous', 'logged out');
  });
}

t.test('options are validated once, naming the field', (t) => {
  t.throws(() => createRinglet({ capacity: 0 }), /^capacity: must be an integer from 1 to 1048576/);
  t.throws(() => createRinglet({ mode: 'redis' as 'ram' }), /^mode: must be one of ram, cookie/);
  t.throws(() => createRinglet({ keys: '{"keys":[]}' }), /keys/);
  t.end();
});
