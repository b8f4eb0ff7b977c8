/**
 * The CLI's refusals and warnings, as an operator meets them: exit codes, what is (not)
 * written before a refusal, the launch-environment warning, and option names in messages.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped bundle (the package's `bin`): dist/ringlet.js. */
const BIN = fileURLToPath(new URL('../../ringlet.js', import.meta.url));
/** Over every profile's budget: `serve` prints its footprint and warnings, then refuses (exit 2) without listening. */
const TINY_BUDGET = String(16 * 1024 * 1024);

function run(args: string[], opts: { nodeArgs?: string[]; env?: Record<string, string | undefined>; input?: string } = {}) {
  const env: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: undefined, MALLOC_MMAP_THRESHOLD_: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { input: opts.input ?? '', env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('keygen says "created" only after the file was written', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'not-a-dir'), '');
  const path = join(dir, 'not-a-dir', 'keys.json');
  const r = run(['keygen', '--keys', path]);
  t.not(r.code, 0, 'a failed write is a failure');
  t.notMatch(r.out, /created/, 'nothing claims the file exists');
  t.match(r.err, /not-a-dir\/keys\.json/, 'the error names the path');
  t.equal(r.err.trim().split('\n').length, 1, 'one line');
  t.notOk(existsSync(path));
  const ok = run(['keygen', '--keys', join(dir, 'keys.json')]);
  t.equal(ok.code, 0);
  t.match(ok.out, /^created .*keys\.json\n$/);
  t.end();
});

t.test('an unknown option is a usage error (exit 2) for every command', (t) => {
  for (const args of [['profile', 'check', 'embedded-default', '--bogus'], ['keygen', '--bogus'], ['passwd', 'alice', '--bogus'], ['serve', '--bogus']]) {
    const r = run(args);
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.err, /--bogus/, `${args.join(' ')} names the option`);
    t.notMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  t.end();
});

t.test('serve --snapshot refuses before it creates a file or prints a password', (t) => {
  const dir = tempDir(t);
  const users = join(dir, 'users.json');
  const keys = join(dir, 'keys.json');
  const noKeys = run(['serve', '--port', '0', '--users', users, '--snapshot', join(dir, 'snap.bin')]);
  t.equal(noKeys.code, 2);
  t.match(noKeys.err, /configuration error: --snapshot: needs --keys/);
  t.notOk(existsSync(users), 'no users file created');
  t.notMatch(noKeys.out, /password/, 'no password printed');
  const cookie = run(['serve', '--port', '0', '--mode', 'cookie', '--users', users, '--keys', keys, '--snapshot', join(dir, 'snap.bin')]);
  t.equal(cookie.code, 2);
  t.match(cookie.err, /--snapshot: snapshots are for RAM mode/);
  t.notOk(existsSync(users), 'no users file created');
  t.notOk(existsSync(keys), 'no key file created');
  const env = run(['serve', '--port', '0', '--users', users], { env: { RINGLET_SNAPSHOT: join(dir, 'snap.bin') } });
  t.match(env.err, /configuration error: RINGLET_SNAPSHOT: needs --keys/, 'named by the variable it came from');
  t.end();
});

t.test('the launch-environment warning counts NODE_OPTIONS and reads the profile', (t) => {
  const serve = ['serve', '--profile', 'embedded-default', '--memory-budget-bytes', TINY_BUDGET];
  const launchEnv = { MALLOC_MMAP_THRESHOLD_: '131072' };
  const none = run(serve, { env: launchEnv });
  t.equal(none.code, 2, 'refused over budget after the warnings');
  t.match(none.err, /Node flags are not set \(start node with --max-old-space-size=32 --max-semi-space-size=2\)/);
  const cases: Array<[string, { nodeArgs?: string[]; env?: Record<string, string> }]> = [
    ['on the command line', { nodeArgs: ['--max-old-space-size=32', '--max-semi-space-size=2'] }],
    ['in NODE_OPTIONS', { env: { NODE_OPTIONS: '--max-old-space-size=32  --max-semi-space-size=2' } }],
    ['split between both', { nodeArgs: ['--max-semi-space-size=2'], env: { NODE_OPTIONS: '--max-old-space-size=32' } }],
    ['V8 underscore spelling', { env: { NODE_OPTIONS: '--max_old_space_size=32 --max_semi_space_size=2' } }],
  ];
  for (const [title, o] of cases) {
    const r = run(serve, { nodeArgs: o.nodeArgs, env: { ...launchEnv, ...o.env } });
    t.notMatch(r.err, /Node flags are not set/, `flags ${title} count`);
    t.notMatch(r.err, /MALLOC_MMAP_THRESHOLD_/, `${title}: the environment is complete`);
  }
  const partial = run(serve, { env: { ...launchEnv, NODE_OPTIONS: '--max-old-space-size=32' } });
  t.match(partial.err, /Node flags are not set \(start node with --max-semi-space-size=2\)/, 'only the missing flag is named');
  const other = run(serve, { env: { ...launchEnv, NODE_OPTIONS: '--max-old-space-size=64 --max-semi-space-size=2' } });
  t.match(other.err, /--max-old-space-size=32/, 'a different value is not the profile\'s flag');
  const noEnv = run(serve, { nodeArgs: ['--max-old-space-size=32', '--max-semi-space-size=2'] });
  t.match(noEnv.err, /MALLOC_MMAP_THRESHOLD_=131072 is not set/, 'the profile\'s launch environment, with its value');
  const musl = run(['serve', '--profile', 'openwrt-256mb', '--memory-budget-bytes', TINY_BUDGET], { nodeArgs: ['--max-old-space-size=24', '--max-semi-space-size=1'] });
  t.notMatch(musl.err, /MALLOC_MMAP_THRESHOLD_/, 'a profile without a launch environment (musl) is not warned about glibc');
  t.notMatch(musl.err, /Node flags are not set/);
  t.end();
});

t.test('profile check shows the Node flags and launch environment without --json', (t) => {
  const r = run(['profile', 'check', 'container-64mb']);
  t.equal(r.code, 0);
  t.match(r.out, /^  node flags +--max-old-space-size=16 --max-semi-space-size=1 --lite-mode$/m);
  t.match(r.out, /^  environment +MALLOC_MMAP_THRESHOLD_=131072$/m);
  const musl = run(['profile', 'check', 'openwrt-256mb']);
  t.match(musl.out, /^  environment +\(none\)$/m);
  t.end();
});

t.test('serve errors name the option as it was given: flag or variable', (t) => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--port', '70000'], {}, /configuration error: --port: must be an integer from 0 to 65535, got 70000\n$/],
    [[], { RINGLET_PORT: '70000' }, /configuration error: RINGLET_PORT: must be an integer from 0 to 65535, got 70000\n$/],
    [['--capacity', '0'], {}, /configuration error: --capacity: must be an integer from 1 to 1048576 \(sessions\), got 0\n$/],
    [[], { RINGLET_CAPACITY: 'lots' }, /configuration error: RINGLET_CAPACITY: must be an integer from 1 to 1048576 \(sessions\), got "lots"\n$/],
    [['--trusted-proxy', 'proxy.lan'], {}, /configuration error: --trusted-proxy: must be an IP address \(got "proxy\.lan"\)\n$/],
    [['--log-level', 'loud'], {}, /configuration error: --log-level: must be debug, info, warn or error\n$/],
    [['--profile', 'no-such-device'], {}, /configuration error: --profile: cannot read /],
  ];
  for (const [args, env, message] of cases) {
    const r = run(['serve', ...args], { env });
    t.equal(r.code, 2, `${args.join(' ')} ${Object.keys(env).join(' ')}: exit 2`);
    t.match(r.err, message);
  }
  t.end();
});
