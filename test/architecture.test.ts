/**
 * The layers of src/: every relative import is checked against the README's Architecture
 * table, and the table against the folders that exist. A lower layer importing a higher one
 * (the session layer reaching into src/server, say) fails here with the file named.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');

/** `| \`layer/\` | what | may import |` rows of the README's Architecture section. */
function readmeTable(): Map<string, Set<string> | 'anything'> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Architecture'), readme.indexOf('## The RAM store'));
  const rows = new Map<string, Set<string> | 'anything'>();
  const all = [...section.matchAll(/^\| `([a-z-]+)(?:\/|\.ts)` \|/gm)].map((m) => m[1] as string);
  for (const m of section.matchAll(/^\| `([a-z-]+)(?:\/|\.ts)` \| [^|]+ \| ([^|]+) \|$/gm)) {
    const layer = m[1] as string;
    const allowed = (m[2] as string).trim();
    if (allowed === 'anything') {
      rows.set(layer, 'anything');
      continue;
    }
    const set = new Set<string>();
    if (allowed.startsWith('every layer above')) {
      for (const other of all.slice(0, all.indexOf(layer))) if (other !== 'build') set.add(other);
      if (allowed.includes('but library')) set.delete('library');
      if (allowed.includes('and server')) set.add('server');
    } else if (allowed !== '—') {
      for (const name of allowed.split(',')) set.add(name.trim());
    }
    rows.set(layer, set);
  }
  return rows;
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length === 1 ? (rel[0] as string).replace(/\.[jt]s$/, '') : (rel[0] as string);
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT_RegExp = /^(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm;

t.test('every import in src/ follows the README\'s layer table', async (t) => {
  const table = readmeTable();
  const layers = new Set(readdirSync(SRC).map((name) => name.replace(/\.ts$/, '')));
  t.same([...layers].filter((l) => !table.has(l)).sort(), [], 'every folder of src/ is in the table');
  t.same([...table.keys()].filter((l) => !layers.has(l)).sort(), [], 'every row of the table exists in src/');
  const violations: string[] = [];
  for (const file of sources(SRC)) {
    const from = layerOf(file);
    const allowed = table.get(from);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RegExp)) {
      const to = layerOf(join(dirname(file), m[1] as string));
      if (to === from || allowed === 'anything') continue;
      if (allowed === undefined || !allowed.has(to)) violations.push(`${relative(ROOT, file)} imports ${to} (${m[1]})`);
    }
  }
  t.same(violations, [], 'no import crosses the layers the table allows');
});
