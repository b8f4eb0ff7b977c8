import t from 'tap';
import { ManualClock } from '../support/clock.js';
import { RevocationTables, revocationFootprintBytes, type CredentialLife, type IssuedAt } from '../../src/session/revocation.js';
import { parseRevocationEvent, type RevocationEvent } from '../../src/session/revocation-events.js';
import { DEFAULT_TRUSTED_FLOOR_MS, createSessionClocks, wallClockTrusted } from '../../src/session/time-policy.js';

const HOUR = 3600_000;
const LONGEST = 13 * HOUR;

function setup(entries = 8, wallStart = DEFAULT_TRUSTED_FLOOR_MS + 1000, bootId = 'boot-a') {
  const mono = new ManualClock(1000);
  const wall = new ManualClock(wallStart);
  const clocks = createSessionClocks(mono, wall, DEFAULT_TRUSTED_FLOOR_MS, bootId);
  return { mono, wall, clocks, tables: new RevocationTables(entries, clocks, { longestCredentialMs: LONGEST }) };
}

type World = ReturnType<typeof setup>;

/** A credential minted now by this boot (wall trusted or not), living `lifeMs`. */
function mint(w: World, lifeMs = HOUR): { issued: IssuedAt; life: CredentialLife } {
  const monoMs = Math.floor(w.mono.now());
  const trusted = wallClockTrusted(w.clocks);
  const wallMs = trusted ? Math.floor(w.wall.now()) : Number.NaN;
  if (trusted) w.clocks.mintedWallHighMs = Math.max(w.clocks.mintedWallHighMs, wallMs);
  const issued = { monoMs, wallMs };
  return { issued, life: { issued, untilMonoMs: monoMs + lifeMs, untilWallMs: trusted ? wallMs + lifeMs + 30_000 : Number.NaN } };
}

/** The same credential as another boot sees it: only its wall time (if it had one). */
const elsewhere = (issued: IssuedAt): IssuedAt => ({ monoMs: undefined, wallMs: issued.wallMs });

/** A new process on the same revocation file: the durable events applied as the file loader does. */
function restart(from: World, wallMs = from.wall.now() + 60_000, bootId = 'boot-b'): World & { events: RevocationEvent[] } {
  const events = from.tables.durableEvents();
  // What the file holds is exactly what the parser accepts.
  for (const e of events) {
    if (JSON.stringify(parseRevocationEvent(JSON.parse(JSON.stringify(e)))) !== JSON.stringify(e)) throw new Error(`not parsed back: ${JSON.stringify(e)}`);
  }
  const next = setup(8, wallMs, bootId);
  for (const e of events) next.tables.apply(e, 'file');
  return { ...next, events };
}

t.test('the wall clock is trusted only at or after the floor', (t) => {
  const { wall, clocks } = setup();
  t.equal(wallClockTrusted(clocks), true);
  wall.set(0);
  t.equal(wallClockTrusted(clocks), false, '1970 boot');
  wall.set(DEFAULT_TRUSTED_FLOOR_MS);
  t.equal(wallClockTrusted(clocks), true, 'exactly at the floor');
  t.end();
});

t.test('logout-everywhere refuses sessions that began before it, not after, on the monotonic clock', (t) => {
  const w = setup();
  const early = mint(w);
  w.mono.advance(10);
  w.wall.advance(-HOUR); // a wall-clock jump changes nothing for this boot's credentials
  w.tables.revokeUser('alice');
  t.equal(w.tables.isRevoked('alice', 's1', early.issued), true, 'older session refused');
  t.equal(w.tables.isRevoked('bob', 's2', early.issued), false, 'other users unaffected');
  t.equal(w.tables.isRevoked('alice', 's3', mint(w).issued), false, 'a fresh session issued in the same millisecond right after is kept (password change)');
  w.tables.revokeUser('bob', true);
  t.equal(w.tables.isRevoked('bob', 's5', mint(w).issued), true, 'includeThisMillisecond: refused too (a removed user gets nothing after)');
  w.mono.advance(1);
  t.equal(w.tables.isRevoked('bob', 's6', mint(w).issued), false, 'the next millisecond is not');
  t.equal(w.tables.isRevoked('bob', 's7', early.issued), true);
  const b = restart(w);
  t.equal(b.tables.isRevoked('alice', 's1', elsewhere(early.issued)), true, 'another boot: refused on the wall clock');
  t.end();
});

t.test('foreign credentials are compared on the wall clock; untrusted moments fail closed, then are placed', (t) => {
  const w = setup();
  const foreign = { monoMs: undefined, wallMs: w.wall.now() };
  w.wall.advance(5000);
  w.tables.revokeUser('alice');
  t.equal(w.tables.isRevoked('alice', 'x', foreign), true);
  t.equal(w.tables.isRevoked('alice', 'y', { monoMs: undefined, wallMs: w.wall.now() + 1 }), false);
  const trustedAgain = w.wall.now() + 10_000;
  w.wall.set(0); // clock fell back to 1970: a revocation recorded now cannot be placed in wall time
  w.tables.revokeUser('bob');
  const future = { monoMs: undefined, wallMs: DEFAULT_TRUSTED_FLOOR_MS + 10 ** 9 };
  t.equal(w.tables.isRevoked('bob', 'z', future), true, 'every credential of another boot is refused');
  t.same(w.tables.durableEvents().find((e) => e.type === 'user-not-before' && e.user === 'bob'), { type: 'user-not-before', user: 'bob', wall: null }, 'written as unplaced');
  w.wall.set(trustedAgain);
  const placed = w.tables.durableEvents().find((e) => e.type === 'user-not-before' && e.user === 'bob');
  t.same(placed, { type: 'user-not-before', user: 'bob', wall: trustedAgain }, 'placed at the first trusted reading (later than it happened: refuses more, never less)');
  t.equal(w.tables.isRevoked('bob', 'z', future), false, 'then credentials issued after the placement pass');
  t.equal(w.tables.isRevoked('bob', 'z', { monoMs: undefined, wallMs: trustedAgain - 1 }), true, 'those before do not');
  t.end();
});

t.test('a denied credential is refused until its own expiry on both clocks, then dropped', (t) => {
  const w = setup();
  const c = mint(w, HOUR);
  w.tables.denyCredential('jti-1', 'alice', c.life);
  t.equal(w.tables.isRevoked('alice', 'jti-1', c.issued), true);
  t.equal(w.tables.isRevoked('alice', 'jti-2', c.issued), false);
  t.equal(w.tables.isRevoked('mallory', 'jti-1', c.issued), true, 'by id, whoever it was charged to');
  w.mono.advance(HOUR);
  w.wall.advance(-2 * HOUR); // set back: another boot would still accept it by wall time
  t.equal(w.tables.durableEvents().filter((e) => e.type === 'denied-id').length, 1, 'kept while the wall clock says it may live');
  w.wall.advance(3 * HOUR + 30_000);
  t.equal(w.tables.durableEvents().length, 0, 'dropped once both clocks say it expired');
  t.equal(w.tables.stats().deniedIds, 0);
  t.end();
});

t.test('a credential minted under an untrusted wall clock is not written: no other boot can accept it', (t) => {
  const w = setup(8, 0);
  const c = mint(w);
  w.tables.denyCredential('jti-local', 'alice', c.life);
  t.equal(w.tables.isRevoked('alice', 'jti-local', c.issued), true);
  t.same(w.tables.durableEvents(), []);
  w.mono.advance(HOUR);
  w.tables.durableEvents();
  t.equal(w.tables.stats().deniedIds, 0, 'dropped on the monotonic clock alone');
  t.end();
});

t.test('a jti revoked without its token lasts the longest any credential can live', (t) => {
  const w = setup();
  const c = mint(w);
  w.tables.denyId('jti-9', 'alice');
  const [event] = w.tables.durableEvents();
  t.same(event, { type: 'denied-id', id: 'jti-9', user: 'alice', issued: null, until: Math.floor(w.wall.now()) + LONGEST });
  w.mono.advance(LONGEST - 1);
  w.wall.advance(LONGEST - 1);
  t.equal(w.tables.isRevoked('alice', 'jti-9', c.issued), true);
  t.end();
});

t.test('fair share: one user\'s flood folds into their own span, never another user\'s entries or their own devices', (t) => {
  const w = setup(8);
  const aliceA = mint(w);
  const aliceB = mint(w);
  w.mono.advance(1000);
  w.wall.advance(1000);
  const malloryBefore = mint(w);
  w.mono.advance(60_000);
  w.wall.advance(60_000);
  const flood: Array<{ id: string; c: ReturnType<typeof mint> }> = [];
  for (let i = 0; i < 100; i++) {
    const c = mint(w);
    flood.push({ id: `m${i}`, c });
    w.tables.denyCredential(`m${i}`, 'mallory', c.life);
    w.mono.advance(5);
    w.wall.advance(5);
    if (i === 50) w.tables.denyCredential('alice-a', 'alice', aliceA.life);
  }
  w.mono.advance(60_000);
  w.wall.advance(60_000);
  const malloryAfter = mint(w);
  for (const { id, c } of flood) t.equal(w.tables.isRevoked('mallory', id, c.issued), true, `flood ${id} stays refused`);
  t.equal(w.tables.isRevoked('alice', 'alice-a', aliceA.issued), true, 'alice\'s revoked session stays refused');
  t.equal(w.tables.isRevoked('alice', 'alice-b', aliceB.issued), false, 'her other session is untouched');
  t.equal(w.tables.isRevoked('mallory', 'mb', malloryBefore.issued), false, 'mallory\'s session from before the flood is untouched');
  t.equal(w.tables.isRevoked('mallory', 'ma', malloryAfter.issued), false, 'and one from after it');
  const s = w.tables.stats();
  t.ok(s.deniedIds + s.spans <= 8, `bounded: ${s.deniedIds} ids + ${s.spans} spans`);
  t.ok(s.overflows > 0, 'folds happened');
  t.equal(s.users, 0, 'nobody was given a not-before');
  // Another boot sees the same: the spans are written with wall bounds.
  const b = restart(w);
  for (const { id, c } of flood) t.equal(b.tables.isRevoked('mallory', id, elsewhere(c.issued)), true, `flood ${id} stays refused after a restart`);
  t.equal(b.tables.isRevoked('alice', 'alice-a', elsewhere(aliceA.issued)), true);
  t.equal(b.tables.isRevoked('alice', 'alice-b', elsewhere(aliceB.issued)), false);
  t.equal(b.tables.isRevoked('mallory', 'mb', elsewhere(malloryBefore.issued)), false);
  t.equal(b.tables.isRevoked('mallory', 'ma', elsewhere(malloryAfter.issued)), false);
  t.end();
});

t.test('a logout in the same millisecond as the login stays refused when the table is full', (t) => {
  const w = setup(8);
  const all: Array<[string, string, IssuedAt]> = [];
  for (let i = 0; i < 40; i++) {
    const c = mint(w); // the clocks stand still: every credential in the same millisecond
    const user = i % 3 === 0 ? 'u1' : 'u2';
    w.tables.denyCredential(`s${i}`, user, c.life);
    all.push([user, `s${i}`, c.issued]);
  }
  for (const [user, id, issued] of all) t.equal(w.tables.isRevoked(user, id, issued), true, `${id} refused`);
  t.end();
});

t.test('a full not-before table folds its oldest entry into the all-not-before, not "now"', (t) => {
  const w = setup(8);
  const first = mint(w);
  w.mono.advance(1000);
  w.wall.advance(1000);
  let between = first;
  for (let i = 0; i < 8; i++) {
    w.tables.revokeUser(`u${i}`);
    w.mono.advance(1000);
    w.wall.advance(1000);
    if (i === 0) between = mint(w); // after u0's not-before, before the others'
  }
  w.tables.revokeUser('u8');
  t.equal(w.tables.isRevoked('u9', 'x', first.issued), true, 'credentials before the oldest folded moment are refused for everyone');
  t.equal(w.tables.isRevoked('u9', 'x', between.issued), false, 'later ones are not');
  t.equal(w.tables.isRevoked('u0', 'x', between.issued), false, 'u0 lost nothing it had not already lost');
  t.equal(w.tables.isRevoked('u7', 'x', between.issued), true, 'younger not-befores are kept');
  t.ok(w.tables.stats().users <= 8, 'bounded');
  t.same(w.tables.durableEvents().filter((e) => e.type === 'all-not-before').length, 1, 'written as an all-not-before');
  t.equal(revocationFootprintBytes(2), 2 * 2 * 320);
  t.end();
});

t.test('the file round trip: a restart refuses the same foreign credentials, applying twice changes nothing', (t) => {
  const w = setup();
  const alice = mint(w);
  const bob = mint(w);
  const token = mint(w);
  w.mono.advance(1000);
  w.wall.advance(1000);
  w.tables.revokeUser('alice');
  w.tables.denyCredential('tok', 'bob', token.life);
  const b = restart(w);
  t.same(b.events.map((e) => e.type).sort(), ['denied-id', 'user-not-before']);
  for (const e of b.events) b.tables.apply(e, 'file');
  t.same(b.tables.durableEvents(), b.events, 'idempotent');
  t.equal(b.tables.isRevoked('alice', 'a', elsewhere(alice.issued)), true);
  t.equal(b.tables.isRevoked('bob', 'b', elsewhere(bob.issued)), false);
  t.equal(b.tables.isRevoked('bob', 'tok', elsewhere(token.issued)), true);
  const fresh = mint(b);
  t.equal(b.tables.isRevoked('alice', 'new', fresh.issued), false, 'a login in the new boot is fine');
  b.wall.advance(-HOUR);
  const behind = mint(b);
  t.equal(b.tables.isRevoked('alice', 'new2', behind.issued), false, 'even with the wall clock behind: it was minted after the file was applied');
  t.end();
});

t.test('a cookie of an earlier boot, re-sealed here, is judged by its wall login time, not its re-sealed monotonic one', (t) => {
  const w = setup();
  w.tables.revokeUser('alice');
  w.mono.advance(1000);
  w.wall.advance(1000);
  const afterIt = mint(w);
  const b = restart(w);
  t.equal(b.tables.isRevoked('alice', 'c', elsewhere(afterIt.issued)), false, 'as another boot\'s cookie');
  // Re-sealed by this boot: the login keeps its wall time; its monotonic one is synthetic and
  // earlier than the moment the file was applied.
  const resealed = { monoMs: b.mono.now() - 70_000, wallMs: afterIt.issued.wallMs };
  t.equal(b.tables.isRevoked('alice', 'c', resealed), false, 'as this boot\'s re-sealed cookie');
  t.end();
});

t.test('a wall clock that ran ahead and was set back cannot make an earlier credential look newer', (t) => {
  const w = setup();
  w.wall.advance(HOUR);
  const minted = mint(w); // wall time one hour ahead of the truth
  w.wall.advance(-HOUR);
  w.mono.advance(1000);
  w.tables.revokeUser('alice');
  const b = restart(w, w.wall.now() + 2 * HOUR);
  t.equal(b.tables.isRevoked('alice', 'x', elsewhere(minted.issued)), true, 'refused in the next boot');
  t.end();
});

t.test('remote events (another instance) are announced and refuse this boot\'s earlier credentials', (t) => {
  const w = setup();
  const here = mint(w);
  const heard: unknown[] = [];
  w.tables.ended.add((e) => heard.push(e));
  w.mono.advance(1000);
  w.wall.advance(1000);
  w.tables.apply({ type: 'user-not-before', user: 'alice', wall: Math.floor(w.wall.now()) }, 'remote');
  w.tables.apply({ type: 'denied-id', id: 'x1', user: 'bob', issued: null, until: null }, 'remote');
  t.equal(w.tables.isRevoked('alice', 'a', here.issued), true);
  t.equal(w.tables.isRevoked('bob', 'x1', here.issued), true);
  t.same(heard, [{ scope: 'user', user: 'alice' }, { scope: 'session', user: 'bob', ref: 'x1' }]);
  const published: RevocationEvent[] = [];
  w.tables.onEvent((e) => published.push(e));
  w.tables.revokeUser('carol');
  t.same(published, [{ type: 'user-not-before', user: 'carol', wall: Math.floor(w.wall.now()) }], 'local revocations are published as events');
  t.end();
});

t.test('more than one keeper of the durable part (the file and the shared engine): each hears changes, settled() waits for all', async (t) => {
  const w = setup();
  const told: string[] = [];
  let releaseEngine: () => void = () => {};
  w.tables.attachPersistence({ changed: () => told.push('file'), settled: () => Promise.resolve() });
  w.tables.attachPersistence({ changed: () => told.push('engine'), settled: () => new Promise<void>((resolve) => { releaseEngine = resolve; }) });
  w.tables.revokeUser('alice');
  t.same(told, ['file', 'engine'], 'both keepers hear the change');
  let settled = false;
  const waiting = w.tables.settled().then(() => { settled = true; });
  await new Promise((r) => setImmediate(r));
  t.equal(settled, false, 'not settled while one keeper is still delivering');
  releaseEngine();
  await waiting;
  t.equal(settled, true);
});

t.test('refuseOtherBoots (shared state failing closed): credentials of other boots are refused while set, this boot\'s never', (t) => {
  const w = setup();
  const here = mint(w);
  const foreign = elsewhere(here.issued);
  t.equal(w.tables.isRevoked('alice', 'a', foreign), false, 'accepted normally');
  w.tables.refuseOtherBoots = true;
  t.equal(w.tables.isRevoked('alice', 'a', foreign), true, 'another boot\'s credential refused while set');
  t.equal(w.tables.isRevoked('alice', 'a', here.issued), false, 'this boot\'s own credential still accepted');
  t.equal(w.tables.isRevoked('bob', 'b', { monoMs: undefined, wallMs: Number.NaN }), true, 'whatever its wall time');
  w.tables.refuseOtherBoots = false;
  t.equal(w.tables.isRevoked('alice', 'a', foreign), false, 'accepted again once cleared');
  t.end();
});
