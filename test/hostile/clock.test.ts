/**
 * Clock faults with injected clocks (src/session/claims.ts, time-policy.ts): a wall clock at
 * 1970, jumps of +50 years and −1 hour while sessions are live, in both modes; and the
 * cross-instance case (another boot: wall clock with 30 s leeway, only when trusted at
 * minting and now), with two servers sharing a keys file.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../support/clock.js';
import { adminWithPassword, startTestServer, type TestServer } from '../support/server.js';
import { assertNoSecrets, cookieValue } from './client.js';

const PASSWORD = 'clock fault passphrase';
const IDLE_MS = 15 * 60_000; // the test profile's idleTimeoutMs (schema default)
const YEAR_MS = 365.25 * 24 * 3600_000;
/** A trusted wall time (after DEFAULT_TRUSTED_FLOOR_MS). */
const T = Date.UTC(2027, 0, 15, 12);

interface Pair {
  a: TestServer;
  mono: ManualClock;
  wall: ManualClock;
  dir: string;
  cookie: string;
  token: string;
  /** Starts another instance on the same users and keys files with its own clocks. */
  other(wallMs: number): Promise<TestServer>;
}

async function setup(t: Test, mode: 'ram' | 'cookie', wallStartMs: number): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-hostile-clock-'));
  const mono = new ManualClock(5_000);
  const wall = new ManualClock(wallStartMs);
  const keysPath = join(dir, 'keys.json');
  const a = await startTestServer({ mode, dir, monotonic: mono, wall, options: { keysPath } });
  const admin = await adminWithPassword(a, PASSWORD);
  const token = (await a.request('POST', '/token', { json: { username: 'admin', password: PASSWORD } })).json.access_token as string;
  const started: TestServer[] = [a];
  t.teardown(async () => {
    for (const s of started) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    a, mono, wall, dir, cookie: admin.cookie, token,
    other: async (wallMs) => {
      const b = await startTestServer({ mode, dir, monotonic: new ManualClock(1_000), wall: new ManualClock(wallMs), options: { keysPath } });
      started.push(b);
      return b;
    },
  };
}

const statusOf = async (s: TestServer, headers: Record<string, string>) => (await s.request('GET', '/session', { headers })).status;

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: the wall clock at 1970`, async (t) => {
    const p = await setup(t, mode, 0);
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 200, 'signing in works on a device that booted in 1970');
    t.equal(await statusOf(p.a, { authorization: `Bearer ${p.token}` }), 200, 'so does a bearer token');
    p.wall.set(T); // NTP syncs
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 200, 'an NTP sync to the real date changes nothing in this process');
    if (mode === 'cookie') {
      const b = await p.other(T);
      t.equal(await statusOf(b, { cookie: p.cookie }), 401, 'another instance refuses a cookie minted under an untrusted clock (cannot be timed)');
      t.equal(await statusOf(b, { authorization: `Bearer ${p.token}` }), 401, 'and such a bearer token');
    }
    p.mono.advance(IDLE_MS - 1_000);
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 200, 'alive just before the idle timeout');
    p.mono.advance(IDLE_MS);
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 401, 'idle expiry on the monotonic clock');
    assertNoSecrets(t, p.a, [PASSWORD, cookieValue(p.cookie), p.token]);
  });

  t.test(`${mode} mode: wall-clock jumps of +50 years and -1 hour while sessions are live`, async (t) => {
    const p = await setup(t, mode, T);
    p.wall.advance(50 * YEAR_MS);
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 200, '+50 years: same process, still valid');
    t.equal(await statusOf(p.a, { authorization: `Bearer ${p.token}` }), 200, '+50 years: bearer still valid');
    p.wall.set(T - 3600_000);
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 200, '-1 hour: still valid');
    t.equal(await statusOf(p.a, { authorization: `Bearer ${p.token}` }), 200, '-1 hour: bearer still valid');
    p.mono.advance(IDLE_MS - 1_000);
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 200, 'alive before the idle timeout');
    p.mono.advance(IDLE_MS);
    t.equal(await statusOf(p.a, { cookie: p.cookie }), 401, 'expires on the monotonic clock, as without the jumps');
  });
}

t.test('cookie mode across instances: wall clock with 30 s leeway, trusted at minting and now', async (t) => {
  const p = await setup(t, 'cookie', T);
  // [title, other instance's wall clock, cookie answer, bearer answer (1 h TTL, not idle-bound)]
  const cases: Array<[string, number, number, number]> = [
    ['same wall time', T, 200, 200],
    ['other instance 20 s ahead', T + 20_000, 200, 200],
    ['other instance 20 s behind (token 20 s in its future, within leeway)', T - 20_000, 200, 200],
    ['other instance 40 s behind (token from its future)', T - 40_000, 401, 401],
    ['other instance 1 hour behind', T - 3600_000, 401, 401],
    ['other instance 50 years ahead (expired)', T + 50 * YEAR_MS, 401, 401],
    ['other instance past the idle timeout + leeway', T + IDLE_MS + 31_000, 401, 200],
    ['other instance past the token TTL + leeway', T + 3600_000 + 31_000, 401, 401],
    ['other instance at 1970 (untrusted now)', 0, 401, 401],
  ];
  for (const [title, wallMs, cookieStatus, bearerStatus] of cases) {
    const b = await p.other(wallMs);
    t.equal(await statusOf(b, { cookie: p.cookie }), cookieStatus, `cookie: ${title}`);
    t.equal(await statusOf(b, { authorization: `Bearer ${p.token}` }), bearerStatus, `bearer: ${title}`);
  }
});

t.test('ram mode across instances: a RAM session exists only in its own instance', async (t) => {
  const p = await setup(t, 'ram', T);
  const b = await p.other(T);
  t.equal(await statusOf(b, { cookie: p.cookie }), 401, 'the other instance does not know the session');
  t.equal(await statusOf(b, { authorization: `Bearer ${p.token}` }), 200, 'a bearer JWT is verified anywhere the keys are');
});
