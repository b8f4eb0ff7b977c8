import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import {
  createFirstStartUsers,
  emptyUsersDb,
  hashPasswordSync,
  loadUsersFile,
  parseUsersFile,
  ROLES,
  saveUsersFile,
  setPassword,
  setUserPassword,
  UsersDb,
  UsersFileStore,
  verifyPassword,
} from '../../src/users/index.js';
import type { ScryptCost } from '../../src/users/index.js';
import { jsonSyntaxErrorOffset } from '../../src/users/json-position.js';

const COST: ScryptCost = { logN: 10, r: 1, p: 1 };
const HASH = hashPasswordSync('correct horse battery', COST);
const dir = mkdtempSync(join(tmpdir(), 'ringlet-users-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const user = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'admin', role: 'admin', hash: HASH, mustChangePassword: false, ...over,
});
const doc = (users: unknown[], extra: Record<string, unknown> = {}): string => JSON.stringify({ version: 1, users, ...extra });

t.test('load errors table: each names the file and the problem', (t) => {
  const cases: [string, string, RegExp][] = [
    ['empty file', '', /invalid JSON at line 1 column 1 \(position 0\)/],
    ['bad JSON', '{\n  "version": 1,\n  "users": [ x ]\n}', /invalid JSON at line 3 column 14 \(position 31\)/],
    ['trailing comma', '{"version": 1, "users": [],}', /invalid JSON at line 1 column 28/],
    ['not an object', '[]', /must be a JSON object/],
    ['null', 'null', /must be a JSON object/],
    ['missing version', '{"users": []}', /version: missing/],
    ['wrong version', '{"version": 2, "users": []}', /version: unsupported/],
    ['version as string', '{"version": "1", "users": []}', /version: unsupported/],
    ['missing users', '{"version": 1}', /users: missing/],
    ['users not an array', '{"version": 1, "users": {}}', /users: must be an array/],
    ['unknown top field', doc([], { extra: true }), /unknown field "extra"/],
    ['user not an object', doc(['admin']), /users\[0\]: must be an object/],
    ['missing name', doc([{ role: 'admin', hash: HASH, mustChangePassword: false }]), /users\[0\]\.name: missing/],
    ['missing role', doc([{ name: 'a', hash: HASH, mustChangePassword: false }]), /users\[0\]\.role: missing/],
    ['missing hash', doc([{ name: 'a', role: 'admin', mustChangePassword: false }]), /users\[0\]\.hash: missing/],
    ['missing mustChangePassword', doc([{ name: 'a', role: 'admin', hash: HASH }]), /users\[0\]\.mustChangePassword: missing/],
    ['unknown user field', doc([user({ password: 'x' })]), /users\[0\]: unknown field "password"/],
    ['bad name chars', doc([user({ name: 'bad name' })]), /users\[0\]\.name: must be 1 to 64 characters/],
    ['empty name', doc([user({ name: '' })]), /users\[0\]\.name/],
    ['name too long', doc([user({ name: 'a'.repeat(65) })]), /users\[0\]\.name/],
    ['bad role', doc([user(), user({ name: 'b', role: 'root' })]), /users\[1\]\.role: must be one of admin, viewer/],
    ['bad hash format', doc([user({ hash: 'plaintext' })]), /users\[0\]\.hash: malformed scrypt hash/],
    ['hash cost out of range', doc([user({ hash: HASH.replace('ln=10', 'ln=25') })]), /users\[0\]\.hash: malformed scrypt hash: ln must be/],
    ['mustChangePassword not boolean', doc([user({ mustChangePassword: 'yes' })]), /users\[0\]\.mustChangePassword: must be true or false/],
    ['duplicate user', doc([user(), user({ role: 'viewer' })]), /users\[1\]\.name: duplicate user/],
    ['duplicate by case', doc([user(), user({ name: 'ADMIN' })]), /users\[1\]\.name: duplicate user/],
  ];
  for (const [name, text, message] of cases) {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(path, text);
    try {
      loadUsersFile(path);
      t.fail(`${name}: accepted`);
    } catch (err) {
      t.ok(err instanceof ConfigError, `${name}: ConfigError`);
      t.equal((err as ConfigError).field, path, `${name}: field is the path`);
      t.ok((err as Error).message.startsWith(`${path}: `), `${name}: message starts with the path`);
      t.match((err as Error).message, message, name);
      t.notOk((err as Error).message.includes(HASH), `${name}: the hash is not quoted`);
    }
  }
  t.end();
});

t.test('missing and oversized files', (t) => {
  const missing = join(dir, 'nope.json');
  t.throws(() => loadUsersFile(missing), { field: missing, message: `${missing}: file not found` });
  const big = join(dir, 'big.json');
  writeFileSync(big, ' '.repeat(1024 * 1024 + 1));
  t.throws(() => loadUsersFile(big), { field: big, message: /larger than 1048576 bytes/ });
  t.end();
});

t.test('a valid file loads; names are Map keys (no prototype surprises)', (t) => {
  const path = join(dir, 'valid.json');
  writeFileSync(path, doc([user(), user({ name: '__proto__', role: 'viewer', mustChangePassword: true }), user({ name: 'a.b_c@d-e' })]));
  const db = loadUsersFile(path);
  t.same(db.names(), ['admin', '__proto__', 'a.b_c@d-e']);
  t.equal(db.get('__proto__')?.role, 'viewer');
  t.equal(db.get('__proto__')?.mustChangePassword, true);
  t.equal(db.get('constructor'), undefined);
  t.equal(db.get('toString'), undefined);
  t.equal(db.get('Admin'), undefined, 'lookups are exact');
  t.equal(db.canonicalName('Admin'), 'admin');
  t.ok(Object.isFrozen(db.get('admin')), 'records are frozen');
  t.same(ROLES, ['admin', 'viewer']);
  t.end();
});

t.test('atomic save: mode 0600, round trip, no temp file left, overwrite keeps 0600', (t) => {
  const path = join(dir, 'saved.json');
  const db = new UsersDb([
    { name: 'admin', role: 'admin', hash: HASH, mustChangePassword: true },
    { name: 'viewer1', role: 'viewer', hash: HASH, mustChangePassword: false },
  ]);
  const oldUmask = process.umask(0o000);
  try {
    saveUsersFile(path, db);
  } finally {
    process.umask(oldUmask);
  }
  t.equal(statSync(path).mode & 0o777, 0o600, 'mode 0600 even with umask 000');
  const back = loadUsersFile(path);
  t.same(back.toJSON(), db.toJSON(), 'round trip');
  t.same(JSON.parse(readFileSync(path, 'utf8')), { version: 1, users: db.records().map((r) => ({ ...r })) });
  writeFileSync(path, 'garbage', { mode: 0o644 });
  const old2 = process.umask(0o022);
  try {
    saveUsersFile(path, back.remove('viewer1'));
  } finally {
    process.umask(old2);
  }
  t.equal(statSync(path).mode & 0o777, 0o600, 'replacing a 0644 file leaves 0600');
  t.same(loadUsersFile(path).names(), ['admin']);
  t.same(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
  t.throws(() => saveUsersFile(join(dir, 'no-such-dir', 'u.json'), db), { name: 'ConfigError', message: /cannot write \(ENOENT\)/ });
  t.end();
});

t.test('first start: admin, admin role, must change, a password that verifies', async (t) => {
  const { db, password } = createFirstStartUsers(COST);
  t.same(db.names(), ['admin']);
  const admin = db.get('admin');
  t.equal(admin?.role, 'admin');
  t.equal(admin?.mustChangePassword, true);
  t.match(password, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
  t.equal(await verifyPassword(password, admin?.hash ?? ''), true);
  t.notOk(JSON.stringify(db.toJSON()).includes(password), 'the clear password is not stored');
  t.not(createFirstStartUsers(COST).password, password, 'random each time');
});

t.test('UsersFileStore.open creates the first-start file once, then loads it', async (t) => {
  const path = join(dir, 'first-start.json');
  const first = await UsersFileStore.open(path, { firstStart: COST });
  t.type(first.createdPassword, 'string');
  t.equal(statSync(path).mode & 0o777, 0o600);
  const second = await UsersFileStore.open(path, { firstStart: COST });
  t.equal(second.createdPassword, undefined, 'no password shown for a file that exists');
  t.equal(await verifyPassword(first.createdPassword ?? '', second.store.current().get('admin')?.hash ?? ''), true);
  await t.rejects(UsersFileStore.open(join(dir, 'absent.json')), { field: join(dir, 'absent.json'), message: /file not found/ }, 'no first start without a cost');
  writeFileSync(path, '{');
  await t.rejects(UsersFileStore.open(path, { firstStart: COST }), { field: path, message: /invalid JSON/ }, 'a broken file is an error, not a reset');
});

t.test('setPassword / setUserPassword return new tables', async (t) => {
  const empty = emptyUsersDb();
  const one = setPassword(empty, 'alice', 'alice secret 1', COST);
  t.equal(empty.size, 0, 'the old table is unchanged');
  t.equal(one.get('alice')?.role, 'viewer', 'a new user defaults to viewer');
  t.equal(one.get('alice')?.mustChangePassword, false);
  t.equal(await verifyPassword('alice secret 1', one.get('alice')?.hash ?? ''), true);
  const promoted = setPassword(one, 'alice', 'alice secret 2', COST, { role: 'admin', mustChangePassword: true });
  t.equal(promoted.get('alice')?.role, 'admin');
  t.equal(promoted.get('alice')?.mustChangePassword, true);
  t.equal(await verifyPassword('alice secret 1', promoted.get('alice')?.hash ?? ''), false, 'old password gone');
  const changed = setUserPassword(promoted, 'alice', HASH);
  t.equal(changed.get('alice')?.role, 'admin', 'role kept');
  t.equal(changed.get('alice')?.mustChangePassword, false, 'a change clears the flag');
  t.equal(changed.get('alice')?.hash, HASH);
  const two = setUserPassword(changed, 'bob', HASH, { role: 'viewer' });
  t.same(two.names(), ['alice', 'bob'], 'order kept, new user appended');

  const errors: [() => unknown, string, RegExp][] = [
    [() => setUserPassword(two, 'bad name', HASH), 'name', /must be 1 to 64/],
    [() => setUserPassword(two, 'carol', HASH, { role: 'root' as never }), 'role', /one of admin, viewer/],
    [() => setUserPassword(two, 'carol', 'not-a-hash'), 'hash', /malformed scrypt hash/],
    [() => setUserPassword(two, 'ALICE', HASH), 'name', /differs only in case/],
    [() => setPassword(two, 'carol', 'carol secret', { logN: 30, r: 1, p: 1 }), 'cost.logN', /from 10 to 20/],
  ];
  for (const [fn, field, message] of errors) t.throws(fn, { name: 'ConfigError', field, message }, `${field} ${message}`);
});

t.test('parseUsersFile directly, and the JSON error locator agrees with JSON.parse', (t) => {
  t.same(parseUsersFile(doc([user()]), 'mem').names(), ['admin']);
  const texts = ['{}', '[1, 2, {"a": [true, false, null]}]', '"\\u00e9"', '-0.5e+3', ' 1 ', '{"a":1,}', '[01]', '"\\x"', '"a', '{"a" 1}', 'tru', '[1,]', '{"a":1}}', '', '"\u0001"', '-', '1.', '[[[[', '{"\\u12"}'];
  for (const text of texts) {
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    const offset = jsonSyntaxErrorOffset(text);
    t.equal(offset === undefined, valid, `${JSON.stringify(text)}: ${valid ? 'valid' : `error at ${offset}`}`);
  }
  t.equal(jsonSyntaxErrorOffset('[' .repeat(100_000)), 257, 'deep nesting is bounded, no stack overflow');
  t.end();
});
