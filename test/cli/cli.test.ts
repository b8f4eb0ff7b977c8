import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { sendRequest } from '../support/http.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped bundle (the package's `bin`): dist/ringlet.js. */
const BIN = fileURLToPath(new URL('../../ringlet.js', import.meta.url));
const PKG = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string };

function run(args: string[], opts: { input?: string; cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: opts.input ?? '', cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('--version, --help and unknown commands', (t) => {
  t.same(run(['--version']), { code: 0, out: `${PKG.version}\n`, err: '' });
  const help = run(['--help']);
  t.equal(help.code, 0);
  for (const cmd of ['serve', 'keygen', 'users', 'passwd', 'profile check']) t.match(help.out, cmd);
  for (const cmd of [['serve', '--help'], ['keygen', '--help'], ['users', '--help'], ['passwd', '--help'], ['profile', '--help']]) {
    const r = run(cmd);
    t.equal(r.code, 0, `${cmd.join(' ')} exits 0`);
    t.match(r.out, /^Usage: ringlet/, `${cmd.join(' ')} has its own help`);
  }
  const bad = run(['frobnicate']);
  t.equal(bad.code, 2);
  t.match(bad.err, /unknown command "frobnicate"/);
  t.end();
});

t.test('profile check: fits, over budget, invalid', (t) => {
  const dir = tempDir(t);
  const ok = run(['profile', 'check', 'embedded-default']);
  t.equal(ok.code, 0);
  t.match(ok.out, /profile embedded-default: footprint .* of budget .* \(fits\)/);
  t.match(ok.out, /store +\d/);
  const tight = join(dir, 'tight.json');
  writeFileSync(tight, JSON.stringify({ name: 'tight', memoryBudgetBytes: 16 * 1024 * 1024 }));
  const over = run(['profile', 'check', tight]);
  t.equal(over.code, 1);
  t.match(over.out, /OVER BUDGET/);
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"capacity": -3}');
  const invalid = run(['profile', 'check', broken]);
  t.equal(invalid.code, 2);
  t.match(invalid.err, /capacity: must be an integer from 1 to 1048576 \(sessions\), got -3 \(in .*broken\.json\)/);
  const json = run(['profile', 'check', 'rpi-4', '--json']);
  t.equal(JSON.parse(json.out).footprint.fits, true);
  t.match(JSON.parse(json.out).scrypt, { cost: { logN: 16, r: 8, p: 2 }, owaspMinimumP: 2, meetsOwasp: true, insecureOverride: false });
  t.match(ok.out, /password hashing: scrypt N=2\^14 r=8 p=5 \(16\.0 MiB\) meets OWASP's scrypt table \(needs p >= 5 at this N and r\)/);
  const weak = join(dir, 'weak.json');
  writeFileSync(weak, JSON.stringify({ name: 'weak', scryptLogN: 14, scryptP: 1, hashConcurrency: 1 }));
  const refused = run(['profile', 'check', weak]);
  t.equal(refused.code, 2, 'a cost below the table is an invalid profile');
  t.match(refused.err, /scryptP: N=2\^14 r=8 needs scryptP >= 5 to meet OWASP's scrypt table/);
  writeFileSync(weak, JSON.stringify({ name: 'weak', scryptLogN: 14, scryptP: 1, hashConcurrency: 1, insecureScryptBelowOwasp: true }));
  const overridden = run(['profile', 'check', weak]);
  t.equal(overridden.code, 0);
  t.match(overridden.out, /scrypt N=2\^14 r=8 p=1 \(16\.0 MiB\) is BELOW OWASP's scrypt table \(needs p >= 5 at this N and r\); accepted only because insecureScryptBelowOwasp is set/);
  t.end();
});

t.test('keygen creates, then rotates, a 0600 JWKS', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'keys.json');
  t.equal(run(['keygen', '--keys', path]).code, 0);
  t.equal(statSync(path).mode & 0o777, 0o600);
  const first = JSON.parse(readFileSync(path, 'utf8')) as { keys: Array<{ kid: string; alg: string }> };
  t.equal(first.keys.length, 2);
  t.same(first.keys.map((k) => k.alg).sort(), ['A256GCM', 'HS256']);
  t.equal(run(['keygen', '--keys', path]).code, 0);
  const second = JSON.parse(readFileSync(path, 'utf8')) as { keys: Array<{ kid: string }> };
  t.equal(second.keys.length, 4, 'new keys in front, old kept');
  t.same(second.keys.slice(2).map((k) => k.kid), first.keys.map((k) => k.kid));
  run(['keygen', '--keys', path, '--keep', '1']);
  t.equal((JSON.parse(readFileSync(path, 'utf8')) as { keys: unknown[] }).keys.length, 2, '--keep 1');
  writeFileSync(path, '{"keys": [{"kty": "oct"}]}');
  const broken = run(['keygen', '--keys', path]);
  t.equal(broken.code, 2, 'a broken key file is not rotated');
  t.match(broken.err, /configuration error: .*keys/);
  t.end();
});

t.test('passwd reads the password from stdin and writes a 0600 users file', (t) => {
  const dir = tempDir(t);
  const users = join(dir, 'users.json');
  const add = run(['passwd', 'alice', '--role', 'admin', '--users', users], { input: 'a long enough passphrase\n' });
  t.equal(add.code, 0, add.err);
  t.match(add.out, /added alice/);
  t.equal(statSync(users).mode & 0o777, 0o600);
  const file = JSON.parse(readFileSync(users, 'utf8')) as { users: Array<{ name: string; role: string; hash: string; mustChangePassword: boolean }> };
  t.match(file.users[0], { name: 'alice', role: 'admin', mustChangePassword: false, hash: /^\$scrypt\$ln=\d+,r=\d+,p=\d+\$/ });
  t.notOk(readFileSync(users, 'utf8').includes('a long enough passphrase'));
  const weak = run(['passwd', 'bob', '--users', users], { input: 'short\n' });
  t.equal(weak.code, 2, 'a weak password is bad input');
  t.match(weak.err, /ringlet passwd: /);
  t.equal(run(['passwd', 'bob', '--role', 'root', '--users', users], { input: 'whatever long\n' }).code, 2);
  const update = run(['passwd', 'alice', '--users', users], { input: 'another long passphrase\n' });
  t.match(update.out, /updated alice/);
  t.equal((JSON.parse(readFileSync(users, 'utf8')) as { users: Array<{ role: string }> }).users[0]?.role, 'admin', 'role kept');
  t.end();
});

t.test('serve: prints the footprint and the first password, serves, stops on SIGTERM with exit 0', async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--users', join(dir, 'users.json'), '--scrypt-log-n', '10', '--insecure-scrypt-below-owasp'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 20_000);
    // stdout and stderr are separate pipes: wait for the password on one and the listening line on the other.
    const check = () => {
      const m = /"event":"listening","url":"http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (m && /password: \S+\n/.test(out)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stderr.on('data', check);
    child.stdout.on('data', check);
  });
  t.match(err, /profile embedded-default: footprint/);
  // stdout and stderr are separate pipes: the listening line can be read first.
  for (let i = 0; i < 250 && !/password: \S+/.test(out); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.match(out, /password: \S+/, 'first-start password on stdout');
  const password = /password: (\S+)/.exec(out)?.[1] ?? '';
  t.notOk(err.includes(password), 'and not in the logs');
  t.equal((await sendRequest(port, 'GET', '/healthz', { settle: true })).status, 200);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exit, 0, 'graceful exit 0');
  t.match(err, /"event":"stopped"/);
});

t.test('serve refuses to start over budget or with a corrupted file, and never half-starts', (t) => {
  const dir = tempDir(t);
  const over = run(['serve', '--port', '0', '--memory-budget-bytes', String(16 * 1024 * 1024), '--users', join(dir, 'u.json')], { cwd: dir });
  t.equal(over.code, 2);
  t.match(over.err, /memoryBudgetBytes: the profile's footprint exceeds its budget/);
  t.notMatch(over.err, /"event":"listening"/);
  const users = join(dir, 'users.json');
  writeFileSync(users, '{"version": 1, "users": [{"name": "admin"}]}');
  const corrupt = run(['serve', '--port', '0', '--users', users], { cwd: dir });
  t.equal(corrupt.code, 2);
  t.match(corrupt.err, /users\.json/);
  t.notMatch(corrupt.err, /"event":"listening"/);
  const keys = join(dir, 'keys.json');
  writeFileSync(keys, 'not json');
  const badKeys = run(['serve', '--port', '0', '--users', join(dir, 'fresh-users.json'), '--keys', keys], { cwd: dir });
  t.equal(badKeys.code, 2);
  t.match(badKeys.err, /keys\.json/);
  const badFlag = run(['serve', '--capacity', 'lots']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.err, /--capacity: must be an integer from 1 to 1048576 \(sessions\)/);
  t.end();
});
