/**
 * Reverse-proxy throughput: a proxied GET of a 1 KiB and a 1 MiB upstream response through
 * ringlet (RAM mode and cookie mode, signed in by cookie) against a plain node:http reverse
 * proxy without authentication (bench/baseline-proxy.ts), all forwarding to the same
 * upstream (bench/proxy-upstream.ts) in the same run. The proxies are pinned to core 0;
 * the upstream and the load (wrk, or the built-in generator) share core 1. The
 * configurations take turns, rotated each round; the report gives medians over the rounds,
 * the median of the per-round ratios to the plain proxy, bytes/s (req/s × body size), and
 * the proxy process's CPU time per request (from /proc/<pid>/stat around each run), which
 * other load on a shared machine disturbs far less than req/s.
 *
 * Correctness first: each proxy must answer 200 with the whole body before anything is
 * timed, ringlet must answer 401 without a credential, and a run with any non-2xx answer
 * or socket error is reported as invalid.
 *
 * Run: npm run bench:proxy. Environment: BENCH_PROFILE (embedded-default), BENCH_ROUNDS (5),
 * BENCH_PROXY_SECONDS (5), BENCH_CONNECTIONS (16), BENCH_LOAD_TOOL (wrk|builtin).
 */
import { loadProfile } from '../src/config/profile.js';
import { formatNumber, markdownTable, median, writeResults, runBench } from './harness/index.js';
import { firstStartSignIn } from './load/client.js';
import { sendRequest } from '../test/support/http.js';
import { benchScript, LAUNCH_ENV, LAUNCH_MMAP_THRESHOLD, readCpuMs, type ServerProcess, spawnServer } from './load/processes.js';
import { describeLoad, findTaskset, LOAD_CPU, loadSettings, runLoad, SERVER_CPU } from './load/run.js';
import type { LoadResult } from './load/types.js';
import { machine, reportHead } from './report/machine.js';
import { progress } from './report/progress.js';

const LOAD = loadSettings('BENCH_PROXY_SECONDS', 16);
const { profile: PROFILE, rounds: ROUNDS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, tool: TOOL } = LOAD;
const PROXY_CPU = SERVER_CPU;

const BASELINE = 'plain node:http proxy';
const BODIES = [
  { path: '/1k', label: '1 KiB', bytes: 1024, target: 0.8 },
  { path: '/1m', label: '1 MiB', bytes: 1024 * 1024, target: 0.95 },
] as const;

interface Config {
  name: string;
  server: ServerProcess;
  headers: Record<string, string>;
}

interface Row {
  name: string;
  body: string;
  bytes: number;
  rounds: LoadResult[];
  medianRps: number;
  medianBytesPerSec: number;
  medianP50Ms: number;
  medianP99Ms: number;
  /** The proxy process's user + system CPU per request, µs (NaN where /proc is missing). */
  medianCpuUsPerRequest: number;
  /** Plain proxy's CPU per request / this one's (median of rounds): 1 = as cheap. */
  medianCpuRatio: number | undefined;
  medianRatio: number | undefined;
  target: number | undefined;
  met: boolean | undefined;
  valid: boolean;
}

async function checkCorrectness(configs: Config[]): Promise<void> {
  for (const c of configs) {
    for (const body of BODIES) {
      const reply = await sendRequest(c.server.port, 'GET', body.path, { headers: c.headers });
      if (reply.status !== 200 || Buffer.byteLength(reply.text) !== body.bytes) {
        throw new Error(`correctness: ${c.name} ${body.path} answered ${reply.status} with ${Buffer.byteLength(reply.text)} bytes`);
      }
    }
    if (c.name !== BASELINE) {
      const anonymous = await sendRequest(c.server.port, 'GET', '/1k', { headers: { accept: 'application/json' } });
      if (anonymous.status !== 401) throw new Error(`correctness: ${c.name} without a credential answered ${anonymous.status}`);
    }
  }
}

const MiB = 1024 * 1024;

async function main(): Promise<number> {
  const profile = loadProfile(PROFILE);
  const pinning = findTaskset() !== undefined && machine().cores >= 2;
  const on = (cpu: number) => (pinning ? { cpu } : {});
  const servers: ServerProcess[] = [];
  try {
    const upstream = await spawnServer({ kind: 'script', script: benchScript('proxy-upstream'), nodeFlags: [], env: LAUNCH_ENV, ...on(LOAD_CPU) });
    servers.push(upstream);
    await upstream.waitReady();
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const plain = await spawnServer({ kind: 'script', script: benchScript('baseline-proxy'), nodeFlags: profile.nodeFlags, env: LAUNCH_ENV, args: ['--upstream', upstreamUrl], ...on(PROXY_CPU) });
    servers.push(plain);
    // The load comes from one address standing for many clients: the per-address cap is lifted
    // to the global limit, as in the HTTP bench (wrk's reconnects otherwise meet it).
    const ringletArgs = ['--profile', PROFILE, '--users', 'users.json', '--log-level', 'warn', '--upstream', upstreamUrl, '--max-connections-per-address', String(profile.maxConnections)];
    const ram = await spawnServer({ kind: 'ringlet', nodeFlags: profile.nodeFlags, env: LAUNCH_ENV, args: [...ringletArgs, '--mode', 'ram'], ...on(PROXY_CPU) });
    servers.push(ram);
    const cookie = await spawnServer({ kind: 'ringlet', nodeFlags: profile.nodeFlags, env: LAUNCH_ENV, args: [...ringletArgs, '--mode', 'cookie'], ...on(PROXY_CPU) });
    servers.push(cookie);
    for (const s of servers) await s.waitReady();
    progress('servers up; signing in (first-start password change, profile scrypt cost)');
    const ramSignIn = await firstStartSignIn(ram.origin, ram.firstPassword() ?? '');
    const cookieSignIn = await firstStartSignIn(cookie.origin, cookie.firstPassword() ?? '');
    const configs: Config[] = [
      { name: BASELINE, server: plain, headers: {} },
      { name: 'ringlet RAM mode', server: ram, headers: { Cookie: ramSignIn.cookie } },
      { name: 'ringlet cookie mode', server: cookie, headers: { Cookie: cookieSignIn.cookie } },
    ];
    await checkCorrectness(configs);

    const load = (c: Config, path: string, seconds: number) => runLoad(
      { url: `${c.server.origin}${path}`, headers: c.headers, connections: CONNECTIONS, durationMs: seconds * 1000 },
      { tool: TOOL, ...on(LOAD_CPU) },
    );
    const key = (c: Config, path: string) => `${c.name}\u0000${path}`;
    for (const body of BODIES) {
      for (const c of configs) {
        progress(`warm-up ${c.name} ${body.label}`);
        await load(c, body.path, WARMUP_SECONDS);
      }
    }
    const results = new Map<string, LoadResult[]>();
    const ratios = new Map<string, number[]>();
    const cpuPerRequest = new Map<string, number[]>();
    const cpuRatios = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const body of BODIES) {
        const order = configs.map((_, i) => configs[(i + round) % configs.length] as Config);
        const byName = new Map<string, LoadResult>();
        const cpuByName = new Map<string, number>();
        for (const c of order) {
          const cpuBefore = readCpuMs(c.server.pid);
          const r = await load(c, body.path, SECONDS);
          const cpuAfter = readCpuMs(c.server.pid);
          const cpuUs = cpuBefore === undefined || cpuAfter === undefined || r.requests === 0 ? NaN : ((cpuAfter - cpuBefore) * 1000) / r.requests;
          cpuByName.set(c.name, cpuUs);
          cpuPerRequest.set(key(c, body.path), [...(cpuPerRequest.get(key(c, body.path)) ?? []), cpuUs]);
          byName.set(c.name, r);
          results.set(key(c, body.path), [...(results.get(key(c, body.path)) ?? []), r]);
          progress(`round ${round + 1}/${ROUNDS} ${body.label} ${c.name}: ${Math.round(r.requestsPerSec).toLocaleString('en')} req/s, ${((r.requestsPerSec * body.bytes) / MiB).toFixed(1)} MiB/s${r.non2xx || r.socketErrors ? ` (${r.non2xx} non-2xx, ${r.socketErrors} socket errors)` : ''}`);
        }
        const base = byName.get(BASELINE)?.requestsPerSec ?? NaN;
        const baseCpu = cpuByName.get(BASELINE) ?? NaN;
        for (const c of configs) {
          ratios.set(key(c, body.path), [...(ratios.get(key(c, body.path)) ?? []), (byName.get(c.name)?.requestsPerSec ?? NaN) / base]);
          cpuRatios.set(key(c, body.path), [...(cpuRatios.get(key(c, body.path)) ?? []), baseCpu / (cpuByName.get(c.name) ?? NaN)]);
        }
      }
    }
    for (const s of servers) if (s.exitCode !== null) throw new Error(`a server exited during the run:\n${s.stderr}`);

    const rows: Row[] = BODIES.flatMap((body) => configs.map((c) => {
      const list = results.get(key(c, body.path)) ?? [];
      const medianRatio = c.name === BASELINE ? undefined : median(ratios.get(key(c, body.path)) ?? []);
      const target = c.name === BASELINE ? undefined : body.target;
      const medianRps = median(list.map((r) => r.requestsPerSec));
      return {
        name: c.name, body: body.label, bytes: body.bytes, rounds: list,
        medianRps, medianBytesPerSec: medianRps * body.bytes,
        medianP50Ms: median(list.map((r) => r.latencyP50Ms)), medianP99Ms: median(list.map((r) => r.latencyP99Ms)),
        medianCpuUsPerRequest: median(cpuPerRequest.get(key(c, body.path)) ?? []),
        medianCpuRatio: c.name === BASELINE ? undefined : median(cpuRatios.get(key(c, body.path)) ?? []),
        medianRatio, target,
        met: target === undefined || medianRatio === undefined ? undefined : medianRatio >= target,
        valid: list.every((r) => r.non2xx === 0 && r.socketErrors === 0),
      };
    }));
    const m = machine();
    const setup = `${describeLoad(LOAD)}; `
      + `${pinning ? `proxies pinned to core ${PROXY_CPU}, upstream and load to core ${LOAD_CPU} (taskset)` : 'no pinning (taskset missing or one core)'}; `
      + `profile ${PROFILE} (Node flags: ${profile.nodeFlags.join(' ') || 'none'}, same for the plain proxy), MALLOC_MMAP_THRESHOLD_=${LAUNCH_MMAP_THRESHOLD} for every server, ringlet --log-level warn --max-connections-per-address ${profile.maxConnections} (one load address stands for many clients), signed in by session cookie`;
    const table = markdownTable(
      ['configuration', 'upstream body', 'req/s (median)', 'MiB/s (median)', 'ratio to plain proxy (median of rounds)', 'p50 ms', 'p99 ms', 'proxy CPU µs/request', 'CPU ratio (plain / this)', 'target (req/s ratio)', 'met', 'valid (no errors)'],
      rows.map((r) => [
        r.name, r.body, formatNumber(r.medianRps), formatNumber(r.medianBytesPerSec / MiB, 1), r.medianRatio === undefined ? '1 (ceiling)' : `${r.medianRatio.toFixed(3)}×`,
        r.medianP50Ms.toFixed(2), r.medianP99Ms.toFixed(2), formatNumber(r.medianCpuUsPerRequest, 1),
        r.medianCpuRatio === undefined ? '1' : `${r.medianCpuRatio.toFixed(3)}×`, r.target === undefined ? '' : `≥ ${r.target}×`,
        r.met === undefined ? '' : r.met ? 'yes' : 'NO', r.valid ? 'yes' : 'NO',
      ]),
    );
    const perRound = markdownTable(
      ['configuration', 'body', ...Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1} req/s`)],
      rows.map((r) => [r.name, r.body, ...r.rounds.map((x) => formatNumber(x.requestsPerSec))]),
    );
    const markdown = [
      ...reportHead('Reverse proxy: proxied GET through ringlet vs a plain node:http proxy', m, 'Load', setup),
      table,
      '',
      perRound,
    ].join('\n');
    writeResults('proxy', { machine: m, tool: TOOL, connections: CONNECTIONS, rounds: ROUNDS, seconds: SECONDS, pinning, profile: PROFILE, nodeFlags: profile.nodeFlags, rows }, markdown);
    process.stdout.write(`${markdown}\n`);
    return rows.every((r) => r.valid) ? 0 : 1;
  } finally {
    for (const s of servers) await s.stop();
  }
}

runBench('proxy', main);
