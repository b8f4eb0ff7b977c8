/**
 * The README's recipes are all under test: every fenced block in "Deployment recipes" is
 * marked, every marked recipe is read by some test, and the README's test commands work on
 * a fresh install (they go through `npm test`, which runs `tap build` first).
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { README_PATH, REPO_ROOT, readmeRecipes } from '../support/readme.js';

const readme = readFileSync(README_PATH, 'utf8');
const TEST_DIR = fileURLToPath(new URL('../', import.meta.url));

function compiledTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? compiledTests(path) : path.endsWith('.js') ? [path] : [];
  });
}

t.test('every block in Deployment recipes is a marked recipe', (t) => {
  const section = readme.slice(readme.indexOf('## Deployment recipes'), readme.indexOf('\n## ', readme.indexOf('## Deployment recipes') + 1));
  t.ok(section.length > 1000, 'the section exists');
  let opening = true;
  const unmarked: string[] = [];
  for (const m of section.matchAll(/^(.*)\n```([a-z]*)$/gm)) {
    if (opening && !/^<!-- recipe: [a-z0-9-]+ -->$/.test(m[1] as string)) unmarked.push(`after "${m[1]}"`);
    opening = !opening;
  }
  t.same(unmarked, [], 'no fenced block without a <!-- recipe: NAME --> line before it');
  t.end();
});

t.test('every recipe is read by a test', (t) => {
  const sources = compiledTests(TEST_DIR)
    .filter((p) => !p.endsWith('readme-recipes.test.js') && !p.endsWith(join('support', 'readme.js')))
    .map((p) => readFileSync(p, 'utf8'));
  const names = [...readmeRecipes(readme).keys()];
  t.ok(names.length >= 15, `${names.length} recipes`);
  for (const name of names) {
    t.ok(sources.some((src) => src.includes(`'${name}'`)), `recipe "${name}" is used by a test`);
  }
  t.end();
});

t.test('the README runs tests through npm test, which builds tap\'s plugins first', (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['test'] as string;
  t.match(script, /tap build && tap$/, 'npm test ends with `tap`, so `npm test -- FILES` hands FILES to tap, after `tap build`');
  t.notMatch(readme, /npx tap /, 'no bare `npx tap` (fails on the first run after npm ci, before `tap build`)');
  t.match(readme, /`npm test -- dist\/test\/browser\/\*\.test\.js`/, 'the one-area command');
  t.end();
});
