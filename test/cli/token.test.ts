import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateJwks } from '../../src/codec/index.js';
import { hashPasswordSync, saveUsersFile, UsersDb } from '../../src/users/index.js';
import { jsonLogin, startTestServer, TEST_PROFILE } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';

// The shipped bundle, as an operator runs it.
const BIN = fileURLToPath(new URL('../../ringlet.js', import.meta.url));
const COST = { logN: TEST_PROFILE.scryptLogN as number, r: 8, p: 1 };
const PASSWORD = 'a long enough passphrase';

function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'keys.json'), JSON.stringify(generateJwks()), { mode: 0o600 });
  const hash = hashPasswordSync(PASSWORD, COST);
  saveUsersFile(join(dir, 'users.json'), new UsersDb([
    { name: 'admin', role: 'admin', hash, mustChangePassword: false },
    { name: 'monitor', role: 'viewer', hash, mustChangePassword: false },
    { name: 'fresh', role: 'viewer', hash, mustChangePassword: true },
  ]));
  return dir;
}

function run(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, RINGLET_KEYS: join(dir, 'keys.json'), RINGLET_USERS: join(dir, 'users.json') }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('token mint: help, and bad input is exit 2 with one line', (t) => {
  const dir = setup(t);
  for (const args of [['token', '--help'], ['token', 'mint', '--help']]) t.match(run(dir, args), { code: 0, out: /^Usage: ringlet token mint USER/ });
  const cases: Array<[string[], RegExp]> = [
    [['token'], /^ringlet token: expected a command: mint/],
    [['token', 'burn'], /^ringlet token: unknown command "burn"/],
    [['token', 'mint', '--scope', 'metrics:read', '--ttl', '30d'], /expected one USER/],
    [['token', 'mint', 'monitor', '--ttl', '30d'], /--scope is required/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:read'], /--ttl is required/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:read', '--ttl', '30 days'], /--ttl must be a number and a unit s, m, h or d/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:read', '--ttl', '401d'], /--ttl must be from 60s to 400d/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:read', '--ttl', '59s'], /--ttl must be from 60s to 400d/],
    [['token', 'mint', 'monitor', '--scope', 'password:change', '--ttl', '30d'], /a token never carries "password:change"/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:read tokens:mint', '--ttl', '30d'], /a token never carries "tokens:mint"/],
    [['token', 'mint', 'monitor', '--scope', 'sessions:write', '--ttl', '30d'], /monitor is viewer, which does not grant "sessions:write"/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:rea', '--ttl', '30d'], /unknown permission "metrics:rea"/],
    [['token', 'mint', 'nobody', '--scope', 'metrics:read', '--ttl', '30d'], /no user "nobody"/],
    [['token', 'mint', 'fresh', '--scope', 'metrics:read', '--ttl', '30d'], /fresh must change the generated password first/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:read', '--ttl', '30d', '--keys', join(dir, 'none.json')], /cannot read the keys file .*none\.json \(ENOENT\)/],
    [['token', 'mint', 'monitor', '--scope', 'metrics:read', '--ttl', '30d', '--frob'], /Unknown option '--frob' \(see --help\)$/],
  ];
  for (const [args, message] of cases) {
    const r = run(dir, args);
    t.equal(r.code, 2, `${args.slice(1).join(' ')}: exit 2`);
    t.match(r.err.trimEnd(), message, `${args.slice(1).join(' ')}: says why`);
    t.equal(r.err.trimEnd().split('\n').length, 1, 'one line');
    t.equal(r.out, '', 'no token');
  }
  t.end();
});

t.test('a minted token works on the running server, narrowed to its scope, and is revocable by jti', async (t) => {
  const dir = setup(t);
  const minted = run(dir, ['token', 'mint', 'monitor', '--scope', 'metrics:read', '--ttl', '30d']);
  t.equal(minted.code, 0, minted.err);
  const token = minted.out.trim();
  t.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'the token alone on stdout');
  t.match(minted.err, /^ringlet token mint: token for monitor \(viewer\), scope metrics:read, jti (m-\d+-[\w-]{16}), expires \d{4}-.*Z \(30 days\)\n$/);
  const jti = /jti (\S+),/.exec(minted.err)?.[1] as string;
  t.notOk(minted.err.includes(token), 'the token is not repeated on stderr');

  const written = run(dir, ['token', 'mint', 'monitor', '--scope', 'ui:read,metrics:read', '--ttl', '12h', '--out', join(dir, 'prometheus.token')]);
  t.equal(written.code, 0, written.err);
  t.equal(written.out, '');
  t.equal(statSync(join(dir, 'prometheus.token')).mode & 0o777, 0o600, '--out writes mode 0600');
  const fileToken = readFileSync(join(dir, 'prometheus.token'), 'utf8');
  t.match(fileToken, /^eyJ[\w.-]+\n$/);

  const s = await startTestServer({ dir, options: { keysPath: join(dir, 'keys.json') } });
  t.teardown(() => s.close());
  const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });
  const session = await s.request('GET', '/session', { headers: bearer(token) });
  t.equal(session.status, 200);
  t.match(session.json, { user: 'monitor', role: 'viewer', via: 'bearer', scope: ['metrics:read'] });
  t.equal((await s.request('GET', '/metrics', { headers: bearer(token) })).status, 200, 'its scope is granted');
  t.equal((await s.request('GET', '/auth', { headers: bearer(token) })).status, 403, 'nothing beyond it (/auth needs ui:read)');
  t.equal((await s.request('GET', '/sessions', { headers: bearer(token) })).status, 403, 'nor its own sessions');
  t.equal((await s.request('GET', '/auth?scope=ui:read', { headers: bearer(fileToken.trim()) })).status, 200, 'the other token has ui:read');
  t.equal((await s.request('POST', '/token', { headers: bearer(token), json: {} })).status >= 400, true, 'it cannot mint tokens');

  const admin = await jsonLogin(s, 'admin', PASSWORD);
  const revoked = await s.request('POST', '/tokens/revoke', {
    headers: { cookie: sessionCookieOf(admin), 'x-csrf-token': admin.json.csrfToken, origin: s.origin },
    json: { jti, user: 'monitor' },
  });
  t.equal(revoked.status, 200);
  t.equal((await s.request('GET', '/session', { headers: bearer(token) })).status, 401, 'revoked by jti');
  t.equal((await s.request('GET', '/session', { headers: bearer(fileToken.trim()) })).status, 200, 'the other token is untouched');

  t.equal(run(dir, ['users', 'remove', 'monitor']).code, 0);
  const deadline = Date.now() + 5000;
  while (s.running.deps.users.current().has('monitor') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal((await s.request('GET', '/session', { headers: bearer(fileToken.trim()) })).status, 401, 'removing the user ends it');
});
