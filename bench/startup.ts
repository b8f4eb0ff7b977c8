/**
 * Startup: time from spawn to the first 200 on GET /healthz, for ringlet on every device
 * profile (with the profile's Node flags) and for a bare node:http server with the same
 * flags, runs interleaved, median reported. ringlet starts as on any boot after the first:
 * the users file exists (the first start, which hashes a generated password at the
 * profile's scrypt cost, is measured once and shown separately). Keys are generated in
 * memory (no --keys). Readiness is polled every 2 ms, the same way for both servers.
 *
 * Run: npm run bench:startup. Environment: BENCH_STARTUP_RUNS (9).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILES_DIR, loadProfile } from '../src/config/profile.js';
import { formatNumber, markdownTable, median, writeResults, runBench } from './harness/index.js';
import { spawnServer, type SpawnSpec } from './load/processes.js';
import { describeMachine, machine } from './report/machine.js';
import { progress } from './report/progress.js';

const RUNS = Number(process.env['BENCH_STARTUP_RUNS'] ?? 9);
const TARGET_RATIO = 1.3;

async function timeToReady(spec: SpawnSpec): Promise<number> {
  const server = await spawnServer(spec);
  try {
    return await server.waitReady('/healthz');
  } finally {
    await server.stop();
  }
}

interface Row {
  profile: string;
  nodeFlags: string[];
  firstStartMs: number;
  ringletMs: number[];
  bareMs: number[];
  medianRingletMs: number;
  medianBareMs: number;
  ratio: number;
  met: boolean;
}

async function main(): Promise<number> {
  const names = readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  const rows: Row[] = [];
  for (const name of names) {
    const profile = loadProfile(name);
    const dir = mkdtempSync(join(tmpdir(), 'ringlet-startup-'));
    try {
      const ringlet: SpawnSpec = { kind: 'ringlet', nodeFlags: profile.nodeFlags, args: ['--profile', name, '--users', 'users.json', '--log-level', 'warn'], dir };
      const bare: SpawnSpec = { kind: 'baseline', nodeFlags: profile.nodeFlags };
      const firstStartMs = await timeToReady(ringlet); // creates users.json
      const ringletMs: number[] = [];
      const bareMs: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        // Alternate which goes first so drift hits both alike.
        if (run % 2 === 0) {
          ringletMs.push(await timeToReady(ringlet));
          bareMs.push(await timeToReady(bare));
        } else {
          bareMs.push(await timeToReady(bare));
          ringletMs.push(await timeToReady(ringlet));
        }
        progress(`${name} run ${run + 1}/${RUNS}: ringlet ${ringletMs.at(-1)?.toFixed(1)} ms, bare ${bareMs.at(-1)?.toFixed(1)} ms`);
      }
      const medianRingletMs = median(ringletMs);
      const medianBareMs = median(bareMs);
      const ratio = medianRingletMs / medianBareMs;
      rows.push({ profile: name, nodeFlags: profile.nodeFlags, firstStartMs, ringletMs, bareMs, medianRingletMs, medianBareMs, ratio, met: ratio <= TARGET_RATIO });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const m = machine();
  const markdown = [
    '### Startup: spawn to first 200 on GET /healthz',
    '',
    `${describeMachine(m)}. Median of ${RUNS} interleaved runs per profile; the bare node:http server runs with the same Node flags. Readiness polled every 2 ms; no pinning.`,
    '',
    markdownTable(
      ['profile', 'Node flags', 'ringlet ms (median)', 'bare ms (median)', 'ratio', `target ≤ ${TARGET_RATIO}×`, 'first start ms (users file created, profile scrypt cost)'],
      rows.map((r) => [r.profile, r.nodeFlags.join(' ') || '-', formatNumber(r.medianRingletMs, 1), formatNumber(r.medianBareMs, 1), `${r.ratio.toFixed(2)}×`, r.met ? 'yes' : 'NO', formatNumber(r.firstStartMs, 0)]),
    ),
  ].join('\n');
  writeResults('startup', { machine: m, runs: RUNS, targetRatio: TARGET_RATIO, rows }, markdown);
  process.stdout.write(`${markdown}\n`);
  return 0;
}

runBench('startup', main);
