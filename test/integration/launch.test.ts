/**
 * The README's launch recipes — the systemd unit, the OpenWrt procd script and the
 * reverse-proxy command — checked against their device profile (the one source of Node
 * flags and launch environment) and started from an install made by the install recipe.
 * Each runs in exactly the environment the recipe gives it, and ringlet's own warning
 * about missing flags or environment must stay silent.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile, PROFILES_DIR } from '../../src/config/profile.js';
import { LAUNCH_MMAP_THRESHOLD } from '../../bench/load/processes.js';
import { adapt, commandsStartingWith, readmeRecipe } from '../support/readme.js';
import { npmInstallFromRecipe, packThisCheckout, recipeEnv, startCliServer, type CliServer } from '../support/install.js';
import { locationPath, startAdminUi } from './forward-auth.js';
import { sendRequest, sessionCookieOf } from '../support/http.js';

const MiB = 1024 * 1024;
const PASSWORD = 'a recipe admin passphrase';
const LAUNCH_WARNING = /Node flags are not set|is not set \(the profile's launch environment/;

/** Words with every `from` replaced (each must occur); words are joined by newlines, so a pair may span two. */
function mapWords(words: readonly string[], pairs: ReadonlyArray<readonly [string, string]>): string[] {
  return adapt(words.join('\n'), pairs).split('\n');
}

/** The words between node and the script: the Node flags a recipe starts node with. */
function nodeFlagsOf(argv: readonly string[], script: string): string[] {
  const at = argv.indexOf(script);
  if (at === -1) throw new Error(`${script} is not in ${argv.join(' ')}`);
  return argv.slice(1, at);
}

function profileOf(argv: readonly string[]): string {
  const at = argv.indexOf('--profile');
  if (at === -1) throw new Error(`no --profile in ${argv.join(' ')}`);
  return argv[at + 1] as string;
}

/** Reads a systemd unit: [Service] keys (continuations joined), Environment= as a map. */
export function parseUnit(text: string): { service: Map<string, string[]>; environment: Record<string, string> } {
  const service = new Map<string, string[]>();
  let section = '';
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const eq = trimmed.indexOf('=');
    if (section !== 'Service' || eq === -1) continue;
    const key = trimmed.slice(0, eq);
    service.set(key, [...(service.get(key) ?? []), trimmed.slice(eq + 1)]);
  }
  const environment: Record<string, string> = {};
  for (const assignment of (service.get('Environment') ?? []).flatMap((v) => v.split(/\s+/))) {
    const eq = assignment.indexOf('=');
    environment[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return { service, environment };
}

const packed = packThisCheckout();
t.teardown(() => packed.remove());
const prefix = npmInstallFromRecipe('install', packed, { cwd: packed.dir, prefix: ['/opt/ringlet', join(packed.dir, 'opt/ringlet')] });

function tempDir(t: { teardown(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ringlet-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs a recipe's `passwd` command (already mapped), the password on stdin. */
function runPasswd(t: Test, argv: readonly string[]): void {
  const r = spawnSync(argv[0] as string, argv.slice(1), { input: `${PASSWORD}\n`, encoding: 'utf8', env: recipeEnv({}), timeout: 60_000 });
  t.equal(r.status, 0, `passwd before the first start: ${r.stderr}`);
  t.match(r.stdout, /added admin/);
}

async function signIn(server: CliServer, host: string): Promise<number> {
  const r = await sendRequest(server.port, 'POST', '/login', { headers: { host, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  return r.status;
}

t.test('systemd: the unit carries the profile, passes systemd-analyze verify, and its ExecStart runs', async (t) => {
  const unitText = readmeRecipe('systemd');
  const unit = parseUnit(unitText);
  const execStart = (unit.service.get('ExecStart')?.[0] ?? '').split(/\s+/).filter(Boolean);
  const script = '/opt/ringlet/bin/ringlet';
  const profile = loadProfile(profileOf(execStart));
  t.equal(execStart[0], '/usr/bin/node');
  t.same(nodeFlagsOf(execStart, script), profile.nodeFlags, `exactly ${profile.name}'s Node flags`);
  t.same(unit.environment, profile.launchEnv, `exactly ${profile.name}'s launch environment`);
  t.same(unit.service.get('MemoryMax'), [`${profile.memoryBudgetBytes / MiB}M`], 'MemoryMax is the profile\'s budget');
  t.same(unit.service.get('ExecReload'), ['/bin/kill -HUP $MAINPID'], 'reload writes the snapshot (SIGHUP)');

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  await t.test('systemd-analyze verify', { skip: analyze.status === 0 ? false : 'systemd-analyze is not installed (systemd)' }, async (t) => {
    const dir = tempDir(t, 'systemd');
    // verify checks that ExecStart's binary exists: point it at this machine's node if it is elsewhere.
    const text = existsSync('/usr/bin/node') ? unitText : adapt(unitText, [['/usr/bin/node', process.execPath]]);
    writeFileSync(join(dir, 'ringlet.service'), text);
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'ringlet.service')], { encoding: 'utf8', timeout: 60_000 });
    t.equal(r.status, 0, 'verify passes');
    t.equal(r.stderr.trim(), '', 'without a warning');
  });

  const state = tempDir(t, 'state');
  const runtime = tempDir(t, 'runtime');
  const paths: Array<[string, string]> = [['/opt/ringlet', prefix], ['/var/lib/ringlet', state]];
  const [setup] = commandsStartingWith(readmeRecipe('systemd-setup'), 'runuser');
  t.ok(setup, 'the setup creates the admin before the first start');
  const asService = setup as string[];
  t.same(asService.slice(0, 4), ['runuser', '-u', 'ringlet', '--'], 'as the service\'s user');
  runPasswd(t, mapWords(asService.slice(4), [['node', process.execPath], ...paths]));

  const argv = mapWords(execStart, [
    ['/usr/bin/node', process.execPath], ...paths, ['/run/ringlet', runtime],
    ['--host\n0.0.0.0', '--host\n127.0.0.1'], ['--port\n8080', '--port\n0'],
  ]);
  const server = await startCliServer(argv, recipeEnv(unit.environment));
  t.teardown(() => server.stop());
  t.notMatch(server.stderr(), LAUNCH_WARNING, 'no warning about Node flags or launch environment');
  t.notMatch(server.stdout(), /password/, 'no generated password (the admin exists)');
  t.equal((await sendRequest(server.port, 'GET', '/healthz', { headers: { host: 'router.lan' } })).status, 200, 'serves its --allowed-host');
  t.equal((await sendRequest(server.port, 'GET', '/healthz', { headers: { host: `127.0.0.1:${server.port}` } })).status, 200, 'and loopback');
  t.equal((await sendRequest(server.port, 'GET', '/healthz', { headers: { host: 'evil.example' } })).status, 421, 'not other names');
  t.equal(await signIn(server, 'router.lan'), 200, 'the admin from the setup signs in');
  server.child.kill('SIGHUP');
  for (let i = 0; i < 50 && !existsSync(join(runtime, 'snapshot.bin')); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(existsSync(join(runtime, 'snapshot.bin')), 'ExecReload (SIGHUP) writes the snapshot to the RuntimeDirectory');
  t.equal(await server.stop('SIGTERM'), 0, 'systemctl stop: exit 0');
});

/** Sources the procd script in /bin/sh with stand-ins for procd's functions; returns what procd would be told. */
function procdCalls(script: string, dir: string): { command: string[]; env: Record<string, string>; params: string[]; signals: string[] } {
  const file = join(dir, 'ringlet.init');
  writeFileSync(file, script);
  const stubs = [
    'procd_open_instance() { :; }',
    'procd_close_instance() { :; }',
    'procd_set_param() { p="$1"; shift; echo "PARAM $p"; for a in "$@"; do echo "$p $a"; done; }',
    'procd_send_signal() { echo "SIGNAL $*"; }',
  ].join('\n');
  const r = spawnSync('/bin/sh', ['-c', `${stubs}\n. "$1" && start_service && reload_service`, 'sh', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sourcing the procd script failed: ${r.stderr}`);
  const lines = r.stdout.split('\n');
  const env: Record<string, string> = {};
  for (const line of lines.filter((l) => l.startsWith('env '))) {
    const assignment = line.slice(4);
    env[assignment.slice(0, assignment.indexOf('='))] = assignment.slice(assignment.indexOf('=') + 1);
  }
  return {
    command: lines.filter((l) => l.startsWith('command ')).map((l) => l.slice(8)),
    env,
    params: lines.filter((l) => l.startsWith('PARAM ')).map((l) => l.slice(6)),
    signals: lines.filter((l) => l.startsWith('SIGNAL ')).map((l) => l.slice(7)),
  };
}

t.test('OpenWrt procd: the script carries the profile, and the command procd starts runs', async (t) => {
  const script = readmeRecipe('openwrt-procd');
  const dir = tempDir(t, 'procd');
  t.equal(spawnSync('/bin/sh', ['-n', '-c', script]).status, 0, 'valid sh');
  t.match(script, /^#!\/bin\/sh \/etc\/rc\.common\n/, 'an rc.common init script');
  const calls = procdCalls(script, dir);
  const profile = loadProfile(profileOf(calls.command));
  t.equal(calls.command[0], '/usr/bin/node');
  t.same(nodeFlagsOf(calls.command, '/usr/lib/ringlet/bin/ringlet'), profile.nodeFlags, `exactly ${profile.name}'s Node flags`);
  t.same(calls.env, profile.launchEnv, `exactly ${profile.name}'s launch environment (none for musl)`);
  t.ok(calls.params.includes('respawn'), 'procd respawns it');
  t.same(calls.signals, ['ringlet * HUP'], 'reload sends SIGHUP (snapshot)');

  const etc = tempDir(t, 'etc');
  const paths: Array<[string, string]> = [['/usr/lib/ringlet', prefix], ['/etc/ringlet', etc]];
  const [passwd] = commandsStartingWith(readmeRecipe('openwrt-setup'), 'node ');
  t.ok(passwd, 'the setup creates the admin before the first start');
  t.same((passwd as string[]).slice(0, 3), ['node', '/usr/lib/ringlet/bin/ringlet', 'passwd'], 'with a command that exists on the device');
  t.equal(profileOf(passwd as string[]), profile.name, 'hashing at the profile\'s cost');
  runPasswd(t, mapWords(passwd as string[], [['node', process.execPath], ...paths]));

  const app = await startAdminUi();
  t.teardown(() => app.close());
  const snapshots = tempDir(t, 'tmp');
  const argv = mapWords(calls.command, [
    ['/usr/bin/node', process.execPath], ...paths, ['/tmp/ringlet.snapshot', join(snapshots, 'ringlet.snapshot')],
    ['--host\n0.0.0.0', '--host\n127.0.0.1'], ['--port\n80', '--port\n0'], ['127.0.0.1:8081', `127.0.0.1:${app.port}`],
  ]);
  const server = await startCliServer(argv, recipeEnv(calls.env));
  t.teardown(() => server.stop());
  t.notMatch(server.stderr(), LAUNCH_WARNING, 'no warning about Node flags or launch environment');
  t.notMatch(server.stdout(), /password/, 'no generated password (the admin exists)');
  const host = 'openwrt.lan';
  const browse = await sendRequest(server.port, 'GET', '/cgi-bin/luci?x=1&y=2', { headers: { host, accept: 'text/html' } });
  t.equal(browse.status, 303, 'http://openwrt.lan is served (not 421): to the login page');
  t.equal(locationPath(browse.headers.location), '/login?next=%2Fcgi-bin%2Fluci%3Fx%3D1%26y%3D2');
  const login = await sendRequest(server.port, 'POST', '/login', { headers: { host, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  t.equal(login.status, 200, 'the admin from the setup signs in');
  const cookie = sessionCookieOf(login);
  const luci = await sendRequest(server.port, 'GET', '/cgi-bin/luci', { headers: { host, cookie, 'remote-user': 'root' } });
  t.equal(luci.status, 200, 'LuCI through ringlet');
  t.equal(app.seen.at(-1)?.headers['remote-user'], 'admin', 'with Remote-User from ringlet');
  t.equal(await server.stop('SIGTERM'), 0);
  t.ok(existsSync(join(snapshots, 'ringlet.snapshot')), 'the snapshot on /tmp (tmpfs on OpenWrt) at stop');
});

t.test('reverse-proxy mode: the README command', async (t) => {
  const [words] = commandsStartingWith(readmeRecipe('reverse-proxy'), 'ringlet serve');
  t.ok(words, 'a ringlet serve line');
  const app = await startAdminUi();
  t.teardown(() => app.close());
  const dir = tempDir(t, 'reverse');
  const profile = loadProfile('embedded-default');
  const argv = [process.execPath, ...profile.nodeFlags, join(prefix, 'bin/ringlet'), ...mapWords((words as string[]).slice(1), [
    ['--host\n0.0.0.0', '--host\n127.0.0.1'], ['--port\n80', '--port\n0'], ['127.0.0.1:8081', `127.0.0.1:${app.port}`],
  ]), '--users', join(dir, 'users.json')];
  const server = await startCliServer(argv, recipeEnv(profile.launchEnv), dir);
  t.teardown(() => server.stop());
  const host = 'openwrt.lan';
  const browser = await sendRequest(server.port, 'GET', '/status?x=1&y=2', { headers: { host, accept: 'text/html' } });
  t.equal(browser.status, 303, 'a browser without a session: to the login page');
  t.equal(locationPath(browser.headers.location), '/login?next=%2Fstatus%3Fx%3D1%26y%3D2', 'next encoded whole');
  t.equal((await sendRequest(server.port, 'GET', '/status', { headers: { host, accept: 'application/json' } })).status, 401, 'an API client: 401');
  t.equal((await sendRequest(server.port, 'GET', '/status', { headers: { host: 'evil.example' } })).status, 421, 'another name: 421');
  t.same(app.seen, [], 'the admin UI saw nothing');
  t.match(server.stdout(), /password: \S+/, 'without a users file, the first start prints a password (the recipes create the admin first)');
  const leftover = readFileSync(join(dir, 'users.json'), 'utf8');
  t.match(leftover, /"admin"/);
});

t.test('npm start and the benches start node as the profiles say', (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  const start = pkg.scripts['start'] as string;
  const profile = loadProfile('embedded-default');
  const env = Object.entries(profile.launchEnv).map(([k, v]) => `${k}=${v}`).join(' ');
  t.match(start, `${env} node ${profile.nodeFlags.join(' ')} `, 'npm start: embedded-default\'s launch environment and Node flags');
  // bench/ starts every server with one threshold: the one the glibc profiles name.
  for (const name of readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5))) {
    const threshold = loadProfile(name).launchEnv['MALLOC_MMAP_THRESHOLD_'];
    if (threshold !== undefined) t.equal(threshold, LAUNCH_MMAP_THRESHOLD, `${name}: the benches' launch environment`);
  }
  t.end();
});

