/**
 * Every benchmark, each in its own process (so one's heap, JIT state and GC cannot skew
 * another's), then bench/results/summary.md: date, Node, machine, how each bench exited,
 * and each bench's own latest markdown. The soak test is separate (npm run bench:soak).
 * Exits 1 when any bench failed (e.g. a profile's peak RSS over its budget).
 *
 * Run: npm run bench
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, resultsDir, runBench } from './harness/index.js';
import { describeMachine, machine } from './report/machine.js';

interface Bench {
  name: string;
  script: string;
  nodeArgs: string[];
  /** Result files' prefix in bench/results. */
  results: string;
}

const BENCHES: Bench[] = [
  { name: 'store', script: 'store.js', nodeArgs: ['--expose-gc'], results: 'store' },
  { name: 'codecs', script: 'codecs.js', nodeArgs: [], results: 'codecs' },
  { name: 'http', script: 'http.js', nodeArgs: [], results: 'http' },
  { name: 'proxy', script: 'proxy.js', nodeArgs: [], results: 'proxy' },
  { name: 'memory', script: 'memory.js', nodeArgs: [], results: 'memory' },
  { name: 'startup', script: 'startup.js', nodeArgs: [], results: 'startup' },
  { name: 'footprint', script: 'footprint.js', nodeArgs: [], results: 'footprint' },
  { name: 'login', script: 'login.js', nodeArgs: [], results: 'login' },
  { name: 'shared-state', script: 'shared-state.js', nodeArgs: [], results: 'shared-state' },
];

interface Outcome {
  bench: Bench;
  exitCode: number;
  seconds: number;
}

function runChild(bench: Bench): Promise<Outcome> {
  const script = fileURLToPath(new URL(`./${bench.script}`, import.meta.url));
  const started = performance.now();
  if (!existsSync(script)) return Promise.resolve({ bench, exitCode: 127, seconds: 0 });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...bench.nodeArgs, script], { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve({ bench, exitCode: code ?? (signal ? 128 : 1), seconds: (performance.now() - started) / 1000 }));
  });
}

function section(bench: Bench): string {
  const path = join(resultsDir(), `${bench.results}-latest.md`);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : `_No ${bench.results}-latest.md was written._`;
}

async function main(): Promise<number> {
  const outcomes: Outcome[] = [];
  for (const bench of BENCHES) {
    if (process.stderr.isTTY) process.stderr.write(`\n== bench ${bench.name}\n`);
    outcomes.push(await runChild(bench));
  }
  const m = machine();
  const summary = [
    '# ringlet benchmark summary',
    '',
    `Date: ${m.date}. Node ${m.node} (V8 ${m.v8}), ${m.platform}/${m.arch}. Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM.`,
    `(${describeMachine(m)})`,
    '',
    markdownTable(['bench', 'exit', 'seconds', 'results'], outcomes.map((o) => [
      o.bench.name, o.exitCode === 0 ? '0 (ok)' : o.exitCode === 127 ? 'missing' : `${o.exitCode} (FAILED)`, o.seconds.toFixed(0), `${o.bench.results}-latest.md/.json`,
    ])),
    '',
    ...BENCHES.flatMap((b) => [`## ${b.name}`, '', section(b), '']),
  ].join('\n');
  const path = join(resultsDir(), 'summary.md');
  writeFileSync(`${path}.tmp`, summary);
  renameSync(`${path}.tmp`, path);
  process.stdout.write(`\nwrote ${path}\n`);
  return outcomes.every((o) => o.exitCode === 0) ? 0 : 1;
}

runBench('all', main);
