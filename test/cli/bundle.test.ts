/**
 * The shipped module, dist/ringlet.js: it is the package entry (`exports`, `main`) and the
 * `bin`, it exports exactly what src/index.ts exports, importing it does not run the CLI,
 * and `ringlet serve` loads exactly one module of ringlet's. Which modules a process loads
 * is recorded by ES loader hooks (node:module register, on --import) plus the CommonJS
 * cache at exit; the same instrument run on the many-module build (dist/src/cli/main.js)
 * must see its ~100 modules, so it cannot pass by seeing nothing.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as bundled from 'ringlet';
import * as source from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUNDLE = join(ROOT, 'dist', 'ringlet.js');
const MODULE_BUILD_CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

t.test('package.json: bin, main and exports are the bundle; types come from tsc', (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>; main: string; types: string; exports: Record<string, Record<string, string> | string>; files: string[];
  };
  t.equal(pkg.bin['ringlet'], 'dist/ringlet.js');
  t.equal(pkg.main, './dist/ringlet.js');
  t.same(pkg.exports['.'], { types: './dist/src/index.d.ts', default: './dist/ringlet.js' });
  t.equal(pkg.types, './dist/src/index.d.ts');
  t.ok(pkg.files.includes('dist/ringlet.js'));
  t.equal(import.meta.resolve('ringlet'), pathToFileURL(BUNDLE).href, "the package's own name resolves to the bundle");
  t.ok(statSync(BUNDLE).mode & 0o100, 'executable');
  t.match(readFileSync(BUNDLE, 'utf8'), /^#!\/usr\/bin\/env node\n/, 'with a shebang');
  t.end();
});

t.test("the bundle's exports are src/index.ts's: same names, same kinds, same constants", (t) => {
  const a = bundled as unknown as Record<string, unknown>;
  const b = source as unknown as Record<string, unknown>;
  t.same(Object.keys(a), Object.keys(b), 'the same names');
  t.ok(Object.keys(a).length >= 30, `the public API (${Object.keys(a).length} names)`);
  for (const name of Object.keys(b)) {
    t.equal(typeof a[name], typeof b[name], `${name}: ${typeof b[name]}`);
    if (typeof b[name] === 'function') t.equal((a[name] as () => void).name, (b[name] as () => void).name, `${name}: same function name`);
    else t.same(a[name], b[name], `${name}: same value`);
  }
  t.not(a['RingletError'], b['RingletError'], 'its classes are its own (code using the bundle must take them from it)');
  t.end();
});

t.test("errors from the bundle are instances of the bundle's classes", (t) => {
  t.throws(() => bundled.parseProfile({ capacity: 0 }, 'test'), bundled.ConfigError);
  let thrown: unknown;
  try {
    bundled.openJwe('not.a.jwe.at.all', bundled.loadKeyRing(JSON.stringify(bundled.generateJwks())));
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof bundled.RingletError, 'a refused token is a RingletError of the bundle');
  t.end();
});

t.test("run through a symlink (npm's bin link) it is still the CLI", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-bin-link-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, 'ringlet');
  symlinkSync(BUNDLE, link);
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const plain = spawnSync(process.execPath, [link, '--version'], { encoding: 'utf8', timeout: 30_000 });
  t.same([plain.status, plain.stdout], [0, `${version}\n`], 'node LINK');
  const direct = spawnSync(link, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  t.same([direct.status, direct.stdout], [0, `${version}\n`], 'executed directly by its shebang');
  t.end();
});

t.test('importing the package runs no CLI and opens nothing: no output, exit 0, no socket, timer or handle', (t) => {
  const script = `
    await new Promise((r) => setImmediate(r));
    const before = process.getActiveResourcesInfo();
    const r = await import('ringlet');
    await new Promise((r) => setImmediate(r));
    const after = process.getActiveResourcesInfo();
    process.stdout.write(JSON.stringify({ names: Object.keys(r).length, before, after }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  t.same([r.status, r.stderr], [0, ''], 'exit 0, nothing on stderr');
  const out = JSON.parse(r.stdout) as { names: number; before: string[]; after: string[] };
  t.equal(out.names, Object.keys(source).length, 'only our line on stdout: the CLI did not run');
  t.same([...out.after].sort(), [...out.before].sort(), `the same handles before and after: ${JSON.stringify(out.after)}`);
  t.end();
});

/** Hooks that log every module URL an ES loader loads, and the CommonJS cache at exit. */
function loadRecorder(dir: string): { importFlag: string; log: string } {
  const log = join(dir, 'loaded.txt');
  writeFileSync(join(dir, 'hooks.mjs'), [
    "import { appendFileSync } from 'node:fs';",
    'let log;',
    'export function initialize(data) { log = data.log; }',
    "export async function load(url, context, next) { appendFileSync(log, `${url}\\n`); return next(url, context); }",
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'register.mjs'), [
    "import { appendFileSync } from 'node:fs';",
    "import { createRequire, register } from 'node:module';",
    `const log = ${JSON.stringify(log)};`,
    "register(new URL('./hooks.mjs', import.meta.url), { data: { log } });",
    'const require = createRequire(import.meta.url);',
    "process.on('exit', () => appendFileSync(log, Object.keys(require.cache).map((f) => `commonjs:${f}\\n`).join('')));",
    '',
  ].join('\n'));
  return { importFlag: `--import=${pathToFileURL(join(dir, 'register.mjs')).href}`, log };
}

function get(port: number, path: string, init: { method?: string; body?: string } = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, { method: init.method ?? 'GET', ...(init.body !== undefined ? { body: init.body, headers: { 'content-type': 'application/json' } } : {}) });
}

/** Starts `serve` with the recorder, signs in (the password path), stops it; returns the files it loaded from the package. */
async function modulesLoadedByServe(script: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-loaded-'));
  const { importFlag, log } = loadRecorder(dir);
  const child = spawn(process.execPath, [importFlag, script, 'serve', '--port', '0', '--users', join(dir, 'users.json'), '--scrypt-log-n', '10', '--insecure-scrypt-below-owasp', '--log-level', 'info'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' } });
  try {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Listening (stderr) and the first-start password (stdout) may arrive in either order.
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line or password: ${err}`)), 20_000);
      const check = (): void => {
        const m = /"event":"listening","url":"http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
        if (m && /password: \S+/.test(out)) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stderr.on('data', check);
      child.stdout.on('data', check);
    });
    const password = /password: (\S+)/.exec(out)?.[1] ?? '';
    if ((await get(port, '/healthz')).status !== 200) throw new Error('healthz');
    const login = await get(port, '/login', { method: 'POST', body: JSON.stringify({ username: 'admin', password }) });
    if (login.status !== 200) throw new Error(`login ${login.status}`);
    await get(port, '/metrics');
    child.kill('SIGTERM');
    if ((await exited) !== 0) throw new Error(`exit: ${err}`);
    // ringlet's files: the package's own, not node_modules (tap's process-info hooks
    // re-inject themselves into every child it spawns, whatever its environment).
    const root = pathToFileURL(ROOT).href;
    return readFileSync(log, 'utf8').split('\n')
      .map((l) => (l.startsWith('commonjs:') ? pathToFileURL(l.slice('commonjs:'.length)).href : l))
      .filter((url) => url.startsWith(root) && !url.startsWith(`${root}node_modules/`));
  } finally {
    // A failed step must not leave the server running.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('`ringlet serve` loads exactly one module of ringlet\'s: dist/ringlet.js', async (t) => {
  const loaded = await modulesLoadedByServe(BUNDLE);
  t.same(loaded, [pathToFileURL(BUNDLE).href], 'started, served, signed in, stopped: one module');
  const many = await modulesLoadedByServe(MODULE_BUILD_CLI);
  t.ok(many.length >= 90, `the same recorder sees the many-module build load ${many.length} modules`);
});
