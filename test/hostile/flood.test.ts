/**
 * Floods: bogus-cookie requests (heap flat), failed-login floods from one address and from
 * many (throttled; the real admin still gets in), one user far past the per-user cap, the
 * store full of other users (global LRU eviction, logged and counted), and a burst of
 * parallel logins (hashing bound held). Policies: /tmp/ringlet-readme/security.md.
 */
import t from 'tap';
import { SeededRandom } from '../support/seeded-random.js';
import { ManualClock } from '../support/clock.js';
import { hashPasswordSync, setUserPassword } from '../../src/users/index.js';
import { hostileCookieHeader, mutateSessionId } from '../support/fuzz.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';
import { StatusCounts, assertNoSecrets, cookieValue, pipelineFlood, rawRequest } from './client.js';

const PASSWORD = 'flood test passphrase';
const MiB = 1024 * 1024;

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc (tap does: package.json "node-arg")');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function addUsers(s: TestServer, names: string[], role: 'admin' | 'viewer' = 'viewer'): Promise<void> {
  const cost = { logN: TEST_PROFILE.scryptLogN!, r: TEST_PROFILE.scryptR!, p: TEST_PROFILE.scryptP! };
  // Hash first (slow), then one locked change applied to the file as it is now.
  const hashes = names.map((name) => hashPasswordSync(`${name} ${PASSWORD}`, cost));
  await s.running.deps.users.update((db) => names.reduce((acc, name, i) => setUserPassword(acc, name, hashes[i] as string, { role }), db));
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

t.test('100 000 requests with bogus cookies: heap flat, nothing stored, the admin session still valid', async (t) => {
  // Log level info: the per-request debug line would otherwise be kept in s.logs by the test harness.
  const s = await startTestServer({ options: { logLevel: 'info' }, profile: { maxHeaderBytes: 16_384 } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  const id = cookieValue(admin.cookie);
  const rng = new SeededRandom(77);
  // 512 distinct hostile requests, prepared once so the measurement sees the server, not the generator.
  const requests = Array.from({ length: 512 }, (_, i) => {
    const cookie = i % 2 === 0 ? hostileCookieHeader(rng, 'ringlet', 3000).value : `ringlet=${mutateSessionId(rng, id).value}`;
    return rawRequest('GET', rng.pick(['/session', '/auth', '/']), { cookie, accept: 'application/json' });
  });
  const counts = new StatusCounts();
  const flood = (n: number) => pipelineFlood(s.port, n, (i) => requests[i % requests.length]!, (status) => counts.add(status), { connections: 4, depth: 32, perConnection: 900 });
  await flood(10_000); // warm-up: JIT, socket pools, lazily built tables
  const activeBefore = s.running.deps.sessions.stats().active;
  const before = heapAfterGc();
  const started = Date.now();
  await flood(100_000);
  const elapsedMs = Date.now() - started;
  const after = heapAfterGc();
  const growth = after - before;
  t.equal(counts.get(401), 110_000, `every bogus request answered 401 ${counts} (${Math.round(100_000 / (elapsedMs / 1000))} req/s)`);
  t.ok(growth < 2 * MiB, `heap after GC: ${(before / MiB).toFixed(2)} MiB before, ${(after / MiB).toFixed(2)} MiB after 100 000 requests (growth ${(growth / 1024).toFixed(0)} KiB < 2 MiB)`);
  t.equal(s.running.deps.sessions.stats().active, activeBefore, 'no session allocated for a bogus cookie');
  t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'the admin session is still valid');
  assertNoSecrets(t, s, [PASSWORD, id, admin.csrf]);
});

t.test('10 000 failed logins: from one address, from many spraying names, from many against admin', async (t) => {
  const login = (user: string, password: string, address: string) =>
    rawRequest('POST', '/login', { 'content-type': 'application/json', 'x-forwarded-for': address }, JSON.stringify({ username: user, password }));
  const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const N = 10_000;
  // One request at a time: the throttle is checked before hashing, so concurrent guesses
  // could pass one check together (bounded by the hashing pool, see security.md); sequential
  // sending makes the counts exact.
  const SEQUENTIAL = { connections: 1, depth: 1, perConnection: 1_000 };

  async function server() {
    // A frozen monotonic clock: back-off windows never end by themselves, so counts are exact.
    const mono = new ManualClock(1_000);
    const s = await startTestServer({ monotonic: mono, options: { trustedProxies: ['127.0.0.1'], logLevel: 'info' } });
    const admin = await adminWithPassword(s, PASSWORD);
    return { s, mono, admin };
  }

  t.test('one address, 10 000 guesses at admin: that address is throttled, the real admin elsewhere gets in', async (t) => {
    const { s, admin } = await server();
    t.teardown(() => s.close());
    const counts = new StatusCounts();
    let retryAfterMissing = 0;
    await pipelineFlood(s.port, N, (i) => login('admin', `guess ${i}`, '10.66.0.1'), (status, _i, head) => {
      counts.add(status);
      if (status === 429 && !/\r\nretry-after: \d+/i.test(head)) retryAfterMissing++;
    }, SEQUENTIAL);
    t.same([counts.get(401), counts.get(429), counts.total()], [5, N - 5, N], `5 free attempts hashed, then 429 ${counts}`);
    t.equal(retryAfterMissing, 0, 'every 429 has Retry-After');
    const real = await jsonLogin(s, 'admin', PASSWORD, { 'x-forwarded-for': '192.168.1.10' });
    t.equal(real.status, 200, 'the real admin on another address signs in');
    t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'the existing admin session is untouched');
    // Behind the trusted proxy, /metrics is open only to a client the proxy says is loopback.
    const m = await s.request('GET', '/metrics', { headers: { 'x-forwarded-for': '127.0.0.1' } });
    t.equal(metric(m.text, 'ringlet_logins_total{result="throttled"}'), N - 5, 'throttled attempts counted');
    assertNoSecrets(t, s, [PASSWORD, cookieValue(admin.cookie), sessionCookieOf(real).split('=')[1]!]);
  });

  t.test('10 000 addresses spraying five common names: each name backs off after 5 addresses, admin gets in', async (t) => {
    const { s } = await server();
    t.teardown(() => s.close());
    const names = ['root', 'ubnt', 'pi', 'user', 'support'];
    const counts = new StatusCounts();
    await pipelineFlood(s.port, N, (i) => login(names[i % names.length]!, 'admin', address(i + 1)), (status) => counts.add(status), SEQUENTIAL);
    t.same([counts.get(401), counts.get(429)], [25, N - 25], `25 hashed (5 addresses per name), the rest 429 ${counts}`);
    t.equal((await jsonLogin(s, 'admin', PASSWORD, { 'x-forwarded-for': '192.168.1.10' })).status, 200, 'the real admin signs in');
    t.ok(s.running.deps.hashLimiter.stats().peakInFlight <= 2, 'hashing stayed within its bound');
  });

  t.test('10 000 addresses against admin: the name backs off for everyone (bounded), sessions unaffected', async (t) => {
    const { s, mono, admin } = await server();
    t.teardown(() => s.close());
    const counts = new StatusCounts();
    await pipelineFlood(s.port, N, (i) => login('admin', `guess ${i}`, address(i + 1)), (status) => counts.add(status), SEQUENTIAL);
    t.same([counts.get(401), counts.get(429)], [5, N - 5], `5 addresses hashed, then the name is throttled ${counts}`);
    const blocked = await jsonLogin(s, 'admin', PASSWORD, { 'x-forwarded-for': '192.168.1.10' });
    t.equal(blocked.status, 429, 'documented: a distributed attack on a name backs that name off for everyone');
    t.equal(blocked.headers['retry-after'], '1', 'for the current back-off step only (1 s after 5 failures)');
    t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'the signed-in admin keeps working');
    mono.advance(1_000);
    t.equal((await jsonLogin(s, 'admin', PASSWORD, { 'x-forwarded-for': '192.168.1.10' })).status, 200, 'once the wait is over the real admin signs in');
  });
});

t.test('one user far past the per-user cap loses only their own oldest sessions', async (t) => {
  const s = await startTestServer({ profile: { capacity: 64, maxSessionsPerUser: 8 } });
  t.teardown(() => s.close());
  await adminWithPassword(s, PASSWORD);
  await addUsers(s, ['ann', 'bob']);
  const others = [];
  for (const name of ['ann', 'bob']) {
    for (let i = 0; i < 3; i++) others.push(sessionCookieOf(await jsonLogin(s, name, `${name} ${PASSWORD}`)));
  }
  const adminBefore = s.running.deps.sessions.list('admin')!.length;
  const mine: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await jsonLogin(s, 'admin', PASSWORD);
    t.equal(r.status, 200, `login ${i}`);
    mine.push(sessionCookieOf(r));
  }
  const statuses = await Promise.all(mine.map((cookie) => s.request('GET', '/session', { headers: { cookie } }).then((r) => r.status)));
  t.same(statuses, [...Array(32).fill(401), ...Array(8).fill(200)], 'the 32 oldest of the 40 are gone, the 8 newest live');
  for (const [i, cookie] of others.entries()) {
    t.equal((await s.request('GET', '/session', { headers: { cookie } })).status, 200, `another user's session ${i} untouched`);
  }
  const evicted = s.logEvents('session_evicted');
  t.equal(evicted.length, adminBefore + 32, 'each eviction logged');
  t.same(evicted.filter((e) => !(e['user'] === 'admin' && e['reason'] === 'user-cap')), [], 'only admin sessions, reason user-cap');
  const m = await s.request('GET', '/metrics');
  t.equal(metric(m.text, 'ringlet_sessions_evicted_total'), adminBefore + 32, 'and counted');
});

t.test('store full of other users: the global least-recently-used session goes, logged and counted', async (t) => {
  const s = await startTestServer({ profile: { capacity: 16, maxSessionsPerUser: 8 } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  await addUsers(s, ['u0', 'u1', 'u2', 'u3']);
  const cookies: string[] = [];
  for (let i = 0; s.running.deps.sessions.stats().active! < 16; i++) {
    const name = `u${i % 4}`;
    cookies.push(sessionCookieOf(await jsonLogin(s, name, `${name} ${PASSWORD}`)));
  }
  t.equal(s.running.deps.sessions.stats().active, 16, 'the store is full');
  // Use every session except the first one: it becomes the least recently used.
  for (const cookie of [admin.cookie, ...cookies.slice(1)]) {
    t.equal((await s.request('GET', '/session', { headers: { cookie } })).status, 200);
  }
  const newcomer = await jsonLogin(s, 'u1', `u1 ${PASSWORD}`);
  t.equal(newcomer.status, 200, 'a login into a full store succeeds (policy: evict, not refuse)');
  t.equal((await s.request('GET', '/session', { headers: { cookie: cookies[0]! } })).status, 401, 'the least recently used session (u0) was evicted');
  for (const cookie of [admin.cookie, ...cookies.slice(1), sessionCookieOf(newcomer)]) {
    t.equal((await s.request('GET', '/session', { headers: { cookie } })).status, 200, 'every other session lives');
  }
  t.same(s.logEvents('session_evicted').map((e) => [e['user'], e['reason']]), [['u0', 'lru']], 'logged: whose, and why');
  const m = await s.request('GET', '/metrics');
  t.equal(metric(m.text, 'ringlet_sessions_evicted_total'), 1, 'counted');
  t.equal(metric(m.text, 'ringlet_sessions_active'), 16, 'still full, never more');
});

t.test('a burst of 200 parallel logins: never more hashes than the bound, the rest 503 with Retry-After, memory bounded', async (t) => {
  const s = await startTestServer({
    profile: { hashConcurrency: 2, hashQueueLength: 4, hashMaxWaitMs: 300, scryptLogN: 12, maxConnections: 512 },
    options: { trustedProxies: ['127.0.0.1'], logLevel: 'info' },
  });
  t.teardown(() => s.close());
  await adminWithPassword(s, PASSWORD);
  const before = heapAfterGc();
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => {
    const real = i % 5 === 0;
    return jsonLogin(s, real ? 'admin' : `user${i}`, real ? PASSWORD : 'wrong password', { 'x-forwarded-for': `10.7.${i >> 8}.${i & 255}` }).then((r) => ({ real, r }));
  }));
  const after = heapAfterGc();
  const counts = new StatusCounts();
  for (const { r } of replies) counts.add(r.status);
  t.same(replies.filter((x) => x.real).map(({ r }) => r.status).filter((status) => status !== 200 && status !== 503), [], 'the right password: 200 or 503, never 401');
  t.same(replies.filter((x) => !x.real).map(({ r }) => r.status).filter((status) => status !== 401 && status !== 503), [], 'a wrong password: 401 or 503, never 200');
  t.ok(counts.get(503) > 100, `most of the burst refused busy ${counts}`);
  t.same(replies.filter(({ r }) => r.status === 503).map(({ r }) => r.headers['retry-after']).filter((v) => !/^\d+$/.test(String(v))), [], '503s carry Retry-After');
  const stats = s.running.deps.hashLimiter.stats();
  t.ok(stats.peakInFlight <= 2, `peak hashes in flight ${stats.peakInFlight} <= 2`);
  t.ok(after - before < 4 * MiB, `heap after GC grew ${((after - before) / 1024).toFixed(0)} KiB (< 4 MiB)`);
  t.equal((await jsonLogin(s, 'admin', PASSWORD, { 'x-forwarded-for': '10.8.0.1' })).status, 200, 'once the burst is over, logins work');
});
