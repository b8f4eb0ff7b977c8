import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { sendRequest } from '../support/http.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_PROFILE } from '../support/server.js';

// The shipped bundle, as an operator runs it.
const BIN = fileURLToPath(new URL('../../ringlet.js', import.meta.url));

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-cli-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cheap.json'), JSON.stringify({ ...TEST_PROFILE, mode: 'ram' }));
  return dir;
}

function run(dir: string, args: string[], input = '') {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    cwd: dir,
    env: { ...process.env, RINGLET_USERS: join(dir, 'users.json'), RINGLET_PROFILE: join(dir, 'cheap.json') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function users(dir: string): Array<{ name: string; role: string; mustChangePassword: boolean; hash: string }> {
  return (JSON.parse(readFileSync(join(dir, 'users.json'), 'utf8')) as { users: Array<{ name: string; role: string; mustChangePassword: boolean; hash: string }> }).users;
}

t.test('every users command has its own --help', (t) => {
  const dir = tempDir(t);
  for (const args of [['users', '--help'], ['users', 'list', '--help'], ['users', 'add', '--help'], ['users', 'passwd', '--help'], ['users', 'set-role', '--help'], ['users', 'remove', '--help'], ['passwd', '--help']]) {
    const r = run(dir, args);
    t.equal(r.code, 0, `${args.join(' ')}: exit 0`);
    t.match(r.out, /^Usage: ringlet /, `${args.join(' ')}: usage`);
    t.equal(r.err, '');
  }
  t.match(run(dir, ['--help']).out, /ringlet users list\|add\|passwd\|set-role\|remove/);
  t.end();
});

t.test('add, list, passwd, set-role, remove: the file changes as asked; list never shows a hash', (t) => {
  const dir = tempDir(t);
  t.match(run(dir, ['users', 'add', 'alice', '--role', 'admin'], 'alice long passphrase\n'), { code: 0, out: /^ringlet users add: added alice \(admin\) to .*users\.json\n$/ });
  t.equal(statSync(join(dir, 'users.json')).mode & 0o777, 0o600);
  t.match(run(dir, ['users', 'add', 'bob', '--must-change'], 'bob long passphrase\n'), { code: 0, out: /added bob \(viewer\)/ });
  t.match(users(dir), [{ name: 'alice', role: 'admin', mustChangePassword: false }, { name: 'bob', role: 'viewer', mustChangePassword: true }]);

  const list = run(dir, ['users', 'list']);
  t.equal(list.code, 0);
  const lines = list.out.trimEnd().split('\n');
  t.match(lines[0], /^name +role +must-change +hash cost +vs profile$/);
  t.match(lines[1], /^alice +admin +no +N=2\^10 r=8 p=1 \(1\.0 MiB\) +profile$/);
  t.match(lines[2], /^bob +viewer +yes +N=2\^10 r=8 p=1/);
  t.match(lines[3], /^2 users in .*users\.json; profile cost N=2\^10 r=8 p=1/);
  for (const u of users(dir)) t.notOk(list.out.includes(u.hash.split('$').at(-1) as string), 'no hash in the listing');
  const json = JSON.parse(run(dir, ['users', 'list', '--json']).out) as { users: Array<Record<string, unknown>> };
  t.same(json.users.map((u) => Object.keys(u).sort()), [['cost', 'mustChangePassword', 'name', 'role', 'vsProfile'], ['cost', 'mustChangePassword', 'name', 'role', 'vsProfile']]);
  t.match(json.users[0], { name: 'alice', cost: { logN: 10, r: 8, p: 1 } });
  // A stronger profile: the stored hashes are listed as weaker.
  t.match(run(dir, ['users', 'list', '--profile', 'embedded-default']).out, /alice .* weaker \(upgraded at next sign-in\)/);

  const oldHash = users(dir)[1]?.hash;
  t.match(run(dir, ['users', 'passwd', 'bob'], 'bob newer passphrase\n'), { code: 0, out: /updated bob/ });
  t.match(users(dir)[1], { name: 'bob', role: 'viewer', mustChangePassword: false });
  t.not(users(dir)[1]?.hash, oldHash, 'a new hash');
  t.match(run(dir, ['users', 'set-role', 'bob', 'admin']), { code: 0, out: /bob is now admin/ });
  t.match(run(dir, ['users', 'set-role', 'bob', 'admin']), { code: 0, out: /bob already is admin; .* unchanged/ });
  t.match(run(dir, ['users', 'remove', 'alice']), { code: 0, out: /removed alice/ });
  t.same(users(dir).map((u) => u.name), ['bob']);
  t.notOk(existsSync(join(dir, 'users.json.lock')), 'no lock left behind');
  t.end();
});

t.test('bad input: exit 2, one line on stderr, the file unchanged', (t) => {
  const dir = tempDir(t);
  run(dir, ['users', 'add', 'admin', '--role', 'admin'], 'admin long passphrase\n');
  run(dir, ['users', 'add', 'bob'], 'bob long passphrase\n');
  const before = readFileSync(join(dir, 'users.json'), 'utf8');
  const cases: Array<[string[], string, RegExp]> = [
    [['users', 'frobnicate'], '', /^ringlet users: unknown command "frobnicate"/],
    [['users', 'add'], '', /^ringlet users add: expected NAME \(see --help\)$/],
    [['users', 'add', 'a', 'b'], '', /expected NAME/],
    [['users', 'add', 'bad name'], 'whatever long pass\n', /a user name is 1 to 64 characters/],
    [['users', 'add', 'carol', '--role', 'root'], 'carol long passphrase\n', /the role must be one of admin, viewer/],
    [['users', 'add', 'carol', '--rol', 'admin'], '', /^ringlet users add: Unknown option '--rol' \(see --help\)$/],
    [['users', 'add', 'BOB'], 'bob long passphrase 2\n', /^ringlet users add: user "bob" already exists$/],
    [['users', 'add', 'carol'], 'short\n', /^ringlet users add: the password must be at least 10 characters$/],
    [['users', 'add', 'carol'], 'carol\n', /the password must be at least/],
    [['users', 'add', 'carolcarol'], 'carolcarol\n', /the password must not be the user name/],
    [['users', 'remove', 'carol'], '', /^ringlet users remove: no user "carol"$/],
    [['users', 'remove', 'Bob'], '', /no user "Bob" \(did you mean "bob"\?\)/],
    [['users', 'remove', 'admin'], '', /"admin" is the last admin; add another admin first/],
    [['users', 'set-role', 'admin', 'viewer'], '', /last admin/],
    [['users', 'set-role', 'bob'], '', /expected NAME ROLE/],
    [['users', 'set-role', 'bob', 'root'], '', /the role must be one of admin, viewer/],
    [['users', 'list', 'extra'], '', /takes no arguments/],
    [['users', 'passwd', 'bob', '--profile', 'no-such-profile'], 'bob long passphrase 3\n', /cannot read .*no-such-profile\.json/],
    [['passwd', 'bob', '--role', 'root'], 'whatever long\n', /^ringlet passwd: the role must be one of admin, viewer$/],
    [['passwd', 'bob'], 'short\n', /^ringlet passwd: the password must be at least 10 characters$/],
  ];
  for (const [args, input, message] of cases) {
    const r = run(dir, args, input);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.err.trimEnd(), message, `${args.join(' ')}: says why`);
    t.equal(r.err.trimEnd().split('\n').length, 1, `${args.join(' ')}: one line`);
    t.equal(r.out, '', `${args.join(' ')}: nothing on stdout`);
  }
  t.equal(readFileSync(join(dir, 'users.json'), 'utf8'), before, 'no bad input changed the file');
  writeFileSync(join(dir, 'users.json'), '{"version": 1, "users": [');
  const damaged = run(dir, ['users', 'set-role', 'bob', 'admin']);
  t.equal(damaged.code, 2);
  t.match(damaged.err, /^ringlet users set-role: .*users\.json: invalid JSON at line 1/);
  t.equal(readFileSync(join(dir, 'users.json'), 'utf8'), '{"version": 1, "users": [', 'a damaged file is not overwritten');
  t.match(run(dir, ['users', 'list', '--users', join(dir, 'none.json')]), { code: 2, err: /none\.json: file not found/ });
  t.end();
});

t.test('a lock left by a crashed writer does not block the CLI', (t) => {
  const dir = tempDir(t);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  writeFileSync(join(dir, 'users.json.lock'), JSON.stringify({ pid: Number(dead), boot, uptimeMs: 1, wallMs: Date.now(), token: 'crashed' }));
  t.match(run(dir, ['users', 'add', 'alice'], 'alice long passphrase\n'), { code: 0, out: /added alice/ });
  t.notOk(existsSync(join(dir, 'users.json.lock')));
  t.end();
});

t.test('serve: a change the directory watch cannot see is picked up on SIGHUP', async (t) => {
  const dir = tempDir(t);
  // The users file is a symlink into another directory: writing the target in place
  // raises no event in the watched directory, so only SIGHUP can bring the change in.
  const data = join(dir, 'data');
  spawnSync('mkdir', [data]);
  run(dir, ['users', 'add', 'admin', '--role', 'admin', '--users', join(data, 'users.json')], 'admin long passphrase\n');
  symlinkSync(join(data, 'users.json'), join(dir, 'users.json'));
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--profile', join(dir, 'cheap.json'), '--users', join(dir, 'users.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 20_000);
    child.stderr.on('data', () => {
      const m = /"event":"listening","url":"http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const login = async () => (await sendRequest(port, 'POST', '/login', { json: { username: 'monitor', password: 'monitor long passphrase' }, settle: true })).status;
  t.equal(await login(), 401, 'monitor does not exist yet');
  run(dir, ['users', 'add', 'monitor', '--users', join(data, 'users.json')], 'monitor long passphrase\n');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(await login(), 401, 'the watch did not see it (the change is behind a symlink)');
  child.kill('SIGHUP');
  const deadline = Date.now() + 5_000;
  while (!/"event":"users_reloaded"[^\n]*"trigger":"SIGHUP"/.test(err) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.match(err, /"event":"users_reloaded"[^\n]*"trigger":"SIGHUP"[^\n]*"users":2/);
  t.equal(await login(), 200, 'after SIGHUP monitor signs in');
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exit, 0);
});
