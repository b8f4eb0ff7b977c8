import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/errors.js';
import {
  addUser,
  formatUsersFile,
  hashPasswordSync,
  removeUser,
  setUserHash,
  setUserPassword,
  setUserRole,
  upgradeUserHash,
  UsersDb,
  UsersFileStore,
  type ScryptCost,
  type UsersStoreLog,
} from '../../src/users/index.js';

const COST: ScryptCost = { logN: 10, r: 1, p: 1 };
const HASH = hashPasswordSync('correct horse battery', COST);
const OTHER_HASH = hashPasswordSync('another horse battery', COST);
const WRITER = fileURLToPath(new URL('../support/users-writer.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ringlet-store-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const record = (name: string, role: 'admin' | 'viewer' = 'viewer') => ({ name, role, hash: HASH, mustChangePassword: false });
const table = (...names: string[]) => new UsersDb([record('admin', 'admin'), ...names.map((n) => record(n))]);

let n = 0;
function fileWith(db: UsersDb): string {
  const path = join(dir, `users-${++n}.json`);
  writeFileSync(path, formatUsersFile(db), { mode: 0o600 });
  return path;
}

function capture(): UsersStoreLog & { lines: Array<[string, string, Record<string, unknown>]> } {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  return {
    lines,
    info: (event, fields = {}) => lines.push(['info', event, fields]),
    warn: (event, fields = {}) => lines.push(['warn', event, fields]),
    error: (event, fields = {}) => lines.push(['error', event, fields]),
  };
}

function names(path: string): string[] {
  return (JSON.parse(readFileSync(path, 'utf8')) as { users: Array<{ name: string }> }).users.map((u) => u.name).sort();
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

t.test('update applies the change to the file as it is now, not to the copy in memory', async (t) => {
  const path = fileWith(table());
  const { store } = await UsersFileStore.open(path);
  // Another writer adds a user; this store has not re-read the file yet (no watch here).
  writeFileSync(path, formatUsersFile(table('monitor')));
  t.same(store.current().names(), ['admin'], 'the copy in memory is older');
  const after = await store.update((db) => setUserHash(db, 'admin', OTHER_HASH));
  t.same(after.names(), ['admin', 'monitor'], 'the other writer\'s user survives');
  t.same(names(path), ['admin', 'monitor']);
  t.equal(store.current().get('admin')?.hash, OTHER_HASH);
});

t.test('onChange hears own writes and reloads with (before, after); a no-op change writes nothing', async (t) => {
  const path = fileWith(table());
  const { store } = await UsersFileStore.open(path);
  const seen: Array<[string[], string[]]> = [];
  const off = store.onChange((before, after) => {
    seen.push([before.names(), after.names()]);
  });
  await store.update((db) => addUser(db, record('bob')));
  writeFileSync(path, formatUsersFile(table('bob', 'carol')));
  t.equal(store.reload('test'), 'reloaded');
  t.equal(store.reload('test'), 'unchanged', 'the same text again is no change');
  const text = readFileSync(path, 'utf8');
  await store.update((db) => db);
  t.equal(readFileSync(path, 'utf8'), text, 'a change returning the same table writes nothing');
  t.same(seen, [[['admin'], ['admin', 'bob']], [['admin', 'bob'], ['admin', 'bob', 'carol']]]);
  off();
  await store.update((db) => removeUser(db, 'carol'));
  t.equal(seen.length, 2, 'a removed listener hears nothing');
});

t.test('update() resolves after the promises listeners return (a revocation made durable); a rejected one is logged', async (t) => {
  const path = fileWith(table('bob'));
  const log = capture();
  const { store } = await UsersFileStore.open(path, { log });
  const order: string[] = [];
  store.onChange(async () => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    order.push('listener settled');
  });
  store.onChange(async () => {
    throw new Error('write failed');
  });
  await store.update((db) => removeUser(db, 'bob'));
  order.push('update resolved');
  t.same(order, ['listener settled', 'update resolved']);
  t.match(log.lines, [['error', 'users_listener_failed', { trigger: 'update', error: 'Error: write failed' }]]);
});

t.test('a change that throws changes nothing; a listener that throws is logged, not fatal', async (t) => {
  const path = fileWith(table('bob'));
  const log = capture();
  const { store } = await UsersFileStore.open(path, { log });
  const text = readFileSync(path, 'utf8');
  await t.rejects(store.update((db) => removeUser(db, 'nobody')), { name: 'ConfigError', field: 'name', message: /no user "nobody"/ });
  t.equal(readFileSync(path, 'utf8'), text);
  store.onChange(() => {
    throw new Error('listener bug');
  });
  await store.update((db) => setUserRole(db, 'bob', 'admin'));
  t.equal(store.current().get('bob')?.role, 'admin', 'the change still happened');
  t.match(log.lines, [['error', 'users_listener_failed', { error: 'Error: listener bug' }]]);
});

t.test('a damaged file is refused: one log line per damage, the last good table stays, nothing is written over it', async (t) => {
  const path = fileWith(table('bob'));
  const log = capture();
  const { store } = await UsersFileStore.open(path, { log });
  const good = store.current();
  const damages: Array<[string, () => void]> = [
    ['truncated in place (a half-written file)', () => truncateSync(path, 40)],
    ['corrupted (garbage)', () => writeFileSync(path, '\u0000\u0001garbage')],
    ['emptied', () => writeFileSync(path, '')],
    ['an unknown role', () => writeFileSync(path, JSON.stringify({ version: 1, users: [{ ...record('x'), role: 'root' }] }))],
  ];
  for (const [title, damage] of damages) {
    damage();
    t.equal(store.reload('test'), 'refused', `${title}: refused`);
    t.equal(store.reload('test'), 'refused', `${title}: refused again`);
    t.equal(store.current(), good, `${title}: the last good table stays`);
    const damaged = readFileSync(path);
    await t.rejects(store.update((db) => addUser(db, record('eve'))), ConfigError, `${title}: update refuses`);
    t.same(readFileSync(path), damaged, `${title}: the damaged file is not overwritten`);
  }
  const refusals = log.lines.filter(([, event]) => event === 'users_file_refused');
  t.equal(refusals.length, damages.length, 'one log line per damage, however often it is seen');
  for (const [, , fields] of refusals) {
    t.notOk(JSON.stringify(fields).includes(HASH.slice(20)), 'no hash in the log line');
    t.equal(fields['keeping'], 2);
  }
  unlinkSync(path);
  t.equal(store.reload('test'), 'missing');
  t.equal(store.reload('test'), 'missing');
  t.equal(log.lines.filter(([, event]) => event === 'users_file_missing').length, 1, 'a missing file: one line');
  writeFileSync(path, formatUsersFile(table('bob', 'carol')));
  t.equal(store.reload('test'), 'reloaded', 'a fixed file is taken');
  t.same(store.current().names(), ['admin', 'bob', 'carol']);
});

t.test('the watch follows atomic replacement, in-place writes, truncation and repair', async (t) => {
  const path = fileWith(table());
  const log = capture();
  const { store } = await UsersFileStore.open(path, { log, reloadDebounceMs: 10 });
  store.watch();
  t.teardown(() => store.close());
  const changes: string[][] = [];
  store.onChange((_before, after) => {
    changes.push(after.names());
  });

  writeFileSync(`${path}.new`, formatUsersFile(table('bob')));
  renameSync(`${path}.new`, path); // a new inode: a watch on the old file would miss this
  await until('rename seen', () => store.current().has('bob'));
  writeFileSync(path, formatUsersFile(table('bob', 'carol'))); // in place, same inode
  await until('in-place write seen', () => store.current().has('carol'));
  truncateSync(path, 10);
  await until('truncation refused', () => log.lines.some(([, e]) => e === 'users_file_refused'));
  t.same(store.current().names(), ['admin', 'bob', 'carol'], 'kept the last good table');
  writeFileSync(path, formatUsersFile(table('carol')));
  await until('repair seen', () => !store.current().has('bob'));
  t.same(changes, [['admin', 'bob'], ['admin', 'bob', 'carol'], ['admin', 'carol']]);
  // Writes in the directory that are not the users file (temp files, the lock) are ignored.
  writeFileSync(join(dir, 'unrelated.json'), '{');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(changes.length, 3);
});

t.test('many interleavings: writer processes and two in-process stores on one file lose nothing', async (t) => {
  const path = fileWith(table());
  const a = (await UsersFileStore.open(path)).store;
  const b = (await UsersFileStore.open(path)).store;
  const PROCESSES = 3;
  const PER_PROCESS = 15;
  const PER_STORE = 15;
  const children = Array.from({ length: PROCESSES }, (_, i) => new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [WRITER, path, `p${i}-`, String(PER_PROCESS), HASH], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => resolve(code));
  }));
  // The stores also change existing records (role flips, password changes), which a lost
  // update would undo.
  const inProcess = Promise.all([
    (async () => {
      for (let i = 0; i < PER_STORE; i++) {
        await a.update((db) => addUser(db, record(`a${i}`)));
        await a.update((db) => setUserHash(db, 'admin', i % 2 === 0 ? OTHER_HASH : HASH));
      }
    })(),
    (async () => {
      for (let i = 0; i < PER_STORE; i++) {
        await b.update((db) => setUserPassword(db, `b${i}`, HASH, { role: 'admin' }));
        if (i > 0) await b.update((db) => setUserRole(db, `b${i - 1}`, 'viewer'));
      }
    })(),
  ]);
  t.same(await Promise.all(children), Array(PROCESSES).fill(0), 'every writer process finished');
  await inProcess;
  const expected = ['admin'];
  for (let i = 0; i < PROCESSES; i++) for (let j = 0; j < PER_PROCESS; j++) expected.push(`p${i}-${j}`);
  for (let i = 0; i < PER_STORE; i++) expected.push(`a${i}`, `b${i}`);
  const final = names(path);
  t.same(final, expected.sort(), `all ${expected.length} users are in the file`);
  const db = (await UsersFileStore.open(path)).store.current();
  t.equal(db.get('admin')?.hash, OTHER_HASH, "the last of the store's password changes holds (i = 14: OTHER_HASH)");
  t.same(Array.from({ length: PER_STORE }, (_, i) => db.get(`b${i}`)?.role), [...Array(PER_STORE - 1).fill('viewer'), 'admin'], 'every role change holds');
  await b.update((x) => x);
  t.same(b.current().names().sort(), final, 'a store adopts what it read under the lock, even when it wrote nothing');
  t.notOk(readFileSync(path, 'utf8').length === 0);
});

t.test('the pure changes check their preconditions against the table they are given', (t) => {
  const db = table('bob');
  const cases: Array<[string, () => unknown, string, RegExp]> = [
    ['add an existing name in another case', () => addUser(db, record('BOB')), 'name', /user "bob" already exists/],
    ['add a bad name', () => addUser(db, record('b b')), 'name', /must be 1 to 64 characters/],
    ['remove an unknown user', () => removeUser(db, 'carol'), 'name', /no user "carol"/],
    ['remove with the wrong case', () => removeUser(db, 'Bob'), 'name', /no user "Bob" \(did you mean "bob"\?\)/],
    ['remove the last admin', () => removeUser(db, 'admin'), 'name', /"admin" is the last admin; add another admin first/],
    ['demote the last admin', () => setUserRole(db, 'admin', 'viewer'), 'name', /last admin/],
    ['an unknown role', () => setUserRole(db, 'bob', 'root' as never), 'role', /one of admin, viewer/],
    ['a password for a removed user', () => setUserHash(db, 'carol', HASH), 'name', /no user "carol"/],
    ['a password over one set meanwhile', () => setUserHash(db, 'bob', OTHER_HASH, { expectedHash: OTHER_HASH }), 'hash', /password of "bob" was changed meanwhile/],
  ];
  for (const [title, fn, field, message] of cases) t.throws(fn, { name: 'ConfigError', field, message }, title);
  t.equal(setUserHash(db, 'bob', OTHER_HASH, { expectedHash: HASH }).get('bob')?.hash, OTHER_HASH, 'a password over the one verified');
  t.equal(setUserRole(db, 'bob', 'viewer'), db, 'the same role: the same table (nothing to write)');
  const two = setUserRole(db, 'bob', 'admin');
  t.same(removeUser(two, 'admin').names(), ['bob'], 'an admin goes when another remains');
  t.equal(upgradeUserHash(db, 'bob', OTHER_HASH, 'x'), db, 'no upgrade when the verified hash is no longer stored');
  t.equal(upgradeUserHash(db, 'carol', HASH, OTHER_HASH), db, 'no upgrade for a removed user');
  const upgraded = upgradeUserHash(table('bob').upsert({ ...record('bob'), mustChangePassword: true, role: 'admin' }), 'bob', HASH, OTHER_HASH);
  t.match(upgraded.get('bob'), { hash: OTHER_HASH, role: 'admin', mustChangePassword: true }, 'an upgrade keeps role and flag');
  t.end();
});

t.test('listeners hear who made a change: this store\'s writes as own, even when a re-read sees them first; other writers\' as file', async (t) => {
  const path = fileWith(table('bob', 'carol'));
  const { store } = await UsersFileStore.open(path);
  const heard: string[] = [];
  store.onChange((before, after, origin) => {
    for (const r of after.records()) {
      const was = before.get(r.name);
      if (was !== undefined && was.hash !== r.hash) heard.push(`${r.name} ${origin}`);
    }
  });
  // The watch may re-read the file after this store wrote it and before the store adopted
  // its write (releasing the lock takes a while). Stall the release with the lock's guard
  // file (what another writer breaking a stale lock holds), re-read meanwhile, then let go.
  const guard = `${path}.lock.guard`;
  writeFileSync(guard, '');
  const before = readFileSync(path, 'utf8');
  const updated = store.update((db) => setUserHash(db, 'bob', OTHER_HASH));
  await until('the store wrote the file', () => readFileSync(path, 'utf8') !== before);
  t.equal(store.reload('watch'), 'unchanged', 'a re-read of this store\'s own write leaves it to the store');
  unlinkSync(guard);
  await updated;
  t.equal(store.current().get('bob')?.hash, OTHER_HASH, 'the write is adopted');
  // Another writer: what `ringlet users passwd carol` does.
  writeFileSync(path, formatUsersFile(store.current().upsert({ ...record('carol'), hash: OTHER_HASH })));
  t.equal(store.reload('watch'), 'reloaded');
  t.same(heard, ['bob own', 'carol file'], 'the own write heard once, as own; the other writer\'s as file');
});

t.test('a reload while an update waits for its listeners is not undone by that update', async (t) => {
  const path = fileWith(table('xavier'));
  const { store } = await UsersFileStore.open(path);
  // Another writer adds a user unseen (no watch), so the update's first adopt ("file") has a
  // change to tell: its listener waits, as a revocation made durable does.
  writeFileSync(path, formatUsersFile(table('xavier', 'yara')));
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let waiting = false;
  store.onChange((_before, _after, origin) => {
    if (origin !== 'file' || waiting) return undefined;
    waiting = true;
    return held;
  });
  const updated = store.update((db) => setUserHash(db, 'admin', OTHER_HASH));
  await until('the update waits for its listener', () => waiting);
  // Meanwhile `ringlet users remove xavier` runs, and SIGHUP (or the watch) re-reads the file.
  writeFileSync(path, formatUsersFile(table('yara').upsert({ ...record('admin', 'admin'), hash: OTHER_HASH })));
  t.equal(store.reload('sighup'), 'reloaded', 'the removal is seen');
  release();
  await updated;
  t.equal(store.current().get('xavier'), undefined, 'the removed user stays removed in memory');
  t.equal(store.current().get('admin')?.hash, OTHER_HASH, 'the update\'s own change stands');
  t.same(store.current().names(), ['admin', 'yara'], 'the table is the file\'s');
  t.equal(store.reload('watch'), 'unchanged', 'and the file is what the store holds');
});
