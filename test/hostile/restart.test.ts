/**
 * Restart and key faults: RAM sessions die with the process; cookie sessions survive a
 * restart with the same JWKS (another boot id: the wall-clock path) and are refused
 * cleanly (401, browsers to the login page) with a new one; key rotation keeps old
 * cookies and tokens working until the old key is removed, re-sealing cookies with the
 * new key on their next use.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rotateJwks, type JwkSet } from '../../src/codec/index.js';
import { ManualClock } from '../support/clock.js';
import { adminWithPassword, startTestServer, type TestServer } from '../support/server.js';
import { assertNoSecrets, cookieValue } from './client.js';
import { cookiePair, setCookieLine } from '../support/http.js';

const PASSWORD = 'restart fault passphrase';
const T = Date.UTC(2027, 2, 1, 9);

function workspace(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-hostile-restart-'));
  const keysPath = join(dir, 'keys.json');
  const open: TestServer[] = [];
  t.teardown(async () => {
    for (const s of open) if (s.running.server.listening) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (mode: 'ram' | 'cookie') => {
    const s = await startTestServer({ mode, dir, wall: new ManualClock(T), options: { keysPath } });
    open.push(s);
    return s;
  };
  return { dir, keysPath, start };
}

const get = (s: TestServer, path: string, headers: Record<string, string>) => s.request('GET', path, { headers });

function kidOf(jwe: string): unknown {
  return JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString('utf8')).kid;
}

t.test('ram mode: a restart ends every session; signing in again works', async (t) => {
  const w = workspace(t);
  const a = await w.start('ram');
  const admin = await adminWithPassword(a, PASSWORD);
  const token = (await a.request('POST', '/token', { json: { username: 'admin', password: PASSWORD } })).json.access_token as string;
  await a.close();
  const b = await w.start('ram');
  t.equal((await get(b, '/session', { cookie: admin.cookie })).status, 401, 'the RAM session is gone (by design)');
  t.equal((await get(b, '/session', { authorization: `Bearer ${token}` })).status, 200, 'a bearer JWT survives: the keys file is the same');
  t.equal((await b.request('POST', '/login', { json: { username: 'admin', password: PASSWORD } })).status, 200, 'signing in again works');
  assertNoSecrets(t, b, [PASSWORD, cookieValue(admin.cookie), token]);
});

t.test('cookie mode: a restart with the same JWKS keeps sessions; with a new JWKS they are refused cleanly', async (t) => {
  const w = workspace(t);
  const a = await w.start('cookie');
  const admin = await adminWithPassword(a, PASSWORD);
  const token = (await a.request('POST', '/token', { json: { username: 'admin', password: PASSWORD } })).json.access_token as string;
  const bootA = a.running.deps.clocks.bootId;
  await a.close();

  const b = await w.start('cookie');
  t.not(b.running.deps.clocks.bootId, bootA, 'the restarted server is another boot');
  t.equal((await get(b, '/session', { cookie: admin.cookie })).status, 200, 'same JWKS: the cookie session survives (wall-clock path)');
  t.equal((await get(b, '/session', { authorization: `Bearer ${token}` })).status, 200, 'and the bearer token');
  await b.close();

  rmSync(w.keysPath);
  const c = await w.start('cookie');
  const bodies: string[] = [];
  const api = await get(c, '/session', { cookie: admin.cookie, accept: 'application/json' });
  bodies.push(api.text);
  t.same([api.status, api.json?.error], [401, 'unauthorized'], 'new JWKS: the old cookie is no session (401)');
  t.equal((await get(c, '/session', { authorization: `Bearer ${token}` })).status, 401, 'the old token too');
  const page = await get(c, '/', { cookie: admin.cookie, accept: 'text/html' });
  t.same([page.status, page.headers.location], [303, '/login'], 'a browser is sent to the login page');
  t.equal(c.logs.filter((l) => l.includes('"internal_error"')).length, 0, 'no internal error');
  t.equal((await c.request('POST', '/login', { json: { username: 'admin', password: PASSWORD } })).status, 200, 'signing in again works');
  assertNoSecrets(t, c, [PASSWORD, cookieValue(admin.cookie), token], bodies);
});

t.test('cookie mode: key rotation accepts old cookies and tokens until the old key is removed', async (t) => {
  const w = workspace(t);
  const a = await w.start('cookie');
  const admin = await adminWithPassword(a, PASSWORD);
  const oldCookie = admin.cookie;
  const oldToken = (await a.request('POST', '/token', { json: { username: 'admin', password: PASSWORD } })).json.access_token as string;
  await a.close();

  const original = JSON.parse(readFileSync(w.keysPath, 'utf8')) as JwkSet;
  const rotated = rotateJwks(original);
  writeFileSync(w.keysPath, JSON.stringify(rotated), { mode: 0o600 });
  t.equal(rotated.keys.length, original.keys.length + 2, 'rotation put two new keys in front');

  const b = await w.start('cookie');
  const withOld = await get(b, '/session', { cookie: oldCookie });
  t.equal(withOld.status, 200, 'old cookie accepted while its key is listed');
  t.ok(setCookieLine(withOld, 'ringlet'), 'and re-sealed with the newest key on this use');
  const newCookie = cookiePair(withOld, 'ringlet');
  t.equal(kidOf(cookieValue(newCookie)), rotated.keys.find((k) => k.alg === 'dir' || k.alg === 'A256GCM')!.kid, 'the new cookie names the new key');
  t.not(kidOf(cookieValue(oldCookie)), kidOf(cookieValue(newCookie)), 'the old one named the old key');
  t.equal((await get(b, '/session', { authorization: `Bearer ${oldToken}` })).status, 200, 'old bearer token accepted while its key is listed');
  await b.close();

  // Drop the old keys: only the two added by the rotation remain.
  writeFileSync(w.keysPath, JSON.stringify({ keys: rotated.keys.slice(0, 2) }), { mode: 0o600 });
  const c = await w.start('cookie');
  t.equal((await get(c, '/session', { cookie: oldCookie })).status, 401, 'old cookie refused once its key is gone');
  const page = await get(c, '/', { cookie: oldCookie, accept: 'text/html' });
  t.same([page.status, page.headers.location], [303, '/login'], 'a browser with it gets the login page');
  t.equal((await get(c, '/session', { authorization: `Bearer ${oldToken}` })).status, 401, 'old token refused');
  t.equal((await get(c, '/session', { cookie: newCookie })).status, 200, 'the re-sealed cookie lives on');
  assertNoSecrets(t, c, [PASSWORD, cookieValue(oldCookie), cookieValue(newCookie), oldToken]);
});
