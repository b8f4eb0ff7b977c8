import t from 'tap';
import { chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatUsersFile, hashPasswordSync, setUserPassword, updateUsersFile, UsersDb } from '../../src/users/index.js';

const root = process.getuid?.() === 0;

t.test('root changing the users file keeps its owner and group (the service must still read it)', { skip: root ? false : 'only root can own files as another user' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-owner-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'users.json');
  const hash = hashPasswordSync('correct horse battery', { logN: 10, r: 1, p: 1 });
  writeFileSync(path, formatUsersFile(new UsersDb([{ name: 'admin', role: 'admin', hash, mustChangePassword: false }])), { mode: 0o600 });
  chownSync(path, 4242, 4343);
  await updateUsersFile(path, (db) => setUserPassword(db, 'monitor', hash));
  const st = statSync(path);
  t.same([st.uid, st.gid, st.mode & 0o777], [4242, 4343, 0o600]);
  await updateUsersFile(join(dir, 'new.json'), (db) => setUserPassword(db, 'monitor', hash), { create: true });
  t.equal(statSync(join(dir, 'new.json')).uid, 0, 'a new file is root\'s');
});
