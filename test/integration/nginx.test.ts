import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminWithPassword, startTestServer } from '../support/server.js';
import { nginxRecipe } from './nginx-recipe.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);

function freePort(): Promise<number> {
  const s = createServer();
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => {
    const port = (s.address() as AddressInfo).port;
    s.close(() => resolve(port));
  }));
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('the nginx auth_request recipe end to end', { skip: NGINX ? false : 'nginx is not installed (apt-get install nginx-light); .ci/run installs it' }, async (t) => {
  const prefix = mkdtempSync(join(tmpdir(), 'ringlet-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d));
  t.teardown(() => rmSync(prefix, { recursive: true, force: true }));
  const seen: IncomingHttpHeaders[] = [];
  const app = createServer((req, res) => {
    seen.push(req.headers);
    res.end(`admin UI for ${String(req.headers['remote-user'])}`);
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  t.teardown(() => app.close());
  const s = await startTestServer({ options: { trustedProxies: ['127.0.0.1'] } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const listen = await freePort();
  writeFileSync(join(prefix, 'nginx.conf'), nginxRecipe({ listen, ringlet: s.port, app: (app.address() as AddressInfo).port, prefix }));
  const nginx = spawn(NGINX as string, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  t.teardown(() => nginx.kill('SIGTERM'));
  for (let i = 0; i < 50; i++) {
    try {
      await get(listen, '/login');
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const anon = await get(listen, '/status?x=1');
  t.equal(anon.status, 302, 'anonymous: redirected');
  t.equal(anon.headers.location?.replace(/^https?:\/\/[^/]+/, ''), '/login?next=/status?x=1');
  const loginPage = await get(listen, '/login?next=/status');
  t.equal(loginPage.status, 200);
  t.match(loginPage.body, /<form/);
  t.equal(seen.length, 0, 'the admin UI saw nothing yet');

  const ok = await get(listen, '/status', { cookie: admin.cookie, 'remote-user': 'root' });
  t.equal(ok.status, 200);
  t.equal(ok.body, 'admin UI for admin', 'identity from ringlet, not from the client');
  t.equal(seen.at(-1)?.['remote-groups'], 'admin');
  const bad = await get(listen, '/status', { cookie: 'ringlet=forged' });
  t.equal(bad.status, 302, 'a forged cookie is no session');
  const session = await get(listen, '/session', { cookie: admin.cookie });
  t.equal(session.status, 200, 'ringlet routes through nginx');
});
