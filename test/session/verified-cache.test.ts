import t from 'tap';
import { generateJwks, loadKeyRing, rotateJwks } from '../../src/codec/index.js';
import { BearerTokens } from '../../src/session/bearer.js';
import { CookieSessions } from '../../src/session/cookie-sessions.js';
import { RevocationTables } from '../../src/session/revocation.js';
import { DEFAULT_TRUSTED_FLOOR_MS, createSessionClocks } from '../../src/session/time-policy.js';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_VERIFIED_CACHE_ENTRIES, MAX_VERIFIED_CACHE_ENTRIES, VERIFIED_CACHE_MAX_TOKEN_CHARS, VerifiedCache } from '../../src/session/verified-cache.js';
import { ManualClock } from '../support/clock.js';

/** A token-shaped string: base64url segments, the last one standing in for the tag or MAC. */
function token(n: number, mac = `mac${n}xxxxxxxxxxxxxxxxxx`): string {
  return `eyJhbGciOiJkaXIifQ..iv${n}.body${n}.${mac}`;
}

function flipChar(text: string, index: number): string {
  const c = text[index] === 'A' ? 'B' : 'A';
  return text.slice(0, index) + c + text.slice(index + 1);
}

t.test('unit: exact credential in, its verdict out; anything else is a miss', async (t) => {
  const cache = new VerifiedCache<{ n: number }>();
  const a = token(1);
  t.equal(cache.get(a), undefined, 'empty cache misses');
  const verdict = { n: 1 };
  cache.remember(a, verdict);
  t.equal(cache.get(a), verdict, 'the same string hits');
  const cases: Array<[string, string]> = [
    ['last character of the MAC changed', flipChar(a, a.length - 1)],
    ['first character of the MAC changed', flipChar(a, a.lastIndexOf('.') + 1)],
    ['MAC one character short', a.slice(0, -1)],
    ['MAC one character long', a + 'A'],
    ['body changed, same MAC', flipChar(a, a.indexOf('body') + 1)],
    ['header changed, same MAC', flipChar(a, 1)],
    ['MAC moved to another body', token(2, a.slice(a.lastIndexOf('.') + 1))],
    ['no dots', a.replaceAll('.', '')],
    ['empty', ''],
  ];
  for (const [name, other] of cases) t.equal(cache.get(other), undefined, name);
  t.equal(cache.get(a), verdict, 'misses did not disturb the entry');
  t.same(cache.stats(), { entries: 1, hits: 2, misses: 1 + cases.length - 2 }, 'the empty-cache miss counts; no-dot and empty are not even looked up');
});

t.test('unit: bounded by entries and by token length, oldest out first', async (t) => {
  for (const capacity of [1, 3, DEFAULT_VERIFIED_CACHE_ENTRIES]) {
    const cache = new VerifiedCache<number>(capacity);
    t.equal(cache.capacity, capacity);
    for (let i = 0; i < capacity; i++) cache.remember(token(i), i);
    t.equal(cache.size, capacity, `${capacity}: full`);
    cache.remember(token(0), 0); // an update of a kept credential evicts nobody
    if (capacity > 1) t.equal(cache.get(token(1)), 1, `${capacity}: an update evicted nobody`);
    cache.remember(token(capacity), capacity);
    t.equal(cache.size, capacity, `${capacity}: never more than the bound`);
    t.equal(cache.get(token(0)), undefined, `${capacity}: the oldest went`);
    if (capacity > 1) t.equal(cache.get(token(1)), 1, `${capacity}: the next oldest stayed`);
    t.equal(cache.get(token(capacity)), capacity);
  }
  const cache = new VerifiedCache<number>();
  t.equal(cache.capacity, DEFAULT_VERIFIED_CACHE_ENTRIES, 'the default');
  const long = `${'A'.repeat(VERIFIED_CACHE_MAX_TOKEN_CHARS)}.mac`;
  cache.remember(long, -1);
  t.equal(cache.get(long), undefined, 'an over-long credential is never kept');
  cache.remember('nodots', -2);
  t.equal(cache.get('nodots'), undefined);
  t.equal(cache.size, 0);
});

t.test('unit: capacity 0 keeps nothing; a capacity out of range is a ConfigError naming the field', async (t) => {
  const off = new VerifiedCache<number>(0);
  off.remember(token(1), 1);
  t.equal(off.size, 0);
  t.equal(off.get(token(1)), undefined, 'every lookup misses');
  t.same(off.stats(), { entries: 0, hits: 0, misses: 1 });
  for (const bad of [-1, 1.5, MAX_VERIFIED_CACHE_ENTRIES + 1, Number.NaN]) {
    t.throws(() => new VerifiedCache(bad), new ConfigError('verifiedCacheEntries', `must be an integer from 0 to ${MAX_VERIFIED_CACHE_ENTRIES} (count), got ${bad}`), String(bad));
  }
});

function world(jwks = generateJwks(), verifiedCacheEntries?: number) {
  const mono = new ManualClock(5_000);
  const wall = new ManualClock(DEFAULT_TRUSTED_FLOOR_MS + 1_000_000);
  const clocks = createSessionClocks(mono, wall, DEFAULT_TRUSTED_FLOOR_MS, 'boot-a');
  const keys = loadKeyRing(jwks);
  const revocation = new RevocationTables(8, clocks);
  const bearer = new BearerTokens(keys, clocks, revocation, 600_000, verifiedCacheEntries);
  const sessions = new CookieSessions({ keys, clocks, revocation, bearer, idleTimeoutMs: 60_000, absoluteTimeoutMs: 3_600_000, cookieNameBytes: 6, verifiedCacheEntries });
  return { mono, wall, bearer, sessions };
}

t.test('the managers size their caches as told: N clients in turn all hit, N + 1 all miss (first in, first out)', async (t) => {
  for (const entries of [0, 1, 4]) {
    for (const clients of [entries, entries + 1]) {
      const w = world(generateJwks(), entries);
      const cookies = Array.from({ length: clients }, (_, i) => w.sessions.issue(`user${i}`, 'viewer').cookieValue);
      const tokens = Array.from({ length: clients }, (_, i) => w.bearer.issue(`user${i}`, 'viewer', []).token);
      for (let round = 0; round < 3; round++) {
        for (const c of cookies) t.ok(w.sessions.resolveCookie([c], false), 'resolves either way');
        for (const b of tokens) t.ok(w.bearer.resolve(b), 'resolves either way');
      }
      const stats = w.sessions.stats();
      const lookups = 3 * clients * 2;
      const expectedHits = clients === entries ? lookups - 2 * clients : 0;
      t.same([stats.verifiedCacheHits, stats.verifiedCacheMisses], [expectedHits, lookups - expectedHits], `${entries} entries, ${clients} clients in turn`);
    }
  }
});

t.test('cookie mode: a cached cookie still meets expiry, logout and logout-everywhere', async (t) => {
  const expiry = world();
  const a = expiry.sessions.issue('alice', 'admin').cookieValue;
  t.equal(expiry.sessions.resolveCookie([a], false)?.session.user, 'alice', 'first use: opened and kept');
  t.equal(expiry.sessions.resolveCookie([a], false)?.session.user, 'alice', 'second use: from the cache');
  expiry.mono.advance(60_000);
  t.equal(expiry.sessions.resolveCookie([a], false), undefined, 'idle expiry is decided per request');

  const logout = world();
  const b = logout.sessions.issue('bob', 'viewer');
  t.ok(logout.sessions.resolveCookie([b.cookieValue], false));
  logout.sessions.revoke(b.session);
  t.equal(logout.sessions.resolveCookie([b.cookieValue], false), undefined, 'logout ends a cached cookie');

  const everywhere = world();
  const c = everywhere.sessions.issue('carol', 'admin').cookieValue;
  t.ok(everywhere.sessions.resolveCookie([c], false));
  everywhere.mono.advance(1);
  everywhere.sessions.revokeUser('carol');
  t.equal(everywhere.sessions.resolveCookie([c], false), undefined, 'logout-everywhere ends a cached cookie');
});

t.test('cookie mode: a cached cookie with a tampered tag is refused; a cached old-key cookie is still re-sealed', async (t) => {
  const w = world();
  const value = w.sessions.issue('alice', 'admin').cookieValue;
  t.ok(w.sessions.resolveCookie([value], false));
  const dot = value.lastIndexOf('.');
  for (const i of [dot + 1, value.length - 2, value.length - 1]) {
    t.equal(w.sessions.resolveCookie([flipChar(value, i)], false), undefined, `tag character ${i - dot - 1} changed`);
  }

  const oldKeys = generateJwks();
  const before = world(oldKeys);
  const oldCookie = before.sessions.issue('dave', 'admin').cookieValue;
  const after = world(rotateJwks(oldKeys));
  for (const round of ['opened', 'cached']) {
    const resolution = after.sessions.resolveCookie([oldCookie], true);
    t.equal(resolution?.session.user, 'dave', `${round}: the old key is still accepted`);
    t.type(resolution?.reissueCookie, 'string', `${round}: and the cookie is re-sealed with the current key`);
  }
});

t.test('bearer: a cached token still meets revocation and expiry; a tampered MAC is refused', async (t) => {
  const w = world();
  const issued = w.bearer.issue('erin', 'viewer', ['read']);
  const first = w.bearer.resolve(issued.token);
  t.same(first?.scope, ['read']);
  t.ok(Object.isFrozen(first?.scope), 'the shared scope cannot be changed by a route');
  t.equal(w.bearer.resolve(issued.token)?.user, 'erin', 'from the cache');
  t.equal(w.bearer.resolve(flipChar(issued.token, issued.token.length - 1)), undefined, 'MAC changed');
  w.bearer.revokeJti(issued.jti, 'erin');
  t.equal(w.bearer.resolve(issued.token), undefined, 'revoked while cached');

  const later = w.bearer.issue('erin', 'viewer', []);
  t.ok(w.bearer.resolve(later.token));
  w.mono.advance(600_000 + 30_000);
  t.equal(w.bearer.resolve(later.token), undefined, 'expired while cached');
});
