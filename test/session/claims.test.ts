import t from 'tap';
import { ManualClock } from '../support/clock.js';
import { checkTiming, hasTokenShape, mintTiming, type TokenClaims } from '../../src/session/claims.js';
import { DEFAULT_TRUSTED_FLOOR_MS, createSessionClocks } from '../../src/session/time-policy.js';

const LIMITS = { idleTimeoutMs: 15 * 60_000, absoluteTimeoutMs: 12 * 3_600_000, leewayMs: 30_000 };
const YEAR_MS = 365.25 * 24 * 3_600_000;
const NOW = DEFAULT_TRUSTED_FLOOR_MS + 86_400_000;

function world(wallStart: number, boot = 'boot-a') {
  const mono = new ManualClock(5_000);
  const wall = new ManualClock(wallStart);
  return { mono, wall, clocks: createSessionClocks(mono, wall, DEFAULT_TRUSTED_FLOOR_MS, boot) };
}

function claims(w: ReturnType<typeof world>): TokenClaims {
  return { sub: 'admin', role: 'admin', jti: 'j1', ...mintTiming(w.clocks, LIMITS) };
}

t.test('same boot: idle and absolute limits on the monotonic clock, exact boundaries', (t) => {
  const w = world(NOW);
  const c = claims(w);
  t.match(checkTiming(c, w.clocks, LIMITS), { ok: true });
  w.mono.advance(LIMITS.idleTimeoutMs - 1);
  t.match(checkTiming(c, w.clocks, LIMITS), { ok: true, idleLeftMs: 1 }, 'one ms before idle expiry');
  w.mono.advance(1);
  t.match(checkTiming(c, w.clocks, LIMITS), { ok: false, reason: 'expired-idle' }, 'at the limit it is expired');
  t.end();
});

t.test('re-issue keeps the login time, so the absolute limit holds across refreshes', (t) => {
  const w = world(NOW);
  let c = claims(w);
  for (let i = 0; i < 100; i++) {
    w.mono.advance(LIMITS.idleTimeoutMs / 2);
    w.wall.advance(LIMITS.idleTimeoutMs / 2);
    const verdict = checkTiming(c, w.clocks, LIMITS);
    if (!verdict.ok) {
      t.equal(verdict.reason, 'expired-absolute');
      t.equal(i, (LIMITS.absoluteTimeoutMs / (LIMITS.idleTimeoutMs / 2)) - 1, 'expires exactly at the absolute limit');
      t.end();
      return;
    }
    c = { ...c, ...mintTiming(w.clocks, LIMITS, c) };
  }
  t.fail('never expired');
  t.end();
});

t.test('clock faults in the same boot change nothing', (t) => {
  for (const [title, jump] of [['+50 years', 50 * YEAR_MS], ['-1 hour', -3_600_000], ['back to 1970', -NOW]] as const) {
    const w = world(NOW);
    const c = claims(w);
    w.wall.advance(jump);
    w.mono.advance(60_000);
    t.match(checkTiming(c, w.clocks, LIMITS), { ok: true }, `${title}: still valid`);
    w.mono.advance(LIMITS.idleTimeoutMs);
    t.match(checkTiming(c, w.clocks, LIMITS), { ok: false, reason: 'expired-idle' }, `${title}: still expires on time`);
  }
  t.end();
});

t.test('a 1970 boot mints boot-bound tokens: valid here, untimeable elsewhere', (t) => {
  const w = world(0);
  const c = claims(w);
  t.equal(c.wt, 0);
  t.match(checkTiming(c, w.clocks, LIMITS), { ok: true }, 'same process');
  const other = world(NOW, 'boot-b');
  t.match(checkTiming(c, other.clocks, LIMITS), { ok: false, reason: 'untimeable' }, 'another node or a restart');
  t.end();
});

t.test('another boot: wall clock with leeway; forward jumps expire, backward jumps beyond leeway reject', (t) => {
  const a = world(NOW, 'boot-a');
  const c = claims(a);
  const b = world(NOW, 'boot-b');
  t.match(checkTiming(c, b.clocks, LIMITS), { ok: true });
  b.wall.advance(-20_000);
  t.match(checkTiming(c, b.clocks, LIMITS), { ok: true }, 'skew within leeway');
  b.wall.advance(-3_600_000);
  t.match(checkTiming(c, b.clocks, LIMITS), { ok: false, reason: 'from-the-future' }, '-1 hour: issued in the future');
  b.wall.set(NOW + 50 * YEAR_MS);
  t.match(checkTiming(c, b.clocks, LIMITS), { ok: false, reason: 'expired-absolute' }, '+50 years: expired');
  b.wall.set(0);
  t.match(checkTiming(c, b.clocks, LIMITS), { ok: false, reason: 'untimeable' }, 'this node is at 1970');
  t.end();
});

t.test('claims shape check refuses wrong types', (t) => {
  const w = world(NOW);
  const good = claims(w) as unknown as Record<string, unknown>;
  t.equal(hasTokenShape(good), true);
  for (const [key, bad] of [['sub', 5], ['sub', ''], ['role', 'root'], ['jti', null], ['iat', '1'], ['am', Infinity], ['wt', 2], ['bid', 1]] as const) {
    t.equal(hasTokenShape({ ...good, [key]: bad }), false, `${key}=${String(bad)}`);
  }
  t.end();
});
