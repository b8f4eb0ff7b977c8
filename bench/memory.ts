/**
 * Memory under load, per device profile: ringlet started through its CLI with the
 * profile's Node flags, RSS sampled from /proc/<pid>/status every 100 ms while it serves
 * authenticated traffic, real-cost password hashing and a login flood of at least ten
 * times its capacity; the same traffic against a bare node:http server with the same flags
 * is the reference. Peak RSS is the kernel's own high-water mark (VmHWM), not a sample.
 *
 * Phases (both servers): idle (1 s, median of 5 samples) → saturate (wrk on GET /auth with
 * nearly the profile's maxConnections, while `hashConcurrency` clients sign in as admin at
 * the profile's scrypt cost: the hashing bound's memory is in the peak) → flood (JSON logins
 * round-robin over many users at a labelled bench-only scrypt cost, paced background
 * GET /auth at 500 req/s; paused for 1 s at 1× capacity and at the end to read RSS).
 *
 * Fails (exit 1) when a profile's peak RSS exceeds its memoryBudgetBytes.
 * Run: npm run bench:memory. Environment: BENCH_PROFILES (comma list, default all),
 * BENCH_FLOOD_MAX_SECONDS (time cap on each flood, default 240; reported when it binds),
 * BENCH_MALLOC_MMAP_THRESHOLD (bytes: passed to both servers as glibc's
 * MALLOC_MMAP_THRESHOLD_; results then go to memory-mmap-threshold-latest.*),
 * BENCH_RINGLET_BUILD=modules (tsc's many-module output instead of the bundle, for a
 * before/after comparison; results go to memory-modules-latest.*), BENCH_WITHOUT_NODE_FLAGS
 * (comma list of Node flags to leave out, e.g. --lite-mode).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile } from '../src/config/profile.js';
import type { DeviceProfile } from '../src/config/profile-schema.js';
import { computeFootprint } from '../src/config/footprint.js';
import { benchProfiles, markdownTable, median, resultsDir, runBench, writeResults } from './harness/index.js';
import { startBackground, type BackgroundTotals } from './load/background.js';
import { signIn } from './load/client.js';
import { sendRequest } from '../test/support/http.js';
import { LoginFlood, type FloodTotals } from './load/flood.js';
import { LAUNCH_MMAP_THRESHOLD, RINGLET_BUILD, readRss, spawnServer, type ServerProcess } from './load/processes.js';
import { defaultTool, runLoad } from './load/run.js';
import type { LoadResult } from './load/types.js';
import { ADMIN_PASSWORD, BENCH_COST_FLAGS, BENCH_SCRYPT_COST, dropRealCostHash, FLOOD_PASSWORD, floodUserCount, writeUsersFixture } from './load/users-fixture.js';
import { describeMachine, machine } from './report/machine.js';
import { MiB, mib, progress } from './report/progress.js';
import { lineChartSvg, type Panel } from './report/svg.js';

const SAMPLE_MS = 100;
const SATURATE_MS = 5000;
const BACKGROUND_RATE = 500;
const BACKGROUND_CONNECTIONS = 4;
/** The cookie profile has capacity 1: a flood of 10 logins would prove nothing. */
const MIN_FLOOD_LOGINS = 2000;
/** The 1× checkpoint comes after at least this many logins, for the same reason. */
const MIN_CHECKPOINT_LOGINS = 200;
/** Targets use decimal megabytes (stricter than MiB). */
const MB = 1_000_000;
const FLAT_TOLERANCE_BYTES = 2 * MB;
const IDLE_ALLOWANCE_BYTES = 4 * MB;
const FLOOD_MAX_SECONDS = Number(process.env['BENCH_FLOOD_MAX_SECONDS'] ?? 240);
/**
 * Servers start the way the README documents (`npm start`, the systemd unit): with glibc's
 * mmap threshold fixed, so freed scrypt blocks go back to the OS. BENCH_MALLOC_MMAP_THRESHOLD=
 * (empty) runs glibc's defaults instead, written to memory-default-malloc-latest.*.
 */
const MMAP_THRESHOLD = process.env['BENCH_MALLOC_MMAP_THRESHOLD'] ?? LAUNCH_MMAP_THRESHOLD;
/** Extra environment for both servers. */
const SERVER_ENV: Record<string, string> = MMAP_THRESHOLD === '' ? {} : { MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD };
/**
 * Node flags left out of every profile's list (both servers), e.g. `--lite-mode`: to report a
 * profile with and without a flag it carries; results then go to memory-without-<flags>-latest.*.
 */
const WITHOUT_FLAGS = (process.env['BENCH_WITHOUT_NODE_FLAGS'] ?? '').split(',').filter(Boolean);
const withoutSuffix = WITHOUT_FLAGS.length === 0 ? '' : `-without${WITHOUT_FLAGS.map((f) => `-${f.replace(/^-+/, '').replace(/[^a-z0-9-]/gi, '_')}`).join('')}`;
const RESULTS_NAME = `${MMAP_THRESHOLD === '' ? 'memory-default-malloc' : 'memory'}${RINGLET_BUILD === 'modules' ? '-modules' : ''}${withoutSuffix}`;
const nodeFlagsOf = (profile: DeviceProfile): string[] => profile.nodeFlags.filter((f) => !WITHOUT_FLAGS.includes(f));

type Kind = 'ringlet' | 'bare';

interface Checkpoint {
  logins: number;
  rssBytes: number;
}

interface TargetRun {
  kind: Kind;
  idleRssBytes: number;
  peakRssBytes: number;
  afterCapacity: Checkpoint;
  afterFlood: Checkpoint;
  floodSeconds: number;
  flood: FloodTotals;
  background: BackgroundTotals;
  saturate: LoadResult;
  adminLogins: { ok: number; other: number };
  /** ringlet: the background reader's session survived the flood (it is the most recently used). */
  readerSignedInAfter: boolean | undefined;
  metrics: Record<string, number>;
  /** [seconds since the first sample, RSS bytes]. */
  samples: Array<[number, number]>;
}

interface ProfileResult {
  profile: string;
  mode: string;
  capacity: number;
  maxSessionsPerUser: number;
  floodUsers: number;
  floodTarget: number;
  /** The time cap ended ringlet's flood before floodTarget. */
  floodCapped: boolean;
  firstCheckpointLogins: number;
  budgetBytes: number;
  storeBytes: number;
  footprintBytes: number;
  nodeFlags: string[];
  ringlet: TargetRun;
  bare: TargetRun;
  targets: { peakUnderBudget: boolean; flatAfterFlood: boolean; idleWithinAllowance: boolean };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Sampler {
  readonly samples: Array<[number, number]> = [];
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.#timer = setInterval(() => this.take(), SAMPLE_MS);
    this.take();
  }

  take(): void {
    const s = readRss(this.pid);
    if (s !== undefined) this.samples.push([(performance.now() - this.#started) / 1000, s.rssBytes]);
  }

  /** Median RSS of the samples taken in the last `ms`. */
  recentMedian(ms: number): number {
    const since = (performance.now() - this.#started - ms) / 1000;
    return median(this.samples.filter(([t]) => t >= since).map(([, b]) => b));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of ['ringlet_sessions_active', 'ringlet_sessions_evicted_total', 'ringlet_sessions_created_total', 'ringlet_process_heap_used_bytes', 'ringlet_process_resident_memory_bytes', 'ringlet_password_hashes_rejected_total', 'ringlet_revocation_entries']) {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (m) out[name] = Number(m[1]);
  }
  return out;
}

async function runTarget(kind: Kind, profile: DeviceProfile, dir: string, floodUsers: string[], floodTarget: number, checkpointLogins: number): Promise<TargetRun> {
  const server: ServerProcess = await spawnServer(kind === 'ringlet'
    // The load is one address standing in for many clients: the per-address cap is lifted to the global limit.
    ? { kind, nodeFlags: nodeFlagsOf(profile), args: ['--profile', profile.name, '--users', 'users.json', '--log-level', 'warn', '--max-connections-per-address', String(profile.maxConnections), ...BENCH_COST_FLAGS], dir, env: SERVER_ENV }
    : { kind: 'baseline', nodeFlags: nodeFlagsOf(profile), env: SERVER_ENV });
  try {
    await server.waitReady();
    const sampler = new Sampler(server.pid);
    await sleep(1000);
    const idleRssBytes = sampler.recentMedian(500);
    const cookie = kind === 'ringlet' ? (await signIn(server.origin, 'reader', FLOOD_PASSWORD)).cookie : 'ringlet=bench-reference';
    const authUrl = `${server.origin}/auth`;
    const hashClients = profile.hashConcurrency;
    const floodConcurrency = profile.hashConcurrency + 2;

    progress(`${profile.name} ${kind}: saturate`);
    const saturateConnections = Math.max(1, profile.maxConnections - floodConcurrency - BACKGROUND_CONNECTIONS - hashClients);
    const adminLogins = { ok: 0, other: 0 };
    const saturating = runLoad({ url: authUrl, headers: { Cookie: cookie }, connections: saturateConnections, durationMs: SATURATE_MS }, { tool: defaultTool() });
    const until = performance.now() + SATURATE_MS - 500;
    await Promise.all(Array.from({ length: hashClients }, async () => {
      while (performance.now() < until) {
        const r = await sendRequest(server.port, 'POST', '/login', { json: { username: 'admin', password: ADMIN_PASSWORD } });
        if (r.status === 200) adminLogins.ok++;
        else adminLogins.other++;
      }
    }));
    const saturate = await saturating;
    if (kind === 'ringlet') {
      // Every attempt hashes each distinct stored cost: with admin's real-cost hash gone,
      // the flood hashes the bench cost only.
      await dropRealCostHash(join(dir, 'users.json'));
      server.child.kill('SIGHUP');
      await sleep(300);
    }

    progress(`${profile.name} ${kind}: flood of ${floodTarget} logins`);
    const background = startBackground({ url: authUrl, headers: { Cookie: cookie }, connections: BACKGROUND_CONNECTIONS, ratePerSec: BACKGROUND_RATE });
    const flood = new LoginFlood(server.port, floodUsers, FLOOD_PASSWORD, floodConcurrency);
    const floodStarted = performance.now();
    const floodDeadline = floodStarted + FLOOD_MAX_SECONDS * 1000;
    await flood.runUntil(checkpointLogins, floodDeadline);
    await sleep(1000);
    const afterCapacity = { logins: flood.totals.succeeded, rssBytes: sampler.recentMedian(500) };
    let lastReport = performance.now();
    const ticker = setInterval(() => {
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        progress(`  ${flood.totals.succeeded}/${floodTarget} logins, RSS ${mib(sampler.samples.at(-1)?.[1] ?? NaN)} MiB`);
      }
    }, 1000);
    try {
      await flood.runUntil(floodTarget, floodDeadline);
    } finally {
      clearInterval(ticker);
    }
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    await sleep(1000);
    const afterFlood = { logins: flood.totals.succeeded, rssBytes: sampler.recentMedian(500) };
    const backgroundTotals = await background.stop();
    flood.close();
    sampler.stop();

    let readerSignedInAfter: boolean | undefined;
    let metrics: Record<string, number> = {};
    if (kind === 'ringlet') {
      readerSignedInAfter = (await sendRequest(server.port, 'GET', '/auth', { headers: { Cookie: cookie } })).status === 200;
      metrics = parseMetrics((await sendRequest(server.port, 'GET', '/metrics')).text);
    }
    const peakRssBytes = readRss(server.pid)?.peakRssBytes ?? NaN;
    if (server.exitCode !== null) throw new Error(`${kind} exited during the run:\n${server.stderr}`);
    return {
      kind, idleRssBytes, peakRssBytes, afterCapacity, afterFlood, floodSeconds, flood: flood.totals, background: backgroundTotals,
      saturate, adminLogins, readerSignedInAfter, metrics, samples: sampler.samples,
    };
  } finally {
    await server.stop();
  }
}

async function runProfile(name: string): Promise<ProfileResult> {
  const profile = loadProfile(name);
  const footprint = computeFootprint(profile);
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-memory-'));
  try {
    const fixture = writeUsersFixture(dir, profile);
    const floodTarget = Math.max(10 * profile.capacity, MIN_FLOOD_LOGINS);
    const checkpoint = Math.min(floodTarget, Math.max(profile.capacity, MIN_CHECKPOINT_LOGINS));
    const ringlet = await runTarget('ringlet', profile, dir, fixture.floodUsers, floodTarget, checkpoint);
    const bare = await runTarget('bare', profile, dir, fixture.floodUsers, floodTarget, checkpoint);
    return {
      profile: name, mode: profile.mode, capacity: profile.capacity, maxSessionsPerUser: profile.maxSessionsPerUser,
      floodUsers: floodUserCount(profile), floodTarget, floodCapped: ringlet.flood.succeeded < floodTarget, firstCheckpointLogins: checkpoint,
      budgetBytes: profile.memoryBudgetBytes, storeBytes: footprint.storeBytes, footprintBytes: footprint.totalBytes, nodeFlags: nodeFlagsOf(profile),
      ringlet, bare,
      targets: {
        peakUnderBudget: ringlet.peakRssBytes <= profile.memoryBudgetBytes,
        flatAfterFlood: Math.abs(ringlet.afterFlood.rssBytes - ringlet.afterCapacity.rssBytes) <= FLAT_TOLERANCE_BYTES,
        idleWithinAllowance: ringlet.idleRssBytes <= bare.idleRssBytes + footprint.storeBytes + IDLE_ALLOWANCE_BYTES,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** At most `n` points per series, so the SVG stays small. */
function thin(points: Array<[number, number]>, n: number): Array<[number, number]> {
  if (points.length <= n) return points;
  const step = points.length / n;
  return Array.from({ length: n }, (_, i) => points[Math.floor(i * step)] as [number, number]).concat([points.at(-1) as [number, number]]);
}

const yes = (ok: boolean) => (ok ? 'yes' : 'NO');

function render(results: ProfileResult[]): string {
  const m = machine();
  const rows = results.map((r) => [
    r.profile, r.mode, String(r.capacity), mib(r.budgetBytes, 0), mib(r.storeBytes, 2),
    mib(r.ringlet.idleRssBytes), mib(r.bare.idleRssBytes),
    `${mib(r.ringlet.afterCapacity.rssBytes)} (${r.ringlet.afterCapacity.logins})`,
    `${mib(r.ringlet.afterFlood.rssBytes)} (${r.ringlet.afterFlood.logins}${r.floodCapped ? `, capped at ${FLOOD_MAX_SECONDS} s = ${(r.ringlet.afterFlood.logins / r.capacity).toFixed(1)}× capacity` : ''})`,
    `${((r.ringlet.afterFlood.rssBytes - r.ringlet.afterCapacity.rssBytes) / MiB).toFixed(2)}`,
    mib(r.ringlet.peakRssBytes), mib(r.bare.peakRssBytes),
  ]);
  const targets = results.map((r) => [
    r.profile,
    `${yes(r.targets.peakUnderBudget)} (${mib(r.ringlet.peakRssBytes)} ≤ ${mib(r.budgetBytes)})`,
    `${yes(r.targets.flatAfterFlood)} (Δ ${((r.ringlet.afterFlood.rssBytes - r.ringlet.afterCapacity.rssBytes) / MB).toFixed(2)} MB)`,
    `${yes(r.targets.idleWithinAllowance)} (${mib(r.ringlet.idleRssBytes)} vs ${mib(r.bare.idleRssBytes + r.storeBytes + IDLE_ALLOWANCE_BYTES)})`,
  ]);
  const traffic = results.map((r) => [
    r.profile, String(r.floodUsers), `${r.ringlet.flood.succeeded} in ${r.ringlet.floodSeconds.toFixed(0)} s`, String(r.ringlet.flood.busy),
    String(r.ringlet.metrics['ringlet_sessions_active'] ?? '-'), String(r.ringlet.metrics['ringlet_sessions_evicted_total'] ?? '-'),
    `${r.ringlet.adminLogins.ok}/${r.ringlet.adminLogins.ok + r.ringlet.adminLogins.other}`,
    `${Math.round(r.ringlet.saturate.requestsPerSec)} (${r.ringlet.saturate.non2xx} non-2xx)`,
    `${r.ringlet.background.requests} (${r.ringlet.background.non2xx} non-2xx)`,
    r.ringlet.readerSignedInAfter === undefined ? '-' : yes(r.ringlet.readerSignedInAfter),
    mib(r.ringlet.metrics['ringlet_process_heap_used_bytes'] ?? NaN),
  ]);
  return [
    '### Memory under load, per device profile',
    '',
    `${describeMachine(m)}.`,
    `RSS from /proc/<pid>/status (VmRSS every ${SAMPLE_MS} ms; peak = VmHWM). All sizes MiB unless marked; targets use decimal MB (flat: ±${FLAT_TOLERANCE_BYTES / MB} MB, idle allowance ${IDLE_ALLOWANCE_BYTES / MB} MB). `
    + `Each server runs with its profile's Node flags; "bare" is a node:http server answering 200, same flags, same traffic. `
    + (RINGLET_BUILD === 'modules' ? '**ringlet = tsc\'s many-module output (dist/src/cli/main.js), for comparison; what ships is the bundle.**' : 'ringlet = dist/ringlet.js, the one-module bundle that ships.')
    + (WITHOUT_FLAGS.length === 0 ? '' : ` **Both servers without ${WITHOUT_FLAGS.join(' ')}, which the profile sets (a comparison, not how it ships).**`),
    `Traffic: saturate = ${defaultTool()} on GET /auth for ${SATURATE_MS / 1000} s with maxConnections − (hashConcurrency + ${BACKGROUND_CONNECTIONS} + hashConcurrency + 2) connections while hashConcurrency clients sign in as admin at the profile's real scrypt cost; `
    + `flood = JSON logins (hashConcurrency + 2 clients) round-robin over the flood users until ≥ max(10 × capacity, ${MIN_FLOOD_LOGINS}) succeeded, with paced GET /auth at ${BACKGROUND_RATE} req/s over ${BACKGROUND_CONNECTIONS} connections; `
    + `RSS read after a 1 s pause (median of 0.5 s) at 1× capacity (≥ ${MIN_CHECKPOINT_LOGINS} logins) and after the flood.`,
    `Each flood is capped at ${FLOOD_MAX_SECONDS} s; a profile whose flood the cap ended is marked "capped" with the multiple of capacity it reached.`
    + (MMAP_THRESHOLD === '' ? ' **Variant: glibc malloc defaults (not the documented launch environment).**' : ` Both servers run with MALLOC_MMAP_THRESHOLD_=${MMAP_THRESHOLD}, the launch environment the README documents (npm start, systemd), so freed scrypt buffers go back to the OS.`),
    `**Bench-only settings (labelled):** the flood users and \`reader\` are hashed at scrypt ln=${BENCH_SCRYPT_COST.logN} r=${BENCH_SCRYPT_COST.r} p=${BENCH_SCRYPT_COST.p} (1 MiB, ~1 ms) so ten times the capacity finishes in minutes, and the server runs with that cost as its own (\`--insecure-scrypt-below-owasp\`: otherwise a login would upgrade those hashes); \`admin\` has the profile's cost for the saturate phase (every login then hashes both costs) and the bench cost from the flood on. `
    + `Up to 2 × capacity / maxSessionsPerUser flood users (users-file limit 1000), so the store fills and both global-LRU and per-user eviction run. Throttle settings unchanged (every flood login succeeds, so none is throttled).`,
    '',
    markdownTable(['profile', 'mode', 'capacity', 'budget', 'store', 'idle', 'bare idle', 'after 1× cap (logins)', 'after flood (logins)', 'Δ MiB', 'peak', 'bare peak'], rows),
    '',
    markdownTable(['profile', 'peak RSS under budget', 'flat: after flood within 2 MB of after 1×', 'idle ≤ bare idle + store + 4 MB'], targets),
    '',
    markdownTable(['profile', 'flood users', 'flood logins', '503 busy', 'sessions active', 'evicted', 'admin logins at real cost', 'saturate req/s', 'background requests', 'reader still signed in', 'heap used after'], traffic),
    '',
    `Chart: \`${RESULTS_NAME}-rss.svg\` (RSS over time; ringlet solid, bare node:http dashed).`,
  ].join('\n');
}

async function main(): Promise<number> {
  const results: ProfileResult[] = [];
  for (const name of benchProfiles()) results.push(await runProfile(name));
  const markdown = render(results);
  const panels: Panel[] = results.map((r) => ({
    title: `${r.profile} (budget ${mib(r.budgetBytes, 0)} MiB, peak ${mib(r.ringlet.peakRssBytes)})`,
    series: [
      { name: 'ringlet RSS', color: '#2a62b0', points: thin(r.ringlet.samples, 400).map(([t, b]) => [t, b / MiB] as [number, number]) },
      { name: 'bare node:http RSS', color: '#888', dashed: true, points: thin(r.bare.samples, 400).map(([t, b]) => [t, b / MiB] as [number, number]) },
    ],
    marks: [{ y: r.budgetBytes / MiB, label: 'budget' }],
  }));
  writeFileSync(join(resultsDir(), `${RESULTS_NAME}-rss.svg`), lineChartSvg({ title: `RSS over time: saturating GET /auth with real-cost hashing, then a login flood${MMAP_THRESHOLD === undefined ? '' : ` (MALLOC_MMAP_THRESHOLD_=${MMAP_THRESHOLD})`}`, xLabel: 'seconds', yLabel: 'RSS MiB', panels }));
  const json = results.map((r) => ({ ...r, ringlet: { ...r.ringlet, samples: thin(r.ringlet.samples, 1000) }, bare: { ...r.bare, samples: thin(r.bare.samples, 1000) } }));
  writeResults(RESULTS_NAME, { machine: machine(), sampleMs: SAMPLE_MS, floodMaxSeconds: FLOOD_MAX_SECONDS, serverEnv: SERVER_ENV, results: json }, markdown);
  process.stdout.write(`${markdown}\n`);
  const over = results.filter((r) => !r.targets.peakUnderBudget);
  for (const r of over) process.stderr.write(`bench memory: ${r.profile} peak RSS ${mib(r.ringlet.peakRssBytes)} MiB exceeds its budget ${mib(r.budgetBytes)} MiB\n`);
  return over.length === 0 ? 0 : 1;
}

runBench('memory', main);
