/**
 * The bundler (src/build/bundle.ts) on small module graphs written to a temp directory.
 * Where a graph is valid ES, Node's own loader is the oracle: the bundle must evaluate the
 * modules in the same order, once each, and export the same names and values as importing
 * the entry natively. Every refused form must fail with one line naming the module.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BundleError, bundle, tokenize, type BundleOptions } from '../../src/build/bundle.js';

const BUILD_MAIN = fileURLToPath(new URL('../../src/build/main.js', import.meta.url));

type Files = Record<string, string>;

/** Fixture log: modules push their name when they run. */
declare global {
  // eslint-disable-next-line no-var
  var fixtureLog: string[] | undefined;
}

function graph(t: Test, files: Files): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-bundle-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function build(dir: string, o: Partial<BundleOptions> = {}): Promise<{ code: string; out: string; modules: string[] }> {
  const out = join(dir, o.out ?? 'bundle.mjs');
  const result = await bundle({ entry: join(dir, o.entry ?? 'a.js'), out, ...(o.main !== undefined ? { main: join(dir, o.main) } : {}) });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, result.code);
  return { code: result.code, out, modules: result.modules };
}

async function importLogged(file: string): Promise<{ ns: Record<string, unknown>; log: string[] }> {
  globalThis.fixtureLog = [];
  const ns = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const log = globalThis.fixtureLog;
  globalThis.fixtureLog = undefined;
  return { ns, log };
}

/** Names, and values made comparable (functions and classes by name and result). */
function describe(ns: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ns)) {
    const v = ns[key];
    if (typeof v === 'function') out[key] = { function: v.name, isClass: /^class\b/.test(Function.prototype.toString.call(v)) };
    else if (typeof v === 'object' && v !== null && (v as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'Module') out[key] = { namespace: describe(v as Record<string, unknown>) };
    else out[key] = v;
  }
  return out;
}

/** Bundle the graph and import it; import the entry natively; both must agree. */
async function sameAsNative(t: Test, files: Files, o: Partial<BundleOptions> = {}): Promise<{ ns: Record<string, unknown>; code: string; dir: string; modules: string[] }> {
  const dir = graph(t, files);
  const { code, out, modules } = await build(dir, o);
  const bundled = await importLogged(out);
  const native = await importLogged(join(dir, o.entry ?? 'a.js'));
  t.same(bundled.log, native.log, 'modules ran in the native order, once each');
  t.same(Object.keys(bundled.ns), Object.keys(native.ns), 'the same export names, in the same order');
  t.same(describe(bundled.ns), describe(native.ns), 'the same values');
  return { ns: bundled.ns, code, dir, modules };
}

const log = (name: string) => `globalThis.fixtureLog?.push(${JSON.stringify(name)});\n`;

t.test('a diamond: the shared module runs once, before both importers, in ES order', async (t) => {
  const { modules } = await sameAsNative(t, {
    'a.js': `import { b } from './b.js';\nimport { c } from './c.js';\n${log('a')}export const a = b + c;\n`,
    'b.js': `import { d } from './d.js';\n${log('b')}export const b = 'b' + d;\n`,
    'c.js': `import { d } from './d.js';\n${log('c')}export const c = 'c' + d;\n`,
    'd.js': `${log('d')}export const d = 'D';\n`,
  });
  t.same(modules, ['d.js', 'b.js', 'c.js', 'a.js']);
});

t.test('re-exports: lists, renames, defaults, export * and export * as', async (t) => {
  const { ns } = await sameAsNative(t, {
    'a.js': [
      "export * from './re.js';",
      "export * as lib from './lib.js';",
      "import def, { y } from './re.js';",
      "import * as whole from './lib.js';",
      'export const sum = y + def.length + whole.x;',
      "export { f as again } from './lib.js';",
      '',
    ].join('\n'),
    're.js': "export { x as y, f } from './lib.js';\nexport { default } from './lib.js';\nexport { default as libDefault } from './lib.js';\n",
    'lib.js': "export const x = 1;\nexport function f() { return 'f'; }\nexport default 'DEF';\n",
  });
  t.equal(ns['sum'], 5);
  t.notOk('default' in ns, 'export * does not pass default on');
  t.equal((ns['lib'] as Record<string, unknown>)['default'], 'DEF');
});

t.test('export *: local names win, a conflict between stars is left out, the same binding twice is kept', async (t) => {
  const { ns } = await sameAsNative(t, {
    'a.js': "export * from './s1.js';\nexport * from './s2.js';\nexport const mine = 'local';\n",
    's1.js': "export const dup = 1;\nexport const mine = 's1';\nexport { shared } from './shared.js';\nexport const only1 = 1;\n",
    's2.js': "export const dup = 2;\nexport * from './shared.js';\nexport const only2 = 2;\n",
    'shared.js': 'export const shared = 42;\n',
  });
  t.notOk('dup' in ns, 'ambiguous between two stars: not exported');
  t.equal(ns['mine'], 'local');
  t.equal(ns['shared'], 42);
});

t.test('default exports of every shape keep their value and name', async (t) => {
  const { ns } = await sameAsNative(t, {
    'a.js': [
      "import expr from './expr.js';",
      "import namedFn from './named-fn.js';",
      "import anonFn from './anon-fn.js';",
      "import anonAsync from './anon-async.js';",
      "import anonClass from './anon-class.js';",
      "import NamedClass from './named-class.js';",
      "import arrow from './arrow.js';",
      "import aliased from './aliased.js';",
      "import gen from './gen.js';",
      'export { expr, namedFn, anonFn, anonAsync, anonClass, NamedClass, arrow, aliased, gen };',
      'export const results = [namedFn(), anonFn(), new anonClass().k, new NamedClass().k, arrow(), gen().next().value];',
      'export const names = [namedFn.name, anonFn.name, anonAsync.name, anonClass.name, NamedClass.name, arrow.name, gen.name];',
      '',
    ].join('\n'),
    'expr.js': 'export default 40 + 2;\n',
    'named-fn.js': "export default function hello() { return 'hello'; }\n",
    'anon-fn.js': "export default function () { return 'anon'; }\n(function () { globalThis.fixtureLog?.push('no ASI trap'); })();\n",
    'anon-async.js': 'export default async function () { return 1; }\n',
    'anon-class.js': "export default class { k = 'anon class'; }\n",
    'named-class.js': "class Base { k = 'base'; }\nexport default class Named extends Base { }\n",
    'arrow.js': "export default () => 'arrow';\n",
    'aliased.js': "const v = 'aliased';\nexport { v as default };\n",
    'gen.js': 'export default function* () { yield 7; }\n',
  });
  t.same(ns['names'], ['hello', 'default', 'default', 'default', 'Named', 'default', 'default']);
  t.same(ns['results'], ['hello', 'anon', 'anon class', 'base', 'arrow', 7]);
});

t.test('import forms: default + named, default + namespace, side effects, empty braces, a binding called from', async (t) => {
  await sameAsNative(t, {
    'a.js': [
      "import d1, { n as renamed } from './m.js';",
      "import d2, * as all from './m.js';",
      "import './side.js';",
      "import {} from './side2.js';",
      "import from from './from.js';",
      'export const seen = [d1, renamed, d2, all.n, from];',
      '',
    ].join('\n'),
    'm.js': "export default 'm';\nexport const n = 'n';\n",
    'side.js': log('side'),
    'side2.js': log('side2'),
    'from.js': "export default 'from';\n",
  });
});

t.test('import.meta.url: each section sees its own module\'s URL and finds files next to it', async (t) => {
  const { ns, dir, code } = await sameAsNative(t, {
    'a.js': "export { url, text } from './sub/reader.js';\nexport const plain = 1;\n",
    'sub/reader.js': "import { readFileSync } from 'node:fs';\nexport const url = import.meta.url;\nexport const text = readFileSync(new URL('./data.txt', import.meta.url), 'utf8');\n",
    'sub/data.txt': 'found next to the module',
  }, { out: 'out/deeper/bundle.mjs' });
  t.equal(ns['url'], pathToFileURL(join(dir, 'sub/reader.js')).href);
  t.equal(ns['text'], 'found next to the module');
  t.equal((code.match(/new URL\(/g) ?? []).length, 2, 'one URL per section that uses import.meta.url, plus the module\'s own');
});

t.test('Node built-ins are imported once at the top, under either name', async (t) => {
  const { code, ns } = await sameAsNative(t, {
    'a.js': "import { join } from 'path';\nimport path from 'node:path';\nimport * as fsp from 'node:fs/promises';\nimport { b } from './b.js';\nexport const r = [join('x', 'y'), path.join('p', 'q'), typeof fsp.readFile, b];\n",
    'b.js': "import { sep } from 'node:path';\nexport const b = sep;\n",
  });
  t.equal((code.match(/^import \* as \S+ from 'node:path';$/gm) ?? []).length, 1, 'node:path once');
  t.equal((code.match(/^import /gm) ?? []).length, 2, 'node:path and node:fs/promises, nothing else');
  t.same(ns['r'], ['x/y', 'p/q', 'function', '/']);
});

t.test('the scanner is not fooled by strings, comments, templates, regexes or keyword-named members', async (t) => {
  await sameAsNative(t, {
    'a.js': [
      "// import('./nope.js') in a comment; export const hidden = 1;",
      '/* export default 1; import.meta.resolve */',
      "const s1 = \"import('./x.js')\"; const s2 = 'export default \\'1\\'';",
      "const inner = { k: `nested ${'}'} {` };",
      'const tpl = `a ${inner.k} b ${`${1 + 1}`} } { c`;',
      "const re = /[/'\"`]import\\(/g;",
      'const div = (4) / 2 / 1;',
      'const re2 = [1].map(() => /}/.source)[0];',
      'async function later() { await null; return 1; }',
      'export const arrow = async (x) => await x;',
      "class K { import() { return 'method'; } static meta() { return 'm'; } }",
      'const obj = { import: 1, export: 2, default: 3 };',
      'export const out = [s1, s2, tpl, re.source, div, re2, typeof later, new K().import(), K.meta(), obj.import + obj.export + obj.default];',
      '',
    ].join('\n'),
  });
});

t.test('comments are left out and the text is ASCII; strings, templates, regexes and names keep their characters', async (t) => {
  const { code } = await sameAsNative(t, {
    'a.js': [
      '/**',
      ' * A doc comment with a dash — and an arrow →, and export const fake = 1;',
      ' */',
      "import { b } from './b.js'; // trailing comment ≤",
      "export const text = 'naïve — ok ✓ 😀';",
      'export const tpl = `λ ${b} →`;',
      'export const re = /[à-ÿ]+/u.test(\'été\');',
      'const café = /* inline */ 3;',
      'export const name = café;',
      'export const escaped = String.raw`x\\u00e9`;',
      '',
    ].join('\n'),
    'b.js': "// only a comment line\nexport const b = 'β';\n",
  });
  t.notOk(/[^\x00-\x7e]/.test(code), 'every character of the bundle is ASCII');
  t.notMatch(code, /doc comment|trailing comment|only a comment|inline/, 'no module comment survives');
  const tagged = await sameAsNative(t, {
    'a.js': "const tag = (s) => s.raw.join('|');\nexport const raw = String.raw`é ${1} →`;\nexport const mine = tag`à${2}ü${3}ö`;\nexport const untagged = `ß${4}`;\n",
  });
  t.match(tagged.code, /String\.raw`é \$\{1\} →`/, 'a tagged template keeps its characters (its raw text is read)');
  t.match(tagged.code, /`\\u00df\$\{4\}`/, 'an untagged one is escaped');
});

t.test('a main entry: its own modules run only when the bundle is the main module', async (t) => {
  const dir = graph(t, {
    'lib.js': `${log('lib')}export const greet = (n) => 'hello ' + n;\n`,
    'cli-only.js': `${log('cli-only')}export const argv = process.argv.slice(2);\n`,
    'main.js': "#!/usr/bin/env node\nimport { greet } from './lib.js';\nimport { argv } from './cli-only.js';\nprocess.stdout.write(greet(argv.join(' ')));\n",
  });
  const { code, out } = await build(dir, { entry: 'lib.js', main: 'main.js' });
  t.match(code, /^#!\/usr\/bin\/env node\n/, 'a shebang first');
  t.equal((code.match(/#!/g) ?? []).length, 1, 'and only there');
  const run = spawnSync(process.execPath, [out, 'world'], { encoding: 'utf8' });
  t.same([run.status, run.stdout, run.stderr], [0, 'hello world', ''], 'run as main: the CLI runs');
  const imported = await importLogged(out);
  t.same(imported.log, ['lib'], 'imported: only the library part runs');
  t.same(Object.keys(imported.ns), ['greet']);
});

t.test('stack traces: the section header tells which module and line a bundle line is', async (t) => {
  const dir = graph(t, {
    'a.js': "import { boom } from './thrower.js';\nexport { boom };\n",
    'thrower.js': '// line 1\nexport function boom() {\n  throw new Error("boom");\n}\n',
  });
  const { code, out } = await build(dir);
  const header = /^\/\/ -- thrower\.js \(its line 1 is line (\d+) here\)$/m.exec(code);
  t.ok(header, 'a header names the module');
  const { ns } = await importLogged(out);
  let stack = '';
  try {
    (ns['boom'] as () => void)();
  } catch (err) {
    stack = (err as Error).stack ?? '';
  }
  t.match(stack, `bundle.mjs:${Number(header![1]) + 2}:`, 'line 3 of the module is line 1 + 2 of its section');
});

const REFUSED: Array<{ title: string; files: Files; module: string; message: RegExp }> = [
  { title: 'a value-import cycle', files: { 'a.js': "import { b } from './b.js';\nexport const a = 1;\n", 'b.js': "import { a } from './a.js';\nexport const b = 2;\n" },
    module: 'a.js', message: /value-import cycle a\.js → b\.js → a\.js/ },
  { title: 'a cycle through a re-export', files: { 'a.js': "export * from './b.js';\n", 'b.js': "export { a } from './c.js';\n", 'c.js': "import './b.js';\nexport const a = 1;\n" },
    module: 'b.js', message: /cycle b\.js → c\.js → b\.js/ },
  { title: 'top-level await', files: { 'a.js': "import './b.js';\nexport const a = 1;\n", 'b.js': 'const x = 1;\nawait Promise.resolve(x);\nexport const b = 2;\n' },
    module: 'b.js', message: /top-level await is not supported \(line 2\)/ },
  { title: 'top-level await in a block', files: { 'a.js': 'if (globalThis.never) {\n  await null;\n}\nexport const a = 1;\n' },
    module: 'a.js', message: /top-level await/ },
  { title: 'top-level for await', files: { 'a.js': 'for await (const x of []) {}\nexport const a = 1;\n' },
    module: 'a.js', message: /top-level await/ },
  { title: 'dynamic import()', files: { 'a.js': "export const load = () => import('./b.js');\n", 'b.js': 'export const b = 1;\n' },
    module: 'a.js', message: /dynamic import\(\) is not supported/ },
  { title: 'import attributes', files: { 'a.js': "import data from './d.json' with { type: 'json' };\nexport { data };\n", 'd.json': '{}' },
    module: 'a.js', message: /import attributes/ },
  { title: 'a string export name', files: { 'a.js': "const a = 1;\nexport { a as 'a b' };\n" },
    module: 'a.js', message: /string export name/ },
  { title: 'a string import name', files: { 'a.js': "import { 'x y' as z } from './b.js';\nexport { z };\n", 'b.js': 'export const b = 1;\n' },
    module: 'a.js', message: /string export name 'x y'/ },
  { title: 'export let', files: { 'a.js': 'export let counter = 0;\nexport function inc() { counter++; }\n' },
    module: 'a.js', message: /export let: a mutable export would be copied, not live/ },
  { title: 'a let exported by a list', files: { 'a.js': 'let y = 1;\nexport { y };\n' },
    module: 'a.js', message: /export of y, declared with let\/var/ },
  { title: 'an exported destructuring pattern', files: { 'a.js': 'export const { a } = { a: 1 };\n' },
    module: 'a.js', message: /exported destructuring pattern/ },
  { title: 'import.meta other than url', files: { 'a.js': "export const r = import.meta.resolve('./a.js');\n" },
    module: 'a.js', message: /only import\.meta\.url is supported/ },
  { title: 'import.meta.dirname', files: { 'a.js': 'export const d = import.meta.dirname;\n' },
    module: 'a.js', message: /only import\.meta\.url/ },
  { title: 'a package import', files: { 'a.js': "import tap from 'tap';\nexport { tap };\n" },
    module: 'a.js', message: /imports "tap": only relative modules and Node built-ins/ },
  { title: 'a missing module', files: { 'a.js': "import './nope.js';\n" },
    module: 'a.js', message: /imports nope\.js, which does not exist/ },
  { title: 'a name the module does not export', files: { 'a.js': "import { nope } from './b.js';\nexport { nope };\n", 'b.js': 'export const b = 1;\n' },
    module: 'a.js', message: /imports nope from b\.js, which does not export it/ },
  { title: 'a name a built-in does not export', files: { 'a.js': "import { nope } from 'node:fs';\nexport { nope };\n" },
    module: 'a.js', message: /imports nope from node:fs, which does not export it/ },
  { title: 'a name export * made ambiguous', files: { 'a.js': "import { dup } from './s.js';\nexport { dup };\n", 's.js': "export * from './s1.js';\nexport * from './s2.js';\n", 's1.js': 'export const dup = 1;\n', 's2.js': 'export const dup = 2;\n' },
    module: 'a.js', message: /ambiguous/ },
  { title: 'export * from a built-in', files: { 'a.js': "export * from 'node:path';\n" },
    module: 'a.js', message: /export \* from node:path/ },
  { title: 'createRequire', files: { 'a.js': "import { createRequire } from 'node:module';\nexport const r = createRequire(import.meta.url);\n" },
    module: 'a.js', message: /createRequire/ },
  { title: 'a name the bundler reserves', files: { 'a.js': 'const __ringlet$x = 1;\nexport { __ringlet$x as x };\n' },
    module: 'a.js', message: /reserved by the bundler/ },
  { title: 'an unknown export form', files: { 'a.js': 'export enum E {}\n' },
    module: 'a.js', message: /export enum: an import\/export form the bundler does not handle/ },
  { title: 'a CommonJS module', files: { 'a.js': "import './b.cjs';\n", 'b.cjs': 'module.exports = 1;\n' },
    module: 'a.js', message: /only \.js\/\.mjs modules/ },
];

t.test('refused forms fail with one line naming the module', async (t) => {
  for (const c of REFUSED) {
    const dir = graph(t, c.files);
    try {
      await build(dir);
      t.fail(`${c.title}: was bundled`);
    } catch (err) {
      t.ok(err instanceof BundleError, `${c.title}: BundleError`);
      const message = (err as Error).message;
      t.ok(message.startsWith(`${c.module}: `), `${c.title}: names ${c.module} (${message})`);
      t.match(message, c.message, `${c.title}: says why`);
      t.notOk(message.includes('\n'), `${c.title}: one line`);
    }
  }
});

t.test('the build step: exit 1 and one line on a refusal, nothing written; exit 0 and an executable bundle otherwise', (t) => {
  const dir = graph(t, {
    'a.js': "import { b } from './b.js';\nexport const a = b;\n",
    'b.js': "import { a } from './a.js';\nexport const b = 1;\n",
    'ok.js': 'export const ok = 1;\n',
    'main.js': "import { ok } from './ok.js';\nprocess.stdout.write(String(ok));\n",
  });
  const out = join(dir, 'dist', 'x.js');
  mkdirSync(join(dir, 'dist'));
  const refused = spawnSync(process.execPath, [BUILD_MAIN, '--entry', join(dir, 'a.js'), '--out', out], { encoding: 'utf8' });
  t.equal(refused.status, 1);
  t.match(refused.stderr, /^bundle: \.\.\/a\.js: value-import cycle \.\.\/a\.js → \.\.\/b\.js → \.\.\/a\.js: .*\n$/, 'names the modules relative to the output');
  t.equal(refused.stderr.split('\n').length, 2);
  t.notOk(existsSync(out), 'no output');
  const ok = spawnSync(process.execPath, [BUILD_MAIN, '--entry', join(dir, 'ok.js'), '--main', join(dir, 'main.js'), '--out', out], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);
  t.ok(statSync(out).mode & 0o100, 'executable');
  const direct = spawnSync(out, [], { encoding: 'utf8' });
  t.equal(direct.stdout, '1', 'runs by its shebang');
  t.match(readFileSync(out, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  t.end();
});

t.test('tokenizer: depth and token kinds on tricky input', (t) => {
  const tokens = tokenize('a = `x${ {b: `y${c}`} }z` / 2; r = /[/]}/g.test(s) ? 1 : 2;', 'inline');
  t.same(tokens.filter((x) => x.type === 'template').map((x) => x.value), ['`x${', '`y${', '}`', '}z`']);
  t.same(tokens.filter((x) => x.type === 'regex').map((x) => x.value), ['/[/]}/g']);
  t.equal(tokens.at(-1)?.depth, 0, 'balanced');
  t.throws(() => tokenize('const s = "unterminated;\n', 'x.js'), /^x\.js: unterminated string \(line 1\)/);
  t.throws(() => tokenize('f(]', 'x.js'), /^x\.js: unbalanced \]/);
  t.end();
});
