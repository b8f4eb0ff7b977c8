import t from 'tap';
import { adminWithPassword, jsonLogin, startTestServer } from '../support/server.js';

t.test('failed logins back off per address and per user, with Retry-After; no permanent lockout', async (t) => {
  const s = await startTestServer({ profile: { throttleFreeAttempts: 3, throttleBaseDelayMs: 1000, throttleMaxDelayMs: 4000 }, options: { trustedProxies: ['127.0.0.1'] } });
  t.teardown(() => s.close());
  await adminWithPassword(s);
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await jsonLogin(s, 'mallory', 'guess', from('10.0.0.9'))).status);
  t.same(statuses.slice(0, 3), [401, 401, 401], 'free attempts');
  t.equal(statuses[3], 429, 'then throttled');
  const limited = await jsonLogin(s, 'mallory', 'guess', from('10.0.0.9'));
  t.equal(limited.status, 429);
  t.match(limited.headers['retry-after'], /^\d+$/);
  t.ok(Number(limited.headers['retry-after']) <= 4, 'the wait is capped');
  const realAdmin = await jsonLogin(s, 'admin', 'correct horse battery', from('10.0.0.50'));
  t.equal(realAdmin.status, 200, 'the real admin on another address still gets in');
  // Many addresses against one user name: the per-user key throttles them.
  const spread: number[] = [];
  for (let i = 0; i < 6; i++) spread.push((await jsonLogin(s, 'admin', 'wrong', from(`10.1.0.${i}`))).status);
  t.ok(spread.includes(429), 'per-user throttle across addresses');
  const events = s.logEvents('login').filter((e) => e['result'] === 'throttled');
  t.ok(events.length > 0, 'throttling is logged');
  // Behind the trusted proxy the client is the forwarded address: this one is loopback.
  const metrics = await s.request('GET', '/metrics', { headers: from('127.0.0.1') });
  t.match(metrics.text, /ringlet_logins_total\{result="throttled"\} [1-9]/);
});

t.test('a burst of parallel logins never runs more hashes than the bound', async (t) => {
  const s = await startTestServer({ profile: { hashConcurrency: 2, hashQueueLength: 2, hashMaxWaitMs: 2000, scryptLogN: 12, throttleFreeAttempts: 100 } });
  t.teardown(() => s.close());
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => jsonLogin(s, `user${i}`, 'password')));
  const counts = new Map<number, number>();
  for (const r of replies) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  t.ok((counts.get(503) ?? 0) > 0, `some refused busy: ${JSON.stringify([...counts])}`);
  for (const r of replies.filter((x) => x.status === 503)) t.match(r.headers['retry-after'], /^\d+$/);
  t.equal((counts.get(401) ?? 0) + (counts.get(503) ?? 0), 20, 'every request answered 401 or 503');
  t.ok(s.running.deps.hashLimiter.stats().peakInFlight <= 2, 'peak in flight within the bound');
});

t.test('metrics: Prometheus text with ringlet_ names, loopback only without a token', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const m = await s.request('GET', '/metrics');
  t.equal(m.status, 200);
  t.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  for (const name of ['ringlet_sessions_active', 'ringlet_sessions_capacity', 'ringlet_sessions_created_total', 'ringlet_sessions_evicted_total', 'ringlet_sessions_expired_total', 'ringlet_logins_total', 'ringlet_store_bytes', 'ringlet_process_resident_memory_bytes', 'ringlet_http_requests_total']) {
    t.match(m.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  t.match(m.text, /^ringlet_sessions_active 1$/m);
  t.notMatch(m.text, admin.cookie.split('=')[1]!, 'no secrets in metrics');
});

t.test('metrics: verified-credential cache lookups, cookie mode and bearer', async (t) => {
  const s = await startTestServer({ mode: 'cookie' });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, 'cache horse battery');
  const lookups = async () => {
    const text = (await s.request('GET', '/metrics')).text;
    const read = (result: string) => Number(new RegExp(`^ringlet_verified_cache_lookups_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    return { hit: read('hit'), miss: read('miss') };
  };
  const before = await lookups();
  t.ok(Number.isInteger(before.hit) && Number.isInteger(before.miss), 'both series are exported');
  for (let i = 0; i < 3; i++) t.equal((await s.request('GET', '/auth', { headers: { cookie: admin.cookie } })).status, 200);
  const token = (await s.request('POST', '/token', { json: { username: 'admin', password: 'cache horse battery' } })).json.access_token as string;
  for (let i = 0; i < 2; i++) t.equal((await s.request('GET', '/auth', { headers: { authorization: `Bearer ${token}` } })).status, 200);
  const after = await lookups();
  t.equal(after.hit - before.hit, 3, 'the cookie twice and the token once came from the cache');
  t.equal(after.miss - before.miss, 2, 'the first use of each was verified');
});

t.test("the cache holds the profile's verifiedCacheEntries: 2 clients in turn hit, 3 in turn all miss", async (t) => {
  const s = await startTestServer({ mode: 'cookie', profile: { verifiedCacheEntries: 2 } });
  t.teardown(() => s.close());
  await adminWithPassword(s, 'cache horse battery');
  const lookups = async () => {
    const text = (await s.request('GET', '/metrics')).text;
    const read = (result: string) => Number(new RegExp(`^ringlet_verified_cache_lookups_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    return { hit: read('hit'), miss: read('miss') };
  };
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) tokens.push((await s.request('POST', '/token', { json: { username: 'admin', password: 'cache horse battery' } })).json.access_token as string);
  const inTurn = async (clients: string[], rounds: number) => {
    const before = await lookups();
    for (let r = 0; r < rounds; r++) {
      for (const token of clients) t.equal((await s.request('GET', '/auth', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    }
    const after = await lookups();
    return { hit: after.hit - before.hit, miss: after.miss - before.miss };
  };
  t.same(await inTurn(tokens, 3), { hit: 0, miss: 9 }, 'three clients in turn: first in, first out keeps none of them');
  t.same(await inTurn(tokens.slice(0, 2), 3), { hit: 4, miss: 2 }, 'two clients in turn: verified once each, then kept');
});

t.test('no secret ever reaches a log line or an error body', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  const first = s.firstPassword;
  const admin = await adminWithPassword(s, 'secret passphrase 42');
  const token = (await s.request('POST', '/token', { json: { username: 'admin', password: 'secret passphrase 42' } })).json.access_token as string;
  const bodies: string[] = [];
  bodies.push((await jsonLogin(s, 'admin', 'typo passphrase 43')).text);
  bodies.push((await jsonLogin(s, 'secret passphrase 42', 'x')).text);
  bodies.push((await s.request('GET', '/session', { headers: { cookie: `${admin.cookie}x` } })).text);
  bodies.push((await s.request('GET', '/session', { headers: { authorization: `Bearer ${token}x` } })).text);
  bodies.push((await s.request('POST', '/logout', { headers: { cookie: admin.cookie }, json: {} })).text);
  const secrets = [first, 'secret passphrase 42', 'typo passphrase 43', admin.cookie.split('=')[1]!, admin.csrf, token];
  const everything = s.logs.join('\n') + bodies.join('\n');
  for (const secret of secrets) t.notOk(everything.includes(secret), `secret ${secret.slice(0, 4)}… absent`);
  t.ok(s.logs.length > 5, 'there were logs to search');
});
