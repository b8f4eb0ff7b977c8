import t from 'tap';
import { generateJwks, loadKeyRing } from '../../src/codec/index.js';
import { createStore } from '../../src/store/index.js';
import { BearerTokens } from '../../src/session/bearer.js';
import { RamSessions } from '../../src/session/ram-sessions.js';
import { RevocationTables } from '../../src/session/revocation.js';
import { DEFAULT_TRUSTED_FLOOR_MS, createSessionClocks } from '../../src/session/time-policy.js';
import { ManualClock } from '../support/clock.js';

const IDLE_MS = 60_000;
const ABSOLUTE_MS = 3_600_000;

function setup(capacity: number) {
  const mono = new ManualClock(5_000);
  const wall = new ManualClock(DEFAULT_TRUSTED_FLOOR_MS + 1_000_000);
  const clocks = createSessionClocks(mono, wall, DEFAULT_TRUSTED_FLOOR_MS, 'boot-a');
  const revocation = new RevocationTables(8, clocks);
  const bearer = new BearerTokens(loadKeyRing(generateJwks()), clocks, revocation, 60_000);
  const store = createStore({ capacity, idleTimeoutMs: IDLE_MS, absoluteTimeoutMs: ABSOLUTE_MS, clock: mono });
  return { mono, wall, store, sessions: new RamSessions(store, clocks, revocation, bearer) };
}

t.test('a resolved session reports what the store holds, times on the wall clock', async (t) => {
  const { mono, wall, store, sessions } = setup(4);
  const issued = sessions.issue('alice', 'admin', '192.0.2.1');
  const createdWall = wall.now();
  mono.advance(1_000);
  wall.advance(1_000);
  const session = sessions.resolveCookie([issued.cookieValue], true)!.session;
  const view = store.get(issued.cookieValue, { touch: false })!;
  t.equal(session.user, 'alice');
  t.equal(session.role, 'admin');
  t.equal(session.via, 'cookie');
  t.equal(session.scope, undefined);
  t.equal(session.ref, view.ref);
  t.equal(session.ref, issued.session.ref, 'the ref is stable');
  t.equal(session.csrfToken, view.csrfToken);
  t.equal(session.csrfToken, issued.session.csrfToken);
  t.equal(session.createdAtMs, createdWall);
  t.equal(session.idleExpiresAtMs, wall.now() + IDLE_MS, 'idle window restarts at the touch');
  t.equal(session.absoluteExpiresAtMs, createdWall + ABSOLUTE_MS);
  t.same(JSON.parse(JSON.stringify(session)), {
    user: 'alice', role: 'admin', ref: view.ref, via: 'cookie', csrfToken: view.csrfToken,
    createdAtMs: createdWall, idleExpiresAtMs: wall.now() + IDLE_MS, absoluteExpiresAtMs: createdWall + ABSOLUTE_MS,
  }, 'serialises like a plain session');
});

t.test('a session whose slot is reused later in the request never lends the new token', async (t) => {
  const { sessions } = setup(1);
  const first = sessions.issue('alice', 'admin', undefined);
  const resolved = sessions.resolveCookie([first.cookieValue], true)!.session;
  const firstRef = resolved.ref;
  const second = sessions.issue('bob', 'viewer', undefined); // evicts alice: same slot, next generation
  t.equal(second.evicted?.user, 'alice');
  t.equal(resolved.csrfToken, undefined, 'the ended session has no CSRF token (CSRF checks refuse it)');
  t.not(second.session.csrfToken, undefined);
  t.equal(resolved.ref, firstRef, 'its ref still names the old session');
  t.not(second.session.ref, firstRef);
  t.equal(resolved.user, 'alice', 'user and role were taken at resolve time');
});

t.test('a token read before the slot is reused stays the session\'s own', async (t) => {
  const { sessions } = setup(1);
  const first = sessions.issue('alice', 'admin', undefined);
  const resolved = sessions.resolveCookie([first.cookieValue], true)!.session;
  const token = resolved.csrfToken;
  t.not(token, undefined);
  sessions.issue('bob', 'viewer', undefined);
  t.equal(resolved.csrfToken, token);
});
