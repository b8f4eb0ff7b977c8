/**
 * The README's deployment recipes, as the tests read them. Each recipe is the fenced block
 * right after a `<!-- recipe: NAME -->` line, so what a reader copies is what the tests run.
 * A test that has to change a recipe to run it here (ports, paths) does so with `adapt`,
 * which fails when the recipe no longer contains what the test replaces: the README and the
 * tests cannot drift apart silently.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository's root (tests run from dist/test/...). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const README_PATH = `${REPO_ROOT}README.md`;

const MARKER_RE = /^<!-- recipe: ([a-z0-9-]+) -->\n```[a-z]*\n([\s\S]*?)^```$/gm;

/** Every recipe in the README by name, in order. A name used twice is an error. */
export function readmeRecipes(readme = readFileSync(README_PATH, 'utf8')): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(MARKER_RE)) {
    const name = m[1] as string;
    if (out.has(name)) throw new Error(`README: recipe "${name}" appears twice`);
    out.set(name, m[2] as string);
  }
  return out;
}

/** One recipe's text (without the fences); throws when the README has no such recipe. */
export function readmeRecipe(name: string): string {
  const text = readmeRecipes().get(name);
  if (text === undefined) throw new Error(`README: no block marked <!-- recipe: ${name} -->`);
  return text;
}

/**
 * `text` with each `[from, to]` applied (every occurrence). Throws when a `from` does not
 * occur: the recipe changed, and the test must be told how to run the new one.
 */
export function adapt(text: string, replacements: ReadonlyArray<readonly [string, string]>): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`recipe no longer contains ${JSON.stringify(from)}:\n${text}`);
    out = out.split(from).join(to);
  }
  return out;
}

/**
 * A shell command line from a recipe as argv: `\` line continuations joined, comments
 * dropped. Only plain words are accepted (no quotes, variables or globs), so splitting on
 * spaces is exactly what a shell would do with them.
 */
export function commandWords(line: string): string[] {
  const joined = line.replace(/\\\n/g, ' ').replace(/(^|\s)#.*$/gm, '').trim();
  if (/["'`$*?;&|<>(){}]/.test(joined)) throw new Error(`not a plain command: ${joined}`);
  return joined.split(/\s+/).filter(Boolean);
}

/** The lines of a shell recipe that start with `prefix` (continuations joined), as argv. */
export function commandsStartingWith(recipe: string, prefix: string): string[][] {
  const logical = recipe.replace(/\\\n\s*/g, ' ').split('\n');
  return logical.filter((l) => l.trimStart().startsWith(prefix)).map((l) => commandWords(l));
}
