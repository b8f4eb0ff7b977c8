/**
 * HTTP throughput, side by side: a bare node:http server answering 200 (the ceiling) and
 * ringlet's authenticated `GET /auth` in RAM mode (session cookie), cookie mode (JWE
 * cookie) and with a bearer token (JWT, RAM-mode server). Cookie mode and bearer tokens are
 * measured three times: one client sending its credential again and again, as many clients
 * as the profile's verified-credential cache holds (`verifiedCacheEntries`) taking turns
 * (the typical case: the cache answers every request), and twice that many (the worst case:
 * first in, first out keeps none of them, so every request pays the full AES-GCM open or
 * HMAC check). All servers run at once with the
 * profile's Node flags, pinned to core 0; the load runs in its own process pinned to
 * core 1 (taskset); the configurations take turns, rotated each round, and the report
 * gives medians over the rounds and the median of the per-round ratios to the bare server.
 *
 * Correctness first: every credential must get 200 with Remote-User before anything is
 * timed, no credential must get 401, and a run with any non-2xx answer or socket error
 * is reported as invalid.
 *
 * Run: npm run bench:http. Environment: BENCH_PROFILE (embedded-default), BENCH_ROUNDS (5),
 * BENCH_HTTP_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_LOAD_TOOL (wrk|builtin).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProfile } from '../src/config/profile.js';
import { INTEGER_FIELDS } from '../src/config/profile-schema.js';
import { markdownTable, median, resultsDir, writeResults, formatNumber, runBench } from './harness/index.js';
import { bearerToken, firstStartSignIn, signIn } from './load/client.js';
import { sendRequest } from '../test/support/http.js';
import { LAUNCH_ENV, LAUNCH_MMAP_THRESHOLD, type ServerProcess, spawnServer } from './load/processes.js';
import { describeLoad, findTaskset, LOAD_CPU, loadSettings, runLoad, SERVER_CPU } from './load/run.js';
import type { LoadResult } from './load/types.js';
import { machine, reportHead } from './report/machine.js';
import { progress } from './report/progress.js';
import { barChartSvg } from './report/svg.js';

const LOAD = loadSettings('BENCH_HTTP_SECONDS', 32);
const { profile: PROFILE, rounds: ROUNDS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, tool: TOOL } = LOAD;
const cookieRow = (clients: number) => `ringlet cookie mode, ${clients} clients in turn`;
const bearerRow = (clients: number) => `ringlet bearer, ${clients} clients in turn`;

/** Targets from the issue: authenticated GET /auth req/s as a fraction of the bare server's. */
function targetRatios(cacheEntries: number): Readonly<Record<string, number>> {
  return {
    'ringlet RAM (cookie)': 0.85,
    'ringlet cookie mode (JWE)': 0.75,
    'ringlet bearer (JWT)': 0.75,
    [cookieRow(cacheEntries)]: 0.75,
    [bearerRow(cacheEntries)]: 0.75,
    [cookieRow(2 * cacheEntries)]: 0.75,
    [bearerRow(2 * cacheEntries)]: 0.75,
  };
}

interface Config {
  name: string;
  server: ServerProcess;
  path: string;
  headers: Record<string, string>;
  rotate?: { header: string; values: string[] };
}

interface Row {
  name: string;
  rounds: LoadResult[];
  medianRps: number;
  medianP50Ms: number;
  medianP99Ms: number;
  medianRatio: number | undefined;
  target: number | undefined;
  met: boolean | undefined;
  valid: boolean;
}

async function checkCorrectness(configs: Config[], ram: ServerProcess): Promise<void> {
  for (const c of configs) {
    const variants = c.rotate === undefined ? [c.headers] : c.rotate.values.map((v) => ({ ...c.headers, [c.rotate!.header]: v }));
    for (const headers of variants) {
      const reply = await sendRequest(c.server.port, 'GET', c.path, { headers });
      if (reply.status !== 200) throw new Error(`correctness: ${c.name} answered ${reply.status}`);
      if (c.name !== 'bare node:http' && reply.headers['remote-user'] !== 'admin') throw new Error(`correctness: ${c.name} without Remote-User: admin`);
    }
  }
  const anonymous = await sendRequest(ram.port, 'GET', '/auth');
  if (anonymous.status !== 401) throw new Error(`correctness: /auth without a credential answered ${anonymous.status}`);
}

async function main(): Promise<number> {
  const profile = loadProfile(PROFILE);
  /** Clients taking turns: as many as the cache holds (all hits), and twice that (all misses). */
  const cacheClients = profile.verifiedCacheEntries;
  const manyClients = 2 * profile.verifiedCacheEntries;
  const TARGET_RATIO = targetRatios(cacheClients);
  const pinning = findTaskset() !== undefined && machine().cores >= 2;
  const cpu = (n: number) => (pinning ? n : undefined);
  // The load generator is one address standing in for many clients: no per-address cap. The
  // bearer rows need one token per client (2 × verifiedCacheEntries, all minted by admin in
  // the setup): the per-user mint rate is lifted for that setup, which is not measured.
  const ringletArgs = ['--profile', PROFILE, '--users', 'users.json', '--log-level', 'warn', '--max-connections-per-address', String(profile.maxConnections),
    '--token-mints-per-user-per-minute', String(INTEGER_FIELDS.tokenMintsPerUserPerMinute.max)];
  const servers: ServerProcess[] = [];
  try {
    const bare = await spawnServer({ kind: 'baseline', nodeFlags: profile.nodeFlags, env: LAUNCH_ENV, ...(pinning ? { cpu: SERVER_CPU } : {}) });
    servers.push(bare);
    const ram = await spawnServer({ kind: 'ringlet', nodeFlags: profile.nodeFlags, env: LAUNCH_ENV, args: [...ringletArgs, '--mode', 'ram'], ...(pinning ? { cpu: SERVER_CPU } : {}) });
    servers.push(ram);
    const cookie = await spawnServer({ kind: 'ringlet', nodeFlags: profile.nodeFlags, env: LAUNCH_ENV, args: [...ringletArgs, '--mode', 'cookie'], ...(pinning ? { cpu: SERVER_CPU } : {}) });
    servers.push(cookie);
    for (const s of servers) await s.waitReady();
    progress('servers up; signing in (first-start password change, profile scrypt cost)');
    const ramSignIn = await firstStartSignIn(ram.origin, ram.firstPassword() ?? '');
    const cookieSignIn = await firstStartSignIn(cookie.origin, cookie.firstPassword() ?? '');
    const token = await bearerToken(ram.origin, 'admin', ramSignIn.password);
    progress(`signing in ${manyClients} cookie-mode clients and minting ${manyClients} bearer tokens`);
    const manyCookies: string[] = [];
    const manyTokens: string[] = [];
    for (let i = 0; i < manyClients; i++) {
      manyCookies.push((await signIn(cookie.origin, 'admin', cookieSignIn.password)).cookie);
      manyTokens.push(`Bearer ${await bearerToken(ram.origin, 'admin', ramSignIn.password)}`);
    }
    const configs: Config[] = [
      { name: 'bare node:http', server: bare, path: '/auth', headers: {} },
      { name: 'ringlet RAM (cookie)', server: ram, path: '/auth', headers: { Cookie: ramSignIn.cookie } },
      { name: 'ringlet cookie mode (JWE)', server: cookie, path: '/auth', headers: { Cookie: cookieSignIn.cookie } },
      { name: 'ringlet bearer (JWT)', server: ram, path: '/auth', headers: { Authorization: `Bearer ${token}` } },
      ...(cacheClients > 0 ? [
        { name: cookieRow(cacheClients), server: cookie, path: '/auth', headers: {}, rotate: { header: 'Cookie', values: manyCookies.slice(0, cacheClients) } },
        { name: bearerRow(cacheClients), server: ram, path: '/auth', headers: {}, rotate: { header: 'Authorization', values: manyTokens.slice(0, cacheClients) } },
        { name: cookieRow(manyClients), server: cookie, path: '/auth', headers: {}, rotate: { header: 'Cookie', values: manyCookies } },
        { name: bearerRow(manyClients), server: ram, path: '/auth', headers: {}, rotate: { header: 'Authorization', values: manyTokens } },
      ] : []),
    ];
    await checkCorrectness(configs, ram);

    const load = (c: Config, seconds: number) => runLoad(
      { url: `${c.server.origin}${c.path}`, headers: c.headers, rotate: c.rotate, connections: CONNECTIONS, durationMs: seconds * 1000 },
      { tool: TOOL, ...(cpu(LOAD_CPU) !== undefined ? { cpu: LOAD_CPU } : {}) },
    );
    for (const c of configs) {
      progress(`warm-up ${c.name}`);
      await load(c, WARMUP_SECONDS);
    }
    const results = new Map<string, LoadResult[]>(configs.map((c) => [c.name, []]));
    const ratios = new Map<string, number[]>(configs.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = configs.map((_, i) => configs[(i + round) % configs.length] as Config);
      const byName = new Map<string, LoadResult>();
      for (const c of order) {
        const r = await load(c, SECONDS);
        byName.set(c.name, r);
        results.get(c.name)?.push(r);
        progress(`round ${round + 1}/${ROUNDS} ${c.name}: ${Math.round(r.requestsPerSec).toLocaleString('en')} req/s, p99 ${r.latencyP99Ms.toFixed(2)} ms${r.non2xx || r.socketErrors ? ` (${r.non2xx} non-2xx, ${r.socketErrors} socket errors)` : ''}`);
      }
      const bareRps = byName.get('bare node:http')?.requestsPerSec ?? NaN;
      for (const c of configs) ratios.get(c.name)?.push((byName.get(c.name)?.requestsPerSec ?? NaN) / bareRps);
    }
    for (const s of servers) if (s.exitCode !== null) throw new Error(`a server exited during the run:\n${s.stderr}`);

    const rows: Row[] = configs.map((c) => {
      const list = results.get(c.name) ?? [];
      const target = TARGET_RATIO[c.name];
      const medianRatio = c.name === 'bare node:http' ? undefined : median(ratios.get(c.name) ?? []);
      return {
        name: c.name,
        rounds: list,
        medianRps: median(list.map((r) => r.requestsPerSec)),
        medianP50Ms: median(list.map((r) => r.latencyP50Ms)),
        medianP99Ms: median(list.map((r) => r.latencyP99Ms)),
        medianRatio,
        target,
        met: target === undefined || medianRatio === undefined ? undefined : medianRatio >= target,
        valid: list.every((r) => r.non2xx === 0 && r.socketErrors === 0),
      };
    });
    const m = machine();
    const setup = `${describeLoad(LOAD)}; `
      + `${pinning ? `servers pinned to core ${SERVER_CPU}, load to core ${LOAD_CPU} (taskset)` : 'no pinning (taskset missing or one core)'}; `
      + `profile ${PROFILE} (Node flags: ${profile.nodeFlags.join(' ') || 'none'}, same for the bare server; verifiedCacheEntries ${cacheClients}: `
      + `${cacheClients} clients in turn all hit the cache, ${manyClients} all miss it), MALLOC_MMAP_THRESHOLD_=${LAUNCH_MMAP_THRESHOLD} for every server (the documented launch environment), `
      + `ringlet --log-level warn --max-connections-per-address ${profile.maxConnections} (one load address stands for many clients) `
      + `--token-mints-per-user-per-minute ${INTEGER_FIELDS.tokenMintsPerUserPerMinute.max} (the bearer clients' tokens are minted by one user before the runs)`;
    const table = markdownTable(
      ['configuration', 'req/s (median)', 'ratio to bare (median of rounds)', 'p50 ms', 'p99 ms', 'target', 'met', 'valid (no errors)'],
      rows.map((r) => [
        r.name, formatNumber(r.medianRps), r.medianRatio === undefined ? '1 (ceiling)' : `${r.medianRatio.toFixed(3)}×`,
        r.medianP50Ms.toFixed(2), r.medianP99Ms.toFixed(2), r.target === undefined ? '' : `≥ ${r.target}×`,
        r.met === undefined ? '' : r.met ? 'yes' : 'NO', r.valid ? 'yes' : 'NO',
      ]),
    );
    const perRound = markdownTable(
      ['configuration', ...Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1} req/s`)],
      rows.map((r) => [r.name, ...r.rounds.map((x) => formatNumber(x.requestsPerSec))]),
    );
    const markdown = [
      ...reportHead('HTTP: authenticated GET /auth vs a bare node:http server', m, 'Load', setup),
      table,
      '',
      perRound,
      '',
      'Chart: `http-ratios.svg`.',
    ].join('\n');
    writeResults('http', { machine: m, tool: TOOL, connections: CONNECTIONS, rounds: ROUNDS, seconds: SECONDS, pinning, profile: PROFILE, nodeFlags: profile.nodeFlags, verifiedCacheEntries: cacheClients, rows }, markdown);
    writeFileSync(join(resultsDir(), 'http-ratios.svg'), barChartSvg({
      title: `GET /auth req/s as a fraction of bare node:http (median of ${ROUNDS} rounds; black tick = target)`,
      bars: rows.filter((r) => r.medianRatio !== undefined).map((r) => ({ label: r.name, value: r.medianRatio as number, ...(r.target !== undefined ? { target: r.target } : {}) })),
      max: 1,
      valueSuffix: '×',
    }));
    process.stdout.write(`${markdown}\n`);
    return rows.every((r) => r.valid) ? 0 : 1;
  } finally {
    for (const s of servers) await s.stop();
  }
}

runBench('http', main);
