import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveServeConfig } from '../../src/cli/serve-config.js';
import { commandsStartingWith, readmeRecipe } from '../support/readme.js';
import { jsonLogin, startTestServer } from '../support/server.js';
import { cookiesFrom, sendRequest, setCookieLine } from '../support/http.js';
import { hasOpenssl, NO_OPENSSL } from '../support/tls.js';


t.test('HTTPS: Secure cookies with the __Host- prefix', { skip: hasOpenssl() ? false : NO_OPENSSL }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The README's TLS recipe: its openssl command as printed, then its `ringlet serve` flags.
  const recipe = readmeRecipe('tls');
  const [openssl] = commandsStartingWith(recipe, 'openssl ');
  const [serve] = commandsStartingWith(recipe, 'ringlet serve');
  execFileSync('openssl', (openssl as string[]).slice(1), { cwd: dir, stdio: 'ignore' });
  const { options } = resolveServeConfig((serve as string[]).slice(2), {});
  t.same(options.allowedHosts, ['router.lan'], 'the certificate\'s name is served');
  const s = await startTestServer({ dir, options: { tlsCertPath: join(dir, options.tlsCertPath as string), tlsKeyPath: join(dir, options.tlsKeyPath as string), allowedHosts: options.allowedHosts } });
  t.teardown(() => s.close());
  const reply = await sendRequest(s.port, 'POST', '/login', { tls: true, json: { username: 'admin', password: s.firstPassword } });
  t.equal(reply.status, 200);
  const line = setCookieLine(reply, '__Host-ringlet');
  t.ok(line, 'the __Host- prefix');
  t.match(line, /; Secure/);
  t.match(line, /; Path=\//);
  t.notMatch(line, /Domain=/i, '__Host- cookies carry no Domain');
  t.ok(s.logEvents('listening')[0]?.['url']?.toString().startsWith('https://'));
});

t.test('--behind-tls: Secure __Host- cookies on plain HTTP behind a TLS proxy', async (t) => {
  const s = await startTestServer({ options: { behindTls: true } });
  t.teardown(() => s.close());
  const r = await jsonLogin(s, 'admin', s.firstPassword);
  t.equal(r.status, 200);
  const names = Object.keys(cookiesFrom(r));
  t.ok(names.includes('__Host-ringlet'));
  t.match(setCookieLine(r, '__Host-ringlet'), /; Secure/);
  const bad = await s.request('GET', '/session', { headers: { cookie: `ringlet=${cookiesFrom(r)['__Host-ringlet']}` } });
  t.equal(bad.status, 401, 'the unprefixed name is not accepted');
});
