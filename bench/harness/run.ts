/** How a benchmark script runs: which device profiles it measures, and its exit. */
import { readdirSync } from 'node:fs';
import { PROFILES_DIR } from '../../src/config/profile.js';

/** The profiles to measure: BENCH_PROFILES (a comma list, in its order), else every profile in device-profiles/ by name. */
export function benchProfiles(): string[] {
  const wanted = process.env['BENCH_PROFILES']?.split(',').filter(Boolean) ?? [];
  return wanted.length > 0 ? wanted : readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** Runs a bench's main: its result is the exit code; a throw is one line on stderr and exit 1. */
export function runBench(name: string, main: () => Promise<number>): void {
  main().then((code) => {
    process.exitCode = code;
  }, (err: unknown) => {
    process.stderr.write(`bench ${name}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
