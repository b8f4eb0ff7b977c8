/**
 * What `--shared-state` costs and how fast it is, against a real redis-server on loopback:
 *
 * 1. The request path: authenticated `GET /auth` in cookie mode on two ringlet processes
 *    that differ only in `--shared-state` (same profile, keys, users), pinned to core 0, the
 *    load on core 1; interleaved rounds; req/s, the per-round ratio on/off (target ≥ 0.95×:
 *    the request path reads local tables only, so it should cost the same) and each
 *    process's CPU time per request (from /proc, steadier than req/s on a shared machine).
 * 2. Memory per instance: RSS (and the kernel's peak) of both processes, idle after sign-in
 *    and after the load, the engine client connected in one of them.
 * 3. Propagation: a second shared-state instance B; N times, a session signed in on A is
 *    logged out on A while B is asked for the same cookie back to back; the delay is from
 *    sending the logout to B's first 401 (median, p99, max).
 *
 * Bench-only settings (labelled in the report): users hashed at scrypt N=2^10 (propagation
 * signs in N times); the propagation pair runs with `--revocations none` (a logout is then
 * answered without waiting for the revocation file's coalesced write, so samples follow
 * each other quickly; what is measured starts before the answer either way).
 *
 * Run: npm run bench:shared. Environment: BENCH_PROFILE (embedded-default), BENCH_ROUNDS (5),
 * BENCH_HTTP_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_PROPAGATION_SAMPLES (100),
 * BENCH_LOAD_TOOL (wrk|builtin).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile } from '../src/config/profile.js';
import { generateJwks } from '../src/codec/index.js';
import { hashPasswordSync, saveUsersFile, UsersDb } from '../src/users/index.js';
import { formatNumber, markdownTable, median, writeResults, runBench } from './harness/index.js';
import { signIn } from './load/client.js';
import { sendRequest } from '../test/support/http.js';
import { LAUNCH_ENV, LAUNCH_MMAP_THRESHOLD, readCpuMs, readRss, type ServerProcess, spawnServer } from './load/processes.js';
import { describeLoad, findTaskset, LOAD_CPU, loadSettings, runLoad, SERVER_CPU } from './load/run.js';
import { BENCH_SCRYPT_COST } from './load/users-fixture.js';
import type { LoadResult } from './load/types.js';
import { machine, reportHead } from './report/machine.js';
import { mib, progress } from './report/progress.js';
import { RedisProcess, REDIS_SERVER } from '../test/support/redis.js';

const LOAD = loadSettings('BENCH_HTTP_SECONDS', 32);
const { profile: PROFILE, rounds: ROUNDS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, tool: TOOL } = LOAD;
const SAMPLES = Number(process.env['BENCH_PROPAGATION_SAMPLES'] ?? 100);
const TARGET_RATIO = 0.95;
const PASSWORD = 'bench shared horse battery';
/** A propagation sample that takes longer than this is reported as lost. */
const PROPAGATION_LIMIT_MS = 10_000;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function metric(s: ServerProcess, name: string): Promise<number> {
  const text = (await sendRequest(s.port, 'GET', '/metrics')).text;
  const m = new RegExp(`^ringlet_${name} (\\S+)$`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface HttpRow {
  name: string;
  rounds: LoadResult[];
  medianRps: number;
  medianP50Ms: number;
  medianP99Ms: number;
  medianCpuUsPerRequest: number;
  valid: boolean;
}

async function main(): Promise<number> {
  if (REDIS_SERVER === undefined) {
    process.stderr.write('bench shared-state: redis-server not found (apt-get install redis-server)\n');
    return 1;
  }
  const profile = loadProfile(PROFILE);
  const pinning = findTaskset() !== undefined && machine().cores >= 2;
  const on = (cpu: number) => (pinning ? { cpu } : {});
  const root = mkdtempSync(join(tmpdir(), 'ringlet-bench-shared-'));
  const keys = join(root, 'keys.json');
  writeFileSync(keys, `${JSON.stringify(generateJwks())}\n`, { mode: 0o600 });
  const users = new UsersDb([{ name: 'admin', role: 'admin', hash: hashPasswordSync(PASSWORD, BENCH_SCRYPT_COST), mustChangePassword: false }]);
  const dirFor = (name: string): string => {
    const dir = join(root, name);
    mkdirSync(dir);
    saveUsersFile(join(dir, 'users.json'), users);
    copyFileSync(keys, join(dir, 'keys.json'));
    return dir;
  };
  const redis = await RedisProcess.start();
  const engine = `redis://127.0.0.1:${redis.port}`;
  const servers: ServerProcess[] = [];
  const start = async (name: string, extra: string[], cpu: number | undefined): Promise<ServerProcess> => {
    const s = await spawnServer({
      kind: 'ringlet', nodeFlags: profile.nodeFlags, env: LAUNCH_ENV, dir: dirFor(name), ...(cpu === undefined ? {} : on(cpu)),
      args: ['--profile', PROFILE, '--mode', 'cookie', '--users', 'users.json', '--keys', 'keys.json', '--log-level', 'warn',
        '--max-connections-per-address', String(profile.maxConnections), ...extra],
    });
    servers.push(s);
    await s.waitReady();
    return s;
  };
  try {
    // ---- 1 and 2: the request path, and memory, with shared state off and on ----
    const off = await start('off', [], SERVER_CPU);
    const shared = await start('on', ['--shared-state', engine], SERVER_CPU);
    await waitFor('the shared instance synchronised', async () => (await metric(shared, 'shared_state_up')) === 1);
    const cookieOff = (await signIn(off.origin, 'admin', PASSWORD)).cookie;
    const cookieOn = (await signIn(shared.origin, 'admin', PASSWORD)).cookie;
    for (const [s, cookie] of [[off, cookieOff], [shared, cookieOn]] as const) {
      const r = await sendRequest(s.port, 'GET', '/auth', { headers: { Cookie: cookie } });
      if (r.status !== 200 || r.headers['remote-user'] !== 'admin') throw new Error(`correctness: /auth answered ${r.status}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const idle = { off: readRss(off.pid), on: readRss(shared.pid) };
    const configs = [
      { name: 'cookie mode, no shared state', server: off, cookie: cookieOff },
      { name: 'cookie mode, --shared-state', server: shared, cookie: cookieOn },
    ];
    const load = (c: (typeof configs)[number], seconds: number) => runLoad(
      { url: `${c.server.origin}/auth`, headers: { Cookie: c.cookie }, connections: CONNECTIONS, durationMs: seconds * 1000 },
      { tool: TOOL, ...on(LOAD_CPU) },
    );
    for (const c of configs) {
      progress(`warm-up ${c.name}`);
      await load(c, WARMUP_SECONDS);
    }
    const results = new Map<string, LoadResult[]>(configs.map((c) => [c.name, []]));
    const cpu = new Map<string, number[]>(configs.map((c) => [c.name, []]));
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? configs : [...configs].reverse();
      const rps = new Map<string, number>();
      const cpuUs = new Map<string, number>();
      for (const c of order) {
        const before = readCpuMs(c.server.pid);
        const r = await load(c, SECONDS);
        const after = readCpuMs(c.server.pid);
        const us = before === undefined || after === undefined || r.requests === 0 ? NaN : ((after - before) * 1000) / r.requests;
        results.get(c.name)?.push(r);
        cpu.get(c.name)?.push(us);
        rps.set(c.name, r.requestsPerSec);
        cpuUs.set(c.name, us);
        progress(`round ${round + 1}/${ROUNDS} ${c.name}: ${Math.round(r.requestsPerSec).toLocaleString('en')} req/s, ${us.toFixed(1)} µs CPU/request${r.non2xx || r.socketErrors ? ` (${r.non2xx} non-2xx, ${r.socketErrors} socket errors)` : ''}`);
      }
      ratios.push((rps.get(configs[1]!.name) ?? NaN) / (rps.get(configs[0]!.name) ?? NaN));
      cpuRatios.push((cpuUs.get(configs[0]!.name) ?? NaN) / (cpuUs.get(configs[1]!.name) ?? NaN));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const loaded = { off: readRss(off.pid), on: readRss(shared.pid) };
    const httpRows: HttpRow[] = configs.map((c) => {
      const list = results.get(c.name) ?? [];
      return {
        name: c.name, rounds: list, medianRps: median(list.map((r) => r.requestsPerSec)),
        medianP50Ms: median(list.map((r) => r.latencyP50Ms)), medianP99Ms: median(list.map((r) => r.latencyP99Ms)),
        medianCpuUsPerRequest: median(cpu.get(c.name) ?? []), valid: list.every((r) => r.non2xx === 0 && r.socketErrors === 0),
      };
    });
    const ratio = median(ratios);
    const cpuRatio = median(cpuRatios);
    await off.stop();

    // ---- 3: propagation of a logout from A to B ----
    progress(`propagation: ${SAMPLES} logouts on A, watched on B`);
    const a = await start('a', ['--shared-state', engine, '--revocations', 'none'], undefined);
    const b = await start('b', ['--shared-state', engine, '--revocations', 'none'], undefined);
    await waitFor('A and B synchronised', async () => (await metric(a, 'shared_state_up')) === 1 && (await metric(b, 'shared_state_up')) === 1);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const delays: number[] = [];
    let lost = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const session = await signIn(a.origin, 'admin', PASSWORD);
      const before = await sendRequest(b.port, 'GET', '/session', { headers: { Cookie: session.cookie }, agent });
      if (before.status !== 200) throw new Error(`correctness: B refused a live session (${before.status})`);
      const sent = performance.now();
      const logout = sendRequest(a.port, 'POST', '/logout', { headers: { Cookie: session.cookie, 'x-csrf-token': session.csrf, origin: a.origin } });
      let refusedAt: number | undefined;
      while (performance.now() - sent < PROPAGATION_LIMIT_MS) {
        const r = await sendRequest(b.port, 'GET', '/session', { headers: { Cookie: session.cookie }, agent });
        if (r.status === 401) {
          refusedAt = performance.now();
          break;
        }
      }
      if ((await logout).status !== 200) throw new Error('correctness: the logout on A failed');
      if (refusedAt === undefined) lost++;
      else delays.push(refusedAt - sent);
    }
    agent.destroy();
    const sentEvents = await metric(a, 'shared_state_revocations_total{direction="sent"}');
    const receivedEvents = await metric(b, 'shared_state_revocations_total{direction="received"}');
    const propagation = { samples: SAMPLES, lost, medianMs: median(delays), p99Ms: percentile(delays, 99), maxMs: Math.max(...delays), sentEvents, receivedEvents };

    // ---- report ----
    const m = machine();
    const httpTable = markdownTable(
      ['configuration', 'req/s (median)', 'p50 ms', 'p99 ms', 'CPU µs/request (median)', 'valid (no errors)'],
      httpRows.map((r) => [r.name, formatNumber(r.medianRps), r.medianP50Ms.toFixed(2), r.medianP99Ms.toFixed(2), formatNumber(r.medianCpuUsPerRequest, 1), r.valid ? 'yes' : 'NO']),
    );
    const ratioTable = markdownTable(
      ['measure', 'value', 'target', 'met'],
      [
        ['req/s with / without shared state (median of per-round ratios)', `${ratio.toFixed(3)}×`, `≥ ${TARGET_RATIO}×`, ratio >= TARGET_RATIO ? 'yes' : 'NO'],
        ['CPU per request, without / with (median of rounds; 1 = the same)', `${cpuRatio.toFixed(3)}×`, `≥ ${TARGET_RATIO}×`, cpuRatio >= TARGET_RATIO ? 'yes' : 'NO'],
      ],
    );
    const perRound = markdownTable(
      ['configuration', ...Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1} req/s`)],
      httpRows.map((r) => [r.name, ...r.rounds.map((x) => formatNumber(x.requestsPerSec))]),
    );
    const rss = (x: { rssBytes: number; peakRssBytes: number } | undefined) => (x === undefined ? 'n/a' : mib(x.rssBytes));
    const peak = (x: { rssBytes: number; peakRssBytes: number } | undefined) => (x === undefined ? 'n/a' : mib(x.peakRssBytes));
    const memoryTable = markdownTable(
      ['instance', 'RSS idle, signed in (MiB)', 'RSS after the load (MiB)', 'peak RSS (MiB)'],
      [
        ['cookie mode, no shared state', rss(idle.off), rss(loaded.off), peak(loaded.off)],
        ['cookie mode, --shared-state (client connected, synchronised)', rss(idle.on), rss(loaded.on), peak(loaded.on)],
        ['difference', idle.on && idle.off ? mib(idle.on.rssBytes - idle.off.rssBytes) : 'n/a', loaded.on && loaded.off ? mib(loaded.on.rssBytes - loaded.off.rssBytes) : 'n/a', loaded.on && loaded.off ? mib(loaded.on.peakRssBytes - loaded.off.peakRssBytes) : 'n/a'],
      ],
    );
    const propagationTable = markdownTable(
      ['logout on A → refused on B', 'value'],
      [
        ['samples', String(SAMPLES)],
        ['median', `${propagation.medianMs.toFixed(2)} ms`],
        ['p99', `${propagation.p99Ms.toFixed(2)} ms`],
        ['max', `${propagation.maxMs.toFixed(2)} ms`],
        [`not refused within ${PROPAGATION_LIMIT_MS / 1000} s`, String(lost)],
        ['events sent by A / received by B', `${sentEvents} / ${receivedEvents}`],
      ],
    );
    const setup = `${describeLoad(LOAD)}; `
      + `${pinning ? `servers pinned to core ${SERVER_CPU}, load to core ${LOAD_CPU}, redis-server unpinned` : 'no pinning'}; profile ${PROFILE} in cookie mode (Node flags: ${profile.nodeFlags.join(' ') || 'none'}), `
      + `MALLOC_MMAP_THRESHOLD_=${LAUNCH_MMAP_THRESHOLD}, ringlet --log-level warn; redis-server ${'on loopback, no persistence'}. `
      + `Bench-only: users hashed at scrypt N=2^${BENCH_SCRYPT_COST.logN}; the propagation pair runs with --revocations none`;
    const markdown = [
      ...reportHead('Shared state: the request path, memory and propagation', m, 'Setup', setup),
      'Authenticated GET /auth, the same server with and without `--shared-state`:',
      '',
      httpTable,
      '',
      ratioTable,
      '',
      perRound,
      '',
      'Memory per instance (VmRSS, VmHWM):',
      '',
      memoryTable,
      '',
      `Propagation of a logout (from sending it to A until B's first 401, B asked back to back over one keep-alive connection):`,
      '',
      propagationTable,
    ].join('\n');
    writeResults('shared-state', { machine: m, tool: TOOL, connections: CONNECTIONS, rounds: ROUNDS, seconds: SECONDS, pinning, profile: PROFILE, httpRows, ratio, cpuRatio, memory: { idle, loaded }, propagation, delays }, markdown);
    process.stdout.write(`${markdown}\n`);
    return httpRows.every((r) => r.valid) && lost === 0 ? 0 : 1;
  } finally {
    for (const s of servers) await s.stop();
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

runBench('shared-state', main);
