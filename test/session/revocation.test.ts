import t from 'tap';
import { ManualClock } from '../support/clock.js';
import { RevocationTables, revocationFootprintBytes } from '../../src/session/revocation.js';
import { DEFAULT_TRUSTED_FLOOR_MS, createSessionClocks, wallClockTrusted } from '../../src/session/time-policy.js';

function setup(entries = 4, wallStart = DEFAULT_TRUSTED_FLOOR_MS + 1000) {
  const mono = new ManualClock(1000);
  const wall = new ManualClock(wallStart);
  const clocks = createSessionClocks(mono, wall, DEFAULT_TRUSTED_FLOOR_MS, 'boot-a');
  return { mono, wall, clocks, tables: new RevocationTables(entries, clocks) };
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

t.test('logout-everywhere refuses sessions that began before it, not after', (t) => {
  const { mono, tables } = setup();
  const early = { monoMs: mono.now(), wallMs: Number.NaN };
  mono.advance(10);
  tables.revokeUser('alice');
  t.equal(tables.isRevoked('alice', 's1', early), true, 'older session refused');
  t.equal(tables.isRevoked('bob', 's2', early), false, 'other users unaffected');
  mono.advance(10);
  t.equal(tables.isRevoked('alice', 's3', { monoMs: mono.now(), wallMs: Number.NaN }), false, 'new login fine');
  t.end();
});

t.test('foreign tokens are compared on the wall clock; untrusted moments fail closed', (t) => {
  const { wall, tables } = setup();
  const foreign = { monoMs: undefined, wallMs: wall.now() };
  wall.advance(5000);
  tables.revokeUser('alice');
  t.equal(tables.isRevoked('alice', 'x', foreign), true);
  t.equal(tables.isRevoked('alice', 'y', { monoMs: undefined, wallMs: wall.now() + 1 }), false);
  wall.set(0); // clock fell back to 1970: a revocation recorded now cannot be placed in wall time
  tables.revokeUser('bob');
  t.equal(tables.isRevoked('bob', 'z', { monoMs: undefined, wallMs: DEFAULT_TRUSTED_FLOOR_MS + 10 ** 9 }), true);
  t.end();
});

t.test('denied ids stay refused until their expiry, then drop out', (t) => {
  const { mono, tables } = setup();
  const issued = { monoMs: mono.now(), wallMs: Number.NaN };
  tables.denyId('jti-1', 'alice', 1000);
  t.equal(tables.isRevoked('alice', 'jti-1', issued), true);
  t.equal(tables.isRevoked('alice', 'jti-2', issued), false);
  mono.advance(1000);
  t.equal(tables.isRevoked('alice', 'jti-1', issued), false, 'expired entry dropped');
  t.equal(tables.stats().deniedIds, 0);
  t.end();
});

t.test('a full denylist raises the owner\'s not-before instead of forgetting', (t) => {
  const { mono, tables } = setup(2);
  const issued = { monoMs: mono.now(), wallMs: Number.NaN };
  mono.advance(1);
  tables.denyId('a', 'u1', 60_000);
  tables.denyId('b', 'u1', 60_000);
  tables.denyId('c', 'u2', 60_000); // full of live entries → u2 not-before
  t.equal(tables.stats().deniedIds, 2);
  t.equal(tables.isRevoked('u2', 'other', issued), true, 'u2 older sessions refused');
  t.equal(tables.isRevoked('u3', 'other', issued), false);
  t.equal(tables.stats().overflows, 1);
  t.end();
});

t.test('a full not-before table folds into a global not-before (fail closed)', (t) => {
  const { mono, tables } = setup(2);
  const issued = { monoMs: mono.now(), wallMs: Number.NaN };
  mono.advance(1);
  tables.revokeUser('u1');
  tables.revokeUser('u2');
  t.equal(tables.isRevoked('u9', 'x', issued), false);
  tables.revokeUser('u3');
  t.equal(tables.isRevoked('u9', 'x', issued), true, 'everyone older is out');
  t.ok(tables.stats().users <= 2, 'table stays bounded');
  t.equal(revocationFootprintBytes(2), 2 * 2 * 192);
  t.end();
});
