/**
 * Footprint of the shipped bundle (dist/ringlet.js) side by side with tsc's many-module
 * build of the same CLI (dist/src/cli/main.js) and a bare node:http server: per device
 * profile, time from spawn to the first 200 on GET /healthz, idle RSS one second later,
 * where the resident pages are (/proc/<pid>/smaps by kind of mapping) and V8's heap in use
 * (ringlet's /metrics). The three take turns, rotated each run; medians are reported.
 * All run with the profile's Node flags in the documented launch environment
 * (MALLOC_MMAP_THRESHOLD_), on a users file created by a first start that is not measured.
 *
 * It also prints the idle runtime (the largest idle RSS of the bundle minus the profile's
 * store, over the profiles measured) next to the footprint model's runtime baseline
 * (src/config/footprint.ts RUNTIME_BASELINE_BYTES). Idle is a floor: under load the node
 * executable's GC and JIT pages come in and the heap grows (bench/memory.ts measures that).
 *
 * Run: npm run bench:footprint. Environment: BENCH_PROFILES (comma list, default all),
 * BENCH_FOOTPRINT_RUNS (7).
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile } from '../src/config/profile.js';
import { RUNTIME_BASELINE_BYTES, computeFootprint } from '../src/config/footprint.js';
import { benchProfiles, formatNumber, markdownTable, median, runBench, writeResults } from './harness/index.js';
import { sendRequest } from '../test/support/http.js';
import { LAUNCH_ENV, LAUNCH_MMAP_THRESHOLD, readRss, RINGLET_MODULES_CLI, spawnServer, type SpawnSpec } from './load/processes.js';
import { describeMachine, machine } from './report/machine.js';
import { MiB, mib, progress } from './report/progress.js';

const RUNS = Number(process.env['BENCH_FOOTPRINT_RUNS'] ?? 7);
const IDLE_WAIT_MS = 1000;
const IDLE_SAMPLES = 5;
const IDLE_SAMPLE_MS = 100;
/** Targets use decimal megabytes (as bench/memory.ts). */
const MB = 1_000_000;
const IDLE_ALLOWANCE_BYTES = 4 * MB;
const STARTUP_TARGET_RATIO = 1.3;

const KINDS = ['bundle', 'modules', 'bare'] as const;
type Kind = (typeof KINDS)[number];
const CATEGORIES = ['anonymous', 'brk heap', 'node binary', 'shared libraries', 'other'] as const;
type Category = (typeof CATEGORIES)[number];

interface Run {
  startupMs: number;
  idleRssBytes: number;
  /** Resident bytes by kind of mapping. */
  smaps: Record<Category, number>;
  /** V8 heap in use (ringlet's /metrics); undefined for the bare server. */
  heapUsedBytes: number | undefined;
}

interface ProfileResult {
  profile: string;
  nodeFlags: string[];
  storeBytes: number;
  runs: Record<Kind, Run[]>;
  medians: Record<Kind, { startupMs: number; idleRssBytes: number; smaps: Record<Category, number>; heapUsedBytes: number | undefined }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NODE_BINARY = realpathSync(process.execPath);

/** Resident bytes of a process by kind of mapping, from /proc/<pid>/smaps (Linux). */
export function residentByMapping(pid: number): Record<Category, number> {
  const out: Record<Category, number> = { 'anonymous': 0, 'brk heap': 0, 'node binary': 0, 'shared libraries': 0, 'other': 0 };
  let category: Category = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      const path = header[1] ?? '';
      category = path === '' ? 'anonymous' : path === '[heap]' ? 'brk heap' : path === NODE_BINARY ? 'node binary' : path.startsWith('/') ? 'shared libraries' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[category] += Number(rss[1]) * 1024;
  }
  return out;
}

async function measureOnce(kind: Kind, spec: SpawnSpec): Promise<Run> {
  const server = await spawnServer(spec);
  try {
    const startupMs = await server.waitReady('/healthz');
    await sleep(IDLE_WAIT_MS);
    const samples: number[] = [];
    for (let i = 0; i < IDLE_SAMPLES; i++) {
      samples.push(readRss(server.pid)?.rssBytes ?? NaN);
      await sleep(IDLE_SAMPLE_MS);
    }
    const smaps = residentByMapping(server.pid);
    let heapUsedBytes: number | undefined;
    if (kind !== 'bare') {
      const m = /^ringlet_process_heap_used_bytes (\S+)$/m.exec((await sendRequest(server.port, 'GET', '/metrics')).text);
      heapUsedBytes = m === null ? undefined : Number(m[1]);
    }
    return { startupMs, idleRssBytes: median(samples), smaps, heapUsedBytes };
  } finally {
    await server.stop();
  }
}

async function runProfile(name: string): Promise<ProfileResult> {
  const profile = loadProfile(name);
  const storeBytes = computeFootprint(profile).storeBytes;
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-footprint-'));
  try {
    const ringletArgs = ['--profile', name, '--users', 'users.json', '--log-level', 'warn'];
    const specs: Record<Kind, SpawnSpec> = {
      bundle: { kind: 'ringlet', nodeFlags: profile.nodeFlags, args: ringletArgs, dir, env: LAUNCH_ENV },
      modules: { kind: 'ringlet', script: RINGLET_MODULES_CLI, nodeFlags: profile.nodeFlags, args: ringletArgs, dir, env: LAUNCH_ENV },
      bare: { kind: 'baseline', nodeFlags: profile.nodeFlags, env: LAUNCH_ENV },
    };
    const first = await spawnServer(specs.bundle); // creates users.json at the profile's scrypt cost
    await first.waitReady();
    await first.stop();
    const runs: Record<Kind, Run[]> = { bundle: [], modules: [], bare: [] };
    for (let run = 0; run < RUNS; run++) {
      for (let i = 0; i < KINDS.length; i++) {
        const kind = KINDS[(i + run) % KINDS.length] as Kind;
        runs[kind].push(await measureOnce(kind, specs[kind]));
      }
      progress(`${name} run ${run + 1}/${RUNS}: ${KINDS.map((k) => `${k} ${mib(runs[k].at(-1)!.idleRssBytes)} MiB ${runs[k].at(-1)!.startupMs.toFixed(0)} ms`).join(', ')}`);
    }
    const medianOf = (list: Run[]) => ({
      startupMs: median(list.map((r) => r.startupMs)),
      idleRssBytes: median(list.map((r) => r.idleRssBytes)),
      smaps: Object.fromEntries(CATEGORIES.map((c) => [c, median(list.map((r) => r.smaps[c]))])) as Record<Category, number>,
      heapUsedBytes: list[0]?.heapUsedBytes === undefined ? undefined : median(list.map((r) => r.heapUsedBytes ?? NaN)),
    });
    return { profile: name, nodeFlags: profile.nodeFlags, storeBytes, runs, medians: { bundle: medianOf(runs.bundle), modules: medianOf(runs.modules), bare: medianOf(runs.bare) } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function render(results: ProfileResult[]): string {
  const m = machine();
  const delta = (a: number, b: number) => `${a >= b ? '+' : ''}${((a - b) / MiB).toFixed(1)}`;
  const idle = markdownTable(
    ['profile', 'Node flags', 'store', 'bundle idle', 'modules idle', 'bare idle', 'bundle − modules', 'bundle − bare', 'idle ≤ bare + store + 4 MB',
      'bundle ms', 'modules ms', 'bare ms', `bundle / bare (≤ ${STARTUP_TARGET_RATIO}×)`, 'modules / bare'],
    results.map((r) => {
      const b = r.medians.bundle;
      const mo = r.medians.modules;
      const bare = r.medians.bare;
      const allowance = bare.idleRssBytes + r.storeBytes + IDLE_ALLOWANCE_BYTES;
      return [
        r.profile, r.nodeFlags.join(' ') || '-', mib(r.storeBytes, 2), mib(b.idleRssBytes), mib(mo.idleRssBytes), mib(bare.idleRssBytes),
        delta(b.idleRssBytes, mo.idleRssBytes), delta(b.idleRssBytes, bare.idleRssBytes),
        `${b.idleRssBytes <= allowance ? 'yes' : 'NO'} (${((b.idleRssBytes - allowance) / MB >= 0 ? '+' : '')}${((b.idleRssBytes - allowance) / MB).toFixed(1)} MB)`,
        formatNumber(b.startupMs, 1), formatNumber(mo.startupMs, 1), formatNumber(bare.startupMs, 1),
        `${(b.startupMs / bare.startupMs).toFixed(2)}× ${b.startupMs / bare.startupMs <= STARTUP_TARGET_RATIO ? 'yes' : 'NO'}`, `${(mo.startupMs / bare.startupMs).toFixed(2)}×`,
      ];
    }),
  );
  const where = markdownTable(
    ['profile', 'server', ...CATEGORIES, 'total (smaps)', 'V8 heap used'],
    results.flatMap((r) => KINDS.map((k) => {
      const s = r.medians[k].smaps;
      return [r.profile, k, ...CATEGORIES.map((c) => mib(s[c])), mib(CATEGORIES.reduce((sum, c) => sum + s[c], 0)), r.medians[k].heapUsedBytes === undefined ? '-' : mib(r.medians[k].heapUsedBytes!)];
    })),
  );
  const runtime = results.map((r) => ({ profile: r.profile, bytes: r.medians.bundle.idleRssBytes - r.storeBytes })).sort((a, b) => b.bytes - a.bytes)[0];
  return [
    '### Footprint: the bundle vs the many-module build vs bare node:http',
    '',
    `${describeMachine(m)}. Median of ${RUNS} runs per server and profile, taking turns (rotated each run). Each server runs with the profile's Node flags and MALLOC_MMAP_THRESHOLD_=${LAUNCH_MMAP_THRESHOLD}; `
    + `startup = spawn to the first 200 on GET /healthz (polled every 2 ms); idle RSS = median of ${IDLE_SAMPLES} VmRSS samples ${IDLE_WAIT_MS} ms after that. MiB unless marked; targets in decimal MB.`,
    '"bundle" is dist/ringlet.js (what ships), "modules" tsc\'s output of the same CLI (dist/src/cli/main.js, ~100 ES modules).',
    '',
    idle,
    '',
    'Where the resident pages are (/proc/<pid>/smaps, Rss by mapping, MiB): anonymous = V8 heap pages, mmap\'d malloc chunks and thread stacks; brk heap = glibc\'s main arena; node binary = pages of the node executable touched (code and read-only data).',
    '',
    where,
    '',
    runtime === undefined ? '' : `Idle runtime: the largest bundle idle RSS minus its store is ${mib(runtime.bytes)} MiB (${runtime.profile}); src/config/footprint.ts uses ${mib(RUNTIME_BASELINE_BYTES)} MiB as its runtime baseline. `
      + 'Under load the runtime is larger (the GC and JIT pages of the node executable, a grown heap): the memory bench\'s peak minus the footprint\'s other parts is the figure that bounds the budget check.',
  ].join('\n');
}

async function main(): Promise<number> {
  const results: ProfileResult[] = [];
  for (const name of benchProfiles()) results.push(await runProfile(name));
  const markdown = render(results);
  writeResults('footprint', { machine: machine(), runs: RUNS, launchEnv: LAUNCH_ENV, runtimeBaselineBytes: RUNTIME_BASELINE_BYTES, results }, markdown);
  process.stdout.write(`${markdown}\n`);
  return 0;
}

runBench('footprint', main);
