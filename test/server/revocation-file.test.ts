/**
 * The revocation file: where it lives by default, coalesced atomic 0600 writes (never one
 * per request, none when nothing durable changed), bounded reads, failures logged once,
 * two writers merged, and the configuration errors.
 */
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../support/clock.js';
import { createLogger } from '../../src/web/index.js';
import { RevocationTables } from '../../src/session/revocation.js';
import { createSessionClocks, DEFAULT_TRUSTED_FLOOR_MS } from '../../src/session/time-policy.js';
import { defaultRevocationsPath, maxRevocationFileBytes, RevocationFile, REVOCATION_WRITE_INTERVAL_MS } from '../../src/server/revocation-file.js';
import { parseRevocationFile } from '../../src/session/revocation-events.js';
import { startTestServer } from '../support/server.js';

const T = Date.UTC(2027, 6, 1);

function world(t: Test, wallMs = T) {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-revocation-file-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const mono = new ManualClock(1000);
  const wall = new ManualClock(wallMs);
  const open = (path = join(dir, 'keys.revocations.json'), entries = 16) => {
    const tables = new RevocationTables(entries, createSessionClocks(mono, wall, DEFAULT_TRUSTED_FLOOR_MS, `boot-${Math.random()}`), { longestCredentialMs: 3600_000 });
    const file = new RevocationFile(path, tables, entries, log);
    file.load();
    return { tables, file };
  };
  return { dir, logs, mono, wall, open, events: (name: string) => logs.filter((l) => l['event'] === name) };
}

const read = (path: string) => {
  const parsed = parseRevocationFile(readFileSync(path, 'utf8'));
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.events;
};

t.test('the default path sits next to the keys file, named after it', (t) => {
  t.equal(defaultRevocationsPath('/etc/ringlet/keys.json'), '/etc/ringlet/keys.revocations.json');
  t.equal(defaultRevocationsPath('/etc/ringlet/jwks'), '/etc/ringlet/jwks.revocations.json');
  t.equal(defaultRevocationsPath('keys.json'), 'keys.revocations.json');
  t.end();
});

t.test('a first start writes an empty file, mode 0600; a burst of revocations is one write; settled() waits for it', async (t) => {
  const w = world(t);
  const { tables, file } = w.open();
  t.equal(file.writes, 1, 'the first start writes the (empty) file: a path that cannot be written is found at once');
  t.equal(statSync(file.path).mode & 0o777, 0o600);
  t.same(read(file.path), []);
  for (let i = 0; i < 200; i++) tables.revokeUser(`user${i % 10}`);
  t.equal(file.writes, 1, 'nothing written synchronously, per revocation');
  await tables.settled();
  t.equal(file.writes, 2, '200 revocations in one burst: one write');
  t.equal(read(file.path).length, 10, 'ten users\' not-befores');
  const started = performance.now();
  tables.denyId('jti-a', 'user1');
  await tables.settled();
  tables.denyId('jti-b', 'user1');
  await tables.settled();
  t.equal(file.writes, 4, 'one write per event when they come apart');
  t.ok(performance.now() - started >= REVOCATION_WRITE_INTERVAL_MS - 50, 'but at most one per interval');
  t.equal(statSync(file.path).mode & 0o777, 0o600, 'still 0600 after rewrites');
  t.same(w.events('revocations_loaded'), [], 'nothing to load on a first start');
});

t.test('a revocation that only this boot could need (an untrusted clock at minting) writes nothing', async (t) => {
  const w = world(t, 0); // the wall clock reads 1970
  const { tables, file } = w.open();
  const issued = { monoMs: 1000, wallMs: Number.NaN };
  tables.denyCredential('local-only', 'alice', { issued, untilMonoMs: 100_000, untilWallMs: Number.NaN });
  await tables.settled();
  t.equal(file.writes, 1, 'only the first start\'s');
  t.equal(tables.isRevoked('alice', 'local-only', issued), true, 'refused all the same');
});

t.test('a file larger than the tables can fill is refused unread (fail closed)', async (t) => {
  const w = world(t);
  const path = join(w.dir, 'big.json');
  writeFileSync(path, `{"version":1,"events":[${' '.repeat(maxRevocationFileBytes(16))}]}`, { mode: 0o600 });
  const { tables } = w.open(path, 16);
  const [line] = w.events('revocations_damaged');
  t.match(line, { level: 'error', reason: /larger than the \d+ bytes revocationEntries 16 can fill/ });
  t.equal(tables.isRevoked('anyone', 'x', { monoMs: undefined, wallMs: T - 1 }), true, 'credentials of earlier boots are refused');
  t.equal(tables.isRevoked('anyone', 'x', { monoMs: 5000, wallMs: T + 10 }), false, 'this boot\'s are not');
});

t.test('a failing write is logged once per streak; the revocation holds in memory; a later write recovers', async (t) => {
  const w = world(t);
  const path = join(w.dir, 'r.json');
  const { tables, file } = w.open(path);
  rmSync(path);
  mkdirSync(path); // a directory where the file should be: every rename fails
  tables.revokeUser('alice');
  await tables.settled();
  w.mono.advance(1);
  tables.revokeUser('bob');
  await tables.settled();
  t.equal(file.failedWrites, 2);
  const failures = w.events('revocations_not_saved');
  t.equal(failures.length, 1, 'one line for the streak');
  t.match(failures[0], { path, consequence: /forgotten at restart/ });
  t.equal(tables.isRevoked('alice', 'x', { monoMs: 0, wallMs: T }), true, 'in memory it holds');
  rmSync(path, { recursive: true });
  tables.revokeUser('carol');
  await tables.settled();
  t.equal(w.events('revocations_saved').length, 1, 'recovery is logged');
  t.same(read(path).map((e) => (e.type === 'user-not-before' ? e.user : '')).sort(), ['alice', 'bob', 'carol'], 'and the file has everything');
});

t.test('two processes given the same file: each merges the other\'s revocations before writing, and is told once', async (t) => {
  const w = world(t);
  const path = join(w.dir, 'shared.json');
  const a = w.open(path);
  const b = w.open(path);
  a.tables.revokeUser('alice');
  await a.tables.settled();
  b.tables.revokeUser('bob');
  await b.tables.settled();
  a.tables.revokeUser('carol');
  await a.tables.settled();
  t.same(read(path).map((e) => (e.type === 'user-not-before' ? e.user : '')).sort(), ['alice', 'bob', 'carol'], 'nobody\'s revocation was written away');
  t.equal(w.events('revocations_file_shared').length, 2, 'each was told once');
  t.equal(a.tables.isRevoked('bob', 'x', { monoMs: 0, wallMs: T - 1 }), true, 'and applies the other\'s');
});

t.test('configuration: --revocations needs --keys; its directory must exist; none warns', async (t) => {
  const w = world(t);
  await t.rejects(startTestServer({ dir: w.dir, options: { revocationsPath: join(w.dir, 'r.json') } }), { field: 'revocationsPath', message: /needs --keys/ });
  await t.rejects(startTestServer({ dir: w.dir, options: { keysPath: join(w.dir, 'k.json'), revocationsPath: join(w.dir, 'missing', 'r.json') } }), { field: 'revocationsPath', message: /does not exist/ });
  const s = await startTestServer({ dir: w.dir, options: { keysPath: join(w.dir, 'k.json'), revocationsPath: null } });
  t.teardown(() => s.close());
  t.equal(s.logEvents('revocations_in_memory').length, 1);
  const noKeys = await startTestServer({});
  t.teardown(() => noKeys.close());
  t.equal(noKeys.logEvents('revocations_in_memory').length, 0, 'without keys nothing survives a restart anyway: keys_in_memory says so');
});
