/**
 * Malformed bodies and negotiation headers, seeded. JSON bodies, form bodies, Content-Type
 * and Accept are parser questions: 10 000 cases each go to the parser directly, and a
 * sample of 1 000 each goes over HTTP (keep-alive) to a route that uses the parser, where
 * the answer must be exactly the one the parser's verdict implies — always a 4xx, never a
 * 5xx, never a session. Raw bytes no client library would send go over raw sockets.
 */
import t from 'tap';
import { SeededRandom } from '../support/seeded-random.js';
import { RingletError } from '../../src/errors.js';
import { mediaType, parseForm, parseJsonObject, wantsHtml } from '../../src/web/index.js';
import { headerSafeChars, hostileAccept, hostileContentType, hostileFormBody, hostileJsonBody } from '../support/fuzz.js';
import { adminWithPassword, startTestServer } from '../support/server.js';
import { KeepAlivePool, StatusCounts, assertNoSecrets, cookieValue, rawExchange, statusOfRaw } from './client.js';
import { setCookieLine } from '../support/http.js';

const CASES = 10_000;
const HTTP_SAMPLE = 1_000;
const PASSWORD = 'bodies fuzz passphrase';
const MAX_BODY_BYTES = 4096;

type Verdict = 'malformed' | 'object';

function jsonVerdict(body: Buffer): { verdict: Verdict; values?: Record<string, unknown> } {
  try {
    return { verdict: 'object', values: parseJsonObject(body) };
  } catch (err) {
    if (err instanceof RingletError && err.code === 'ERR_BODY_MALFORMED') return { verdict: 'malformed' };
    throw err;
  }
}

function formVerdict(body: Buffer): { verdict: Verdict; values?: Record<string, unknown> } {
  try {
    return { verdict: 'object', values: parseForm(body) };
  } catch (err) {
    if (err instanceof RingletError && err.code === 'ERR_BODY_MALFORMED') return { verdict: 'malformed' };
    throw err;
  }
}

function isNullPrototypeTree(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (Array.isArray(v)) return v.every(isNullPrototypeTree);
  return Object.getPrototypeOf(v) === null && Object.values(v).every(isNullPrototypeTree);
}

const credentialsOk = (v: Record<string, unknown> | undefined) => {
  const u = v?.['username'];
  const p = v?.['password'];
  return typeof u === 'string' && typeof p === 'string' && u.length > 0 && u.length <= 64 && Buffer.byteLength(p) <= 1024;
};

t.test('parsers directly: 10 000 cases per kind, a null-prototype result or ERR_BODY_MALFORMED, nothing else', async (t) => {
  const table: Array<[string, number, (rng: SeededRandom) => void]> = [
    ['JSON bodies', 11, (rng) => {
      const { body } = hostileJsonBody(rng);
      const r = jsonVerdict(body);
      if (r.verdict === 'object' && !isNullPrototypeTree(r.values)) throw new Error('a parsed JSON object has a prototype');
      if (r.values !== undefined && Object.prototype.hasOwnProperty.call(r.values, '__proto__')) throw new Error('__proto__ survived');
    }],
    ['form bodies', 12, (rng) => {
      const { body } = hostileFormBody(rng);
      const r = formVerdict(body);
      if (r.verdict === 'object' && Object.getPrototypeOf(r.values) !== null) throw new Error('a parsed form has a prototype');
      if (r.values !== undefined && Object.values(r.values).some((v) => typeof v !== 'string')) throw new Error('a form value is not a string');
    }],
    ['Content-Type', 13, (rng) => {
      const type = mediaType(hostileContentType(rng).value);
      if (type !== '' && !/^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/.test(type)) throw new Error(`odd media type ${type}`);
    }],
    ['Accept', 14, (rng) => {
      if (typeof wantsHtml(hostileAccept(rng).value) !== 'boolean') throw new Error('not a boolean');
    }],
  ];
  for (const [name, seed, run] of table) {
    const rng = new SeededRandom(seed);
    let failures = 0;
    let first = '';
    for (let i = 0; i < CASES; i++) {
      try {
        run(rng);
      } catch (err) {
        failures++;
        first ||= `#${i}: ${(err as Error).name}: ${(err as Error).message}`;
      }
    }
    t.equal(failures, 0, `${name}: ${CASES} cases ${first}`);
  }
});

t.test('over HTTP: 1 000 cases per kind, each answered as its parser verdict implies', async (t) => {
  const s = await startTestServer({ profile: { maxBodyBytes: MAX_BODY_BYTES, maxHeaderBytes: 16_384, hashQueueLength: 8 } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  const pool = new KeepAlivePool(s.port, 4);
  t.teardown(() => pool.close());
  const bodies: string[] = [];

  // Expected answers, decided from the parser's verdict (the answer table is in security.md).
  const kinds: Array<{
    name: string;
    seed: number;
    make: (rng: SeededRandom) => { sent: { method: string; path: string; headers: Record<string, string>; body?: Buffer | string }; allowed: number[]; kind: string };
  }> = [
    { name: 'JSON bodies → POST /login', seed: 21, make: (rng) => {
      const { body, kind } = hostileJsonBody(rng);
      const r = jsonVerdict(body);
      const allowed = body.length > MAX_BODY_BYTES ? [413] : r.verdict === 'malformed' || !credentialsOk(r.values) ? [400] : [401, 429];
      return { sent: { method: 'POST', path: '/login', headers: { 'content-type': 'application/json' }, body }, allowed, kind };
    } },
    { name: 'form bodies → POST /token', seed: 22, make: (rng) => {
      const { body, kind } = hostileFormBody(rng);
      const r = formVerdict(body);
      const v = r.values;
      const named = v !== undefined && ['username', 'password', 'grant_type'].some((k) => typeof v[k] === 'string');
      const allowed = body.length > MAX_BODY_BYTES ? [413] : r.verdict === 'malformed' ? [400] : !named ? [401] : [400, 429];
      return { sent: { method: 'POST', path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, allowed, kind };
    } },
    { name: 'Content-Type → POST /login', seed: 23, make: (rng) => {
      const { value, kind } = hostileContentType(rng);
      const type = mediaType(value);
      // The JSON body read as a form has no username: the form path refuses it first on CSRF (403).
      const allowed = type === 'application/json' ? [401, 429] : type === 'application/x-www-form-urlencoded' ? [403] : [415];
      return { sent: { method: 'POST', path: '/login', headers: { 'content-type': value }, body: '{"username":"mallory","password":"guess guess"}' }, allowed, kind };
    } },
    { name: 'Accept → GET /nope', seed: 24, make: (rng) => {
      const { value, kind } = hostileAccept(rng);
      return { sent: { method: 'GET', path: rng.int(2) === 0 ? '/nope' : '/', headers: { accept: value } }, allowed: [wantsHtml(value) ? 1 : 0], kind };
    } },
  ];
  for (const k of kinds) {
    const rng = new SeededRandom(k.seed);
    const counts = new StatusCounts();
    const wrong: string[] = [];
    await pool.run(HTTP_SAMPLE, () => {
      const m = k.make(rng);
      return { sent: m.sent, meta: m };
    }, (answer, m, i) => {
      counts.add(answer.status);
      let ok: boolean;
      if (k.name.startsWith('Accept')) {
        // 404 (/nope) or the unauthenticated home page; HTML exactly when Accept prefers it.
        const html = /^text\/html/.test(String(answer.headers['content-type'])) || answer.status === 303;
        ok = (answer.status === 404 || answer.status === 401 || answer.status === 303) && html === (m.allowed[0] === 1);
      } else ok = m.allowed.includes(answer.status);
      const sessionSet = setCookieLine(answer, 'ringlet') !== undefined;
      if ((!ok || sessionSet) && wrong.length < 5) wrong.push(`#${i} ${m.kind}: ${answer.status} not in ${m.allowed.join('/')}`);
      if (i % 50 === 0) bodies.push(answer.text);
    });
    t.equal(wrong.length, 0, `${k.name}: ${HTTP_SAMPLE} requests ${counts} ${wrong.join('; ')}`);
    t.equal([...counts.byStatus.keys()].filter((st) => st >= 500).length, 0, `${k.name}: no 5xx`);
  }
  t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'the admin session still works');
  if (s.running.deps.sessions.stats().active !== undefined) t.equal(s.running.deps.sessions.stats().active, 1, 'no session was created');
  assertNoSecrets(t, s, [PASSWORD, cookieValue(admin.cookie), admin.csrf], bodies);
});

t.test('raw sockets: header bytes no client library sends (controls, NUL, DEL, bare LF) are refused by the parser or answered, never 5xx', async (t) => {
  const s = await startTestServer({ profile: { maxHeaderBytes: 16_384 } });
  t.teardown(() => s.close());
  const rng = new SeededRandom(31);
  const counts = new StatusCounts();
  const SAMPLE = 300;
  for (let i = 0; i < SAMPLE; i++) {
    const control = String.fromCharCode(rng.pick([0, 1, 8, 11, 12, 27, 127]));
    const value = headerSafeChars(rng, rng.int(40)) + control + headerSafeChars(rng, rng.int(40));
    const header = rng.pick(['Cookie', 'Authorization', 'Content-Type', 'Accept', 'X-CSRF-Token']);
    const { response } = await rawExchange(s.port, `GET /session HTTP/1.1\r\nHost: 127.0.0.1\r\n${header}: ${value}\r\nConnection: close\r\n\r\n`, 1000);
    counts.add(statusOfRaw(response));
  }
  t.equal(counts.get(400) + counts.get(401), SAMPLE, `every request is 400 (parser) or 401 (no session): ${counts}`);
  t.equal((await s.request('GET', '/healthz')).status, 200, 'still serving');
});
