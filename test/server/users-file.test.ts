import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(dir: string, args: string[], input = ''): { code: number | null; out: string; err: string } {
  const profile = join(dir, 'cheap-profile.json');
  writeFileSync(profile, JSON.stringify({ ...TEST_PROFILE, mode: 'ram' }));
  const r = spawnSync(process.execPath, [BIN, ...args, '--users', join(dir, 'users.json'), '--profile', profile], { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('attack: a user added by the CLI while the server runs is lost by the next web password change', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const added = cli(s.dir, ['passwd', 'monitor'], 'monitor passphrase 1\n');
  t.equal(added.code, 0, added.err);
  const changed = await s.request('POST', '/password', {
    headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin },
    json: { currentPassword: 'correct horse battery', newPassword: 'another horse battery' },
  });
  t.equal(changed.status, 200);
  const names = (JSON.parse(readFileSync(join(s.dir, 'users.json'), 'utf8')) as { users: Array<{ name: string }> }).users.map((u) => u.name);
  t.same(names.sort(), ['admin', 'monitor'], 'the CLI user is still in the file');
});
