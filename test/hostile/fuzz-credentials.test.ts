/**
 * Malformed credentials, seeded: Cookie headers, RAM session ids, bearer JWTs and cookie-mode
 * JWEs (mutations of valid ones). Each kind runs 10 000 cases through the session layer
 * directly (resolveRequest: header parsing + session manager, exactly what a route calls:
 * a parser question) and sends a sample of 1 000 more over HTTP on keep-alive
 * connections, to GET /session.
 * Expected: never a session (401 over HTTP), never a 5xx, never a throw; the real admin
 * session still works afterwards and nothing secret reaches a log line or a body.
 */
import t, { type Test } from 'tap';
import type { IncomingMessage } from 'node:http';
import { SeededRandom } from '../support/seeded-random.js';
import { resolveRequest } from '../../src/server/credentials.js';
import { getCookieValues } from '../../src/codec/index.js';
import { hostileCookieHeader, mutateCompactToken, mutateSessionId, type Mutant } from '../support/fuzz.js';
import { adminWithPassword, startTestServer, type TestServer } from '../support/server.js';
import { KeepAlivePool, StatusCounts, assertNoSecrets, cookieValue } from './client.js';
import { setCookieLines } from '../support/http.js';

const CASES = 10_000;
/** Requests sent over HTTP per kind (the direct run covers the 10 000). */
const HTTP_SAMPLE = 1_000;
const PASSWORD = 'fuzz target passphrase';

function fakeRequest(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

interface Kind {
  name: string;
  seed: number;
  /** Header set carrying the mutated credential. */
  headers: (m: Mutant) => Record<string, string>;
  generate: (rng: SeededRandom) => Mutant;
}

/** The value the server's own cookie parsing would extract: a mutation that trims or decodes back to the valid value is the valid cookie. */
function sameCookieAs(header: string, name: string, valid: string): boolean {
  return getCookieValues(header, name, { maxValues: 4 }).includes(valid);
}

async function runKind(t: Test, s: TestServer, kind: Kind, valid: string, bodies: string[]): Promise<void> {
  const sessions = s.running.deps.sessions;
  const cookieName = s.running.deps.cookies.session;
  // Direct: header parsing + the session manager, 10 000 cases.
  const direct = new SeededRandom(kind.seed);
  let equivalent = 0;
  let granted = 0;
  const grantedKinds: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const m = kind.generate(direct);
    const headers = kind.headers(m);
    if (headers['cookie'] !== undefined && sameCookieAs(headers['cookie'], cookieName, valid)) {
      equivalent++;
      continue;
    }
    let resolved;
    try {
      resolved = resolveRequest(fakeRequest(headers), sessions, cookieName, true);
    } catch (err) {
      t.fail(`${kind.name} #${i} (${m.kind}) threw ${(err as Error).name}: ${(err as Error).message}`);
      continue;
    }
    if (resolved !== undefined) {
      granted++;
      if (grantedKinds.length < 5) grantedKinds.push(m.kind);
    }
  }
  t.equal(granted, 0, `${kind.name}: direct, ${CASES - equivalent} mutants, none resolved to a session ${grantedKinds.join(', ')}`);
  t.ok(equivalent < CASES / 100, `${kind.name}: ${equivalent} mutants were the valid cookie after trimming/decoding (skipped)`);

  // Over HTTP: the same generator (another seed), a sample on 4 keep-alive connections.
  const rng = new SeededRandom(kind.seed + 1);
  const pool = new KeepAlivePool(s.port, 4);
  const counts = new StatusCounts();
  const wrong: string[] = [];
  await pool.run(HTTP_SAMPLE, () => {
    let m = kind.generate(rng);
    let headers = kind.headers(m);
    while (headers['cookie'] !== undefined && sameCookieAs(headers['cookie'], cookieName, valid)) {
      m = kind.generate(rng);
      headers = kind.headers(m);
    }
    return { sent: { path: '/session', headers: { ...headers, accept: 'application/json' } }, meta: m };
  }, (answer, m, i) => {
    counts.add(answer.status);
    if ((answer.status !== 401 || setCookieLines(answer).length > 0) && wrong.length < 5) wrong.push(`#${i} ${m.kind}: ${answer.status}`);
    if (i % 50 === 0) bodies.push(answer.text);
  });
  pool.close();
  t.equal(counts.get(401), HTTP_SAMPLE, `${kind.name}: HTTP sample, ${HTTP_SAMPLE} requests all 401 without a cookie set ${counts} ${wrong.join('; ')}`);
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: 10 000 mutants per credential kind direct + 1 000 over HTTP: never a session`, async (t) => {
    const s = await startTestServer({ mode, profile: { maxHeaderBytes: 16_384 } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s, PASSWORD);
    const name = s.running.deps.cookies.session;
    const sessionValue = cookieValue(admin.cookie);
    const token = (await s.request('POST', '/token', { json: { username: 'admin', password: PASSWORD } })).json.access_token as string;
    t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a valid JWT to mutate');
    const bodies: string[] = [];

    const kinds: Kind[] = [
      { name: 'Cookie headers', seed: 101, headers: (m) => ({ cookie: m.value }), generate: (rng) => hostileCookieHeader(rng, name, 12_000) },
      { name: 'bearer JWTs', seed: 202, headers: (m) => ({ authorization: `Bearer ${m.value}` }), generate: (rng) => mutateCompactToken(rng, token) },
      mode === 'ram'
        ? { name: 'session ids (cookie and bearer)', seed: 303, headers: (m): Record<string, string> => (m.value.length % 2 === 0 ? { cookie: `${name}=${m.value}` } : { authorization: `Bearer ${m.value}` }), generate: (rng) => mutateSessionId(rng, sessionValue) }
        : { name: 'cookie JWEs', seed: 404, headers: (m) => ({ cookie: `${name}=${m.value}` }), generate: (rng) => mutateCompactToken(rng, sessionValue) },
      // Duplicated session cookies around mutants: every value is tried, none is valid.
      { name: 'duplicate session cookies of mutants', seed: 505, headers: (m) => ({ cookie: m.value }), generate: (rng) => {
        const parts = Array.from({ length: 2 + rng.int(3) }, () => `${name}=${mode === 'ram' ? mutateSessionId(rng, sessionValue).value : mutateCompactToken(rng, sessionValue).value}`);
        return { value: parts.join('; '), kind: `${parts.length} mutated duplicates` };
      } },
    ];
    for (const kind of kinds) await runKind(t, s, kind, sessionValue, bodies);

    const me = await s.request('GET', '/session', { headers: { cookie: admin.cookie } });
    t.equal(me.status, 200, 'the real admin session still works');
    t.equal((await s.request('GET', '/session', { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the real token still works');
    const metrics = await s.request('GET', '/metrics');
    t.notMatch(metrics.text, /class="5xx"\} [1-9]/, 'no 5xx counted in metrics');
    if (mode === 'ram') t.match(metrics.text, /^ringlet_sessions_active 1$/m, 'no session was created by the fuzzing');
    assertNoSecrets(t, s, [PASSWORD, sessionValue, token, admin.csrf], bodies);
  });
}

t.test('the valid value among duplicates: the first 4 values of the session cookie are tried, no more', async (t) => {
  const s = await startTestServer({ mode: 'ram', profile: { maxHeaderBytes: 16_384 } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  const v = cookieValue(admin.cookie);
  const bogus = 'A'.repeat(32);
  const cases: Array<[string, string, number]> = [
    ['valid first', `ringlet=${v}; ringlet=${bogus}`, 200],
    ['valid fourth', `ringlet=${bogus}; ringlet=${bogus}; ringlet=${bogus}; ringlet=${v}`, 200],
    ['valid fifth: not tried (bounded work)', `ringlet=${bogus}; ringlet=${bogus}; ringlet=${bogus}; ringlet=${bogus}; ringlet=${v}`, 401],
    ['valid, quoted', `ringlet="${v}"`, 401],
    ['valid, percent-encoded first char (decoded like a browser writes it)', `ringlet=%${v.charCodeAt(0).toString(16).toUpperCase()}${v.slice(1)}`, 200],
    ['valid inside a header over 8192 bytes: not parsed', `pad=${'x'.repeat(8200)}; ringlet=${v}`, 401],
    ['valid under another name', `ringlet-login=${v}`, 401],
    ['valid as __Host- name over plain HTTP', `__Host-ringlet=${v}`, 401],
  ];
  for (const [title, cookie, status] of cases) {
    t.equal((await s.request('GET', '/session', { headers: { cookie } })).status, status, title);
  }
});
