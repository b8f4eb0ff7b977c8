/**
 * An embedding service's own session data: `login(..., { data })`, `setData`,
 * `req.ringletSession.data`. RAM mode keeps it in the session's slot (slotBytes), cookie mode
 * in the sealed cookie (the 4096-byte Set-Cookie cap, with room kept for re-issues); both
 * refuse with the store's codes and change nothing when they do.
 */
import t from 'tap';
import type { ServerResponse } from 'node:http';
import { createRinglet, generateJwks, RingletError, type Ringlet, type RingletRequest } from 'ringlet';
import { ManualClock } from '../support/clock.js';
import { startApp, type App } from './harness.js';
import { cookiePair, setCookieLine, setCookieLines } from '../support/http.js';

/** The code of what `fn` throws, or 'ok'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof RingletError ? err.code : `not a RingletError: ${String(err)}`;
  }
}

/** Runs `body` as the handler of one request and answers with what it returned (or the error's code). */
async function during(app: App, ringlet: Ringlet, cookie: string | undefined, body: (req: RingletRequest, res: ServerResponse) => unknown) {
  app.handle(ringlet.wrap((req, res) => {
    let out: unknown;
    try {
      out = body(req, res);
    } catch (err) {
      out = { code: err instanceof RingletError ? err.code : String(err) };
    }
    res.end(JSON.stringify(out ?? null));
  }));
  const reply = await app.call('GET', '/', { headers: cookie === undefined ? {} : { cookie } });
  return { reply, out: reply.json as unknown };
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode}: data set at login, read, changed, cleared`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    const login = await during(app, ringlet, undefined, (req, res) => {
      ringlet.login(res, 'alice', 'viewer', { data: { theme: 'dark', n: 1, at: new Date(0) } });
      return req.ringletSession?.data;
    });
    const firstDataAsJson = { theme: 'dark', n: 1, at: '1970-01-01T00:00:00.000Z' };
    t.same(login.out, firstDataAsJson, 'the login request sees the data, as JSON reads it back');
    let cookie = cookiePair(login.reply, 'ringlet');
    const read = async () => (await during(app, ringlet, cookie, (req) => req.ringletSession?.data ?? null)).out;
    t.same(await read(), firstDataAsJson, 'the next request reads it');

    await during(app, ringlet, cookie, (req) => {
      (req.ringletSession?.data as { n: number }).n = 99;
    });
    t.same(await read(), firstDataAsJson, 'changing the object stores nothing');

    const set = await during(app, ringlet, cookie, (req, res) => {
      const stored = ringlet.setData(req, res, { theme: 'light', list: [1, 'é'] });
      return { stored, now: req.ringletSession?.data };
    });
    t.same(set.out, { stored: true, now: { theme: 'light', list: [1, 'é'] } }, 'setData: true, and this request sees the new data');
    if (mode === 'cookie') {
      t.equal(setCookieLines(set.reply).filter((l) => l.startsWith('ringlet=')).length, 1, 'cookie mode: one re-sealed cookie');
      const previous = cookie;
      cookie = cookiePair(set.reply, 'ringlet');
      t.not(cookie, previous);
      const replayed = (await during(app, ringlet, previous, (req) => req.ringletSession?.data ?? null)).out;
      t.same(replayed, firstDataAsJson, 'cookie mode keeps no state: the previous cookie still carries the previous data (README)');
    } else {
      t.same(setCookieLines(set.reply), [], 'RAM mode: the cookie does not change');
    }
    t.same(await read(), { theme: 'light', list: [1, 'é'] }, 'the next request reads the new data');

    const cleared = await during(app, ringlet, cookie, (req, res) => ringlet.setData(req, res, undefined));
    t.equal(cleared.out, true);
    if (mode === 'cookie') cookie = cookiePair(cleared.reply, 'ringlet');
    t.equal(await read(), null, 'cleared');

    for (const [name, data] of [['a BigInt', { n: 1n }], ['a function', () => 1], ['a cycle', (() => {
      const o: Record<string, unknown> = {};
      o['self'] = o;
      return o;
    })()]] as const) {
      const refused = await during(app, ringlet, cookie, (req, res) => ringlet.setData(req, res, data));
      t.same(refused.out, { code: 'ERR_DATA_NOT_JSON' }, `setData(${name}): ERR_DATA_NOT_JSON`);
      t.same(setCookieLines(refused.reply), [], `setData(${name}): no cookie`);
      t.same((await during(app, ringlet, undefined, (_req, res) => ringlet.login(res, 'bob', 'viewer', { data }))).out, { code: 'ERR_DATA_NOT_JSON' }, `login(${name}): ERR_DATA_NOT_JSON`);
    }
  });

  t.test(`${mode}: setData without a ringlet cookie session stores nothing`, async (t) => {
    const ringlet = createRinglet({ mode, keys: generateJwks() });
    const app = await startApp(t);
    t.equal((await during(app, ringlet, undefined, (req, res) => ringlet.setData(req, res, { a: 1 }))).out, false, 'anonymous');
    const token = ringlet.sessions.issueToken('alice', 'viewer', ['ui:read']).token;
    app.handle(ringlet.wrap((req, res) => res.end(JSON.stringify({ stored: ringlet.setData(req, res, { a: 1 }), data: req.ringletSession?.data ?? null }))));
    const bearer = await app.call('GET', '/', { headers: { authorization: `Bearer ${token}` } });
    t.same(bearer.json, { stored: false, data: null }, 'a bearer token carries no data');
    const login = await during(app, ringlet, undefined, (_req, res) => ringlet.login(res, 'alice', 'viewer', { data: 'kept' }) && null);
    const cookie = cookiePair(login.reply, 'ringlet');
    const after = await during(app, ringlet, cookie, (req, res) => {
      ringlet.logout(req, res);
      return ringlet.setData(req, res, 'changed');
    });
    t.equal(after.out, false, 'after logout in the same request');
    t.equal((await during(app, ringlet, cookie, (req) => req.ringletSession?.data ?? null)).out, null, 'and the session is gone');
  });
}

t.test('RAM mode: data lives in the slot, slotBytes of UTF-8 JSON with its framing', async (t) => {
  const ringlet = createRinglet({ mode: 'ram', slotBytes: 64, keys: generateJwks() });
  const app = await startApp(t);
  // {"d":"…"} is 8 bytes of framing; {"a":"10.0.0.1","d":"…"} is 23.
  const cases: Array<[string, unknown, string | undefined, string]> = [
    ['56 ASCII characters', 'x'.repeat(56), undefined, 'ok'],
    ['57 ASCII characters', 'x'.repeat(57), undefined, 'ERR_DATA_TOO_LARGE'],
    ['28 two-byte characters (56 bytes)', 'é'.repeat(28), undefined, 'ok'],
    ['28 two-byte characters and one more byte', `${'é'.repeat(28)}x`, undefined, 'ERR_DATA_TOO_LARGE'],
    ['41 characters with a client address', 'x'.repeat(41), '10.0.0.1', 'ok'],
    ['42 characters with a client address', 'x'.repeat(42), '10.0.0.1', 'ERR_DATA_TOO_LARGE'],
    ['over the slot on its own', 'x'.repeat(100), undefined, 'ERR_DATA_TOO_LARGE'],
  ];
  for (const [name, data, clientAddress, expected] of cases) {
    const created = ringlet.sessions.stats().created;
    const login = await during(app, ringlet, undefined, (_req, res) => {
      ringlet.login(res, 'alice', 'viewer', { data, ...(clientAddress === undefined ? {} : { clientAddress }) });
      return 'ok';
    });
    t.same(login.out, expected === 'ok' ? 'ok' : { code: expected }, `login: ${name}`);
    if (expected !== 'ok') {
      t.equal(ringlet.sessions.stats().created, created, `${name}: no session started`);
      t.same(setCookieLines(login.reply), [], `${name}: no cookie`);
    } else {
      t.same((await during(app, ringlet, cookiePair(login.reply, 'ringlet'), (req) => req.ringletSession?.data)).out, data, `${name}: read back`);
    }
  }
  const login = await during(app, ringlet, undefined, (_req, res) => ringlet.login(res, 'carol', 'viewer', { data: 'first', clientAddress: '10.0.0.9' }) && null);
  const cookie = cookiePair(login.reply, 'ringlet');
  const over = await during(app, ringlet, cookie, (req, res) => {
    const code = codeOf(() => ringlet.setData(req, res, 'x'.repeat(42)));
    return { code, now: req.ringletSession?.data };
  });
  t.same(over.out, { code: 'ERR_DATA_TOO_LARGE', now: 'first' }, 'setData over the slot: refused, the request keeps the old data');
  t.equal((await during(app, ringlet, cookie, (req) => req.ringletSession?.data)).out, 'first', 'and so does the store');
  t.equal((await during(app, ringlet, cookie, (req, res) => ringlet.setData(req, res, 'y'.repeat(41)))).out, true, 'what fits with the address is stored');
  t.equal(ringlet.sessions.list('carol')?.[0]?.clientAddress, '10.0.0.9', 'the client address survives setData');
});

/** The longest string of data a cookie session can be issued with, found by trying (the limit is in sealed bytes, not characters). */
function largestDataThatFits(ringlet: ReturnType<typeof createRinglet>): number {
  let low = 0;
  let high = 4096;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (codeOf(() => ringlet.sessions.issue('alice', 'viewer', undefined, 'x'.repeat(mid))) === 'ok') low = mid;
    else high = mid - 1;
  }
  return low;
}

t.test('cookie mode: data lives in the sealed cookie, under the 4096-byte Set-Cookie cap', async (t) => {
  for (const secureCookies of [false, true]) {
    const ringlet = createRinglet({ mode: 'cookie', secureCookies, keys: generateJwks() });
    const name = ringlet.cookies.session;
    const app = await startApp(t);
    const low = largestDataThatFits(ringlet);
    t.ok(low > 2500 && low < 2800, `${name}: about 2.6 KB of data fit (${low} characters)`);
    t.equal(codeOf(() => ringlet.sessions.issue('alice', 'viewer', undefined, 'x'.repeat(low + 1))), 'ERR_DATA_TOO_LARGE', `${name}: one more character is ERR_DATA_TOO_LARGE`);
    const login = await during(app, ringlet, undefined, (_req, res) => ringlet.login(res, 'alice', 'viewer', { data: 'x'.repeat(low) }) && null);
    const line = setCookieLine(login.reply, name) ?? '';
    t.ok(Buffer.byteLength(`Set-Cookie: ${line}`) <= 4096 - 64 + 'Set-Cookie: '.length, `${name}: the Set-Cookie line (${Buffer.byteLength(line)} bytes) keeps 64 bytes of the 4096 for re-issues`);
    const cookie = cookiePair(login.reply, name);
    const over = await during(app, ringlet, cookie, (req, res) => ({ code: codeOf(() => ringlet.setData(req, res, 'x'.repeat(low + 1))), now: (req.ringletSession?.data as string).length }));
    t.same(over.out, { code: 'ERR_DATA_TOO_LARGE', now: low }, `${name}: setData over the cap is refused; the request keeps its data`);
    t.same(setCookieLines(over.reply), [], `${name}: and no cookie is sent`);
    t.equal(codeOf(() => ringlet.sessions.issue('alice', 'viewer', undefined, 'x'.repeat(5000))), 'ERR_DATA_TOO_LARGE', `${name}: data over the cap on its own`);
  }
});

t.test('cookie mode: a session sealed at the cap is still re-issued when its timing claims grow', async (t) => {
  // Started at 0 on both clocks (a device booted "in 1970"), then NTP sets the wall clock and
  // the monotonic clock runs past half the idle window: every timing claim gets longer.
  const mono = new ManualClock(0);
  const wall = new ManualClock(0);
  const idleTimeoutMs = 2 ** 31 - 1;
  const ringlet = createRinglet({ mode: 'cookie', idleTimeoutMs, absoluteTimeoutMs: 400 * 86_400_000, monotonicClock: mono, wallClock: wall, keys: generateJwks() });
  const low = largestDataThatFits(ringlet);
  const app = await startApp(t);
  const login = await during(app, ringlet, undefined, (_req, res) => ringlet.login(res, 'alice', 'viewer', { data: 'x'.repeat(low) }) && null);
  const cookie = cookiePair(login.reply, 'ringlet');
  wall.set(Date.UTC(2027, 0, 1));
  mono.advance(Math.ceil(idleTimeoutMs * 0.6));
  const later = await during(app, ringlet, cookie, (req) => (req.ringletSession?.data as string | undefined)?.length ?? null);
  t.equal(later.out, low, 'the session resolves with its data');
  const line = setCookieLine(later.reply, 'ringlet') ?? '';
  t.not(line, '', 'and is re-issued');
  t.ok(Buffer.byteLength(line) < 4096, `the re-issued Set-Cookie line fits (${Buffer.byteLength(line)} bytes, ${Buffer.byteLength(line) - Buffer.byteLength(setCookieLines(login.reply)[0] ?? '')} more than at login)`);
  t.equal((await during(app, ringlet, cookiePair(later.reply, 'ringlet'), (req) => (req.ringletSession?.data as string).length)).out, low, 'the re-issued cookie carries the data');
});
