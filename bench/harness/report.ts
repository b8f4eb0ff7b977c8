/** Markdown tables and result files (bench/results/<name>-latest.json + .md). */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function markdownTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const line = (cells: ReadonlyArray<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function formatNumber(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(value);
}

/** bench/results, found from this compiled file (dist/bench/harness) or the source tree. */
export function resultsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${join('dist', 'bench')}`) ? join(here, '..', '..', '..') : join(here, '..', '..');
  return join(root, 'bench', 'results');
}

/** Write `<name>-latest.json` and `.md` atomically (tmp + rename); returns the paths. */
export function writeResults(name: string, json: unknown, markdown: string): string[] {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    [join(dir, `${name}-latest.json`), `${JSON.stringify(json, null, 2)}\n`],
    [join(dir, `${name}-latest.md`), `${markdown}\n`],
  ];
  for (const [path, text] of files) {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return files.map(([path]) => path);
}

/** Node, V8 and machine facts that make a result interpretable. */
export function environment(): Record<string, string | number> {
  return {
    node: process.version, v8: process.versions.v8, platform: process.platform, arch: process.arch,
    date: new Date().toISOString(),
  };
}
