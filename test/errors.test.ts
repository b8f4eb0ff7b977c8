import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, RingletError } from '../src/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

t.test('ConfigError names the field and is a TypeError', (t) => {
  const err = new ConfigError('capacity', 'must be an integer from 1 to 1048576');
  t.ok(err instanceof TypeError);
  t.equal(err.field, 'capacity');
  t.equal(err.code, 'ERR_CONFIG');
  t.equal(err.message, 'capacity: must be an integer from 1 to 1048576');
  t.end();
});

t.test('RingletError carries a stable code', (t) => {
  const err = new RingletError('ERR_TOKEN_MALFORMED', 'malformed token');
  t.equal(err.code, 'ERR_TOKEN_MALFORMED');
  t.equal(err.name, 'RingletError');
  t.end();
});

/** Every .ts file under `dir` (relative to the repository), with its text. */
function sources(dir: string): Array<[string, string]> {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry): Array<[string, string]> => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [[path, readFileSync(join(root, path), 'utf8')]] : [];
  });
}

/** The codes of the RingletErrorCode union, in source order. */
function declaredCodes(): string[] {
  const text = readFileSync(join(root, 'src/errors.ts'), 'utf8');
  // Up to the first code followed by `;` (comments in the union may hold semicolons).
  const union = /export type RingletErrorCode =([\s\S]*?'ERR_[A-Z0-9_]+');/.exec(text)?.[1] ?? '';
  return [...union.matchAll(/\|\s*'(ERR_[A-Z0-9_]+)'/g)].map((m) => m[1]!);
}

t.test('every declared code is thrown by the product, asserted by a test and listed in the README', (t) => {
  const codes = declaredCodes();
  t.ok(codes.length >= 20, `${codes.length} codes parsed from src/errors.ts`);
  t.equal(new Set(codes).size, codes.length, 'no code declared twice');
  const product = sources('src').filter(([path]) => path !== join('src', 'errors.ts'));
  const tests = sources('test').filter(([path]) => path !== join('test', 'errors.test.ts'));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const listed = [...readme.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
  for (const code of codes) {
    // Raised: the literal stands on a line that builds the error (`new RingletError(`, `joseFailure(`, `super(`).
    const raises = new RegExp(`(RingletError|joseFailure|super)\\(.*'${code}'`);
    const thrower = product.find(([, text]) => text.split('\n').some((line) => raises.test(line)));
    t.ok(thrower, `${code} is raised in src/${thrower ? ` (${thrower[0]})` : ': nothing produces it'}`);
    t.ok(tests.some(([, text]) => text.includes(`'${code}'`)), `${code} is asserted by a test`);
  }
  t.strictSame(listed, codes, 'README "Error codes" lists exactly the declared codes, in the same order');
  t.end();
});
