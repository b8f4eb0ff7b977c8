/**
 * Running `wrk` (Debian's 4.1.0) and reading its text report. wrk has no machine-readable
 * output without a Lua script, so the summary lines are parsed, and a report that lacks
 * one of them is an error rather than a zero.
 */
import { execFileSync } from 'node:child_process';
import type { LoadResult, LoadSpec } from './types.js';

const WRK_PATHS = ['/usr/bin/wrk', '/usr/local/bin/wrk'];

/** The wrk binary, or undefined when it is not installed (then the built-in generator runs). */
export function findWrk(): string | undefined {
  for (const path of WRK_PATHS) {
    try {
      execFileSync(path, ['--version'], { stdio: 'ignore' });
      return path;
    } catch (err) {
      // `wrk --version` prints usage and exits 1: it exists when the error is an exit code.
      if (typeof (err as { status?: unknown }).status === 'number') return path;
    }
  }
  return undefined;
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "553.06us", "1.20ms", "2.00s" → milliseconds. */
export function parseWrkDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (m === null) throw new Error(`wrk: unreadable duration "${text}"`);
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** Reads wrk's report (run with --latency). Throws when a required line is missing. */
export function parseWrkOutput(text: string): Omit<LoadResult, 'tool'> {
  const total = /(\d+) requests in ([\d.]+(?:us|ms|s|m|h)),/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p50 = /^\s*50%\s+(\S+)/m.exec(text);
  const p99 = /^\s*99%\s+(\S+)/m.exec(text);
  if (total === null || rps === null || p50 === null || p99 === null) {
    throw new Error(`wrk: report not understood:\n${text}`);
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = errors === null ? 0 : errors.slice(1, 5).reduce((sum, n) => sum + Number(n), 0);
  return {
    requests: Number(total[1]),
    durationMs: parseWrkDuration(total[2] as string),
    requestsPerSec: Number(rps[1]),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors,
    latencyP50Ms: parseWrkDuration(p50[1] as string),
    latencyP99Ms: parseWrkDuration(p99[1] as string),
  };
}

/**
 * The Lua script for `spec.rotate`: each request carries the next value of the header.
 * JSON string literals are valid Lua string literals for the printable ASCII of cookies
 * and tokens; anything else is refused rather than mangled.
 */
export function rotationScript(rotate: NonNullable<LoadSpec['rotate']>): string {
  const printable = /^[\x20-\x7e]*$/;
  if (rotate.values.length === 0 || ![rotate.header, ...rotate.values].every((v) => printable.test(v))) {
    throw new Error('wrk rotation: values must be non-empty printable ASCII');
  }
  return [
    'local values = {',
    ...rotate.values.map((v) => `  ${JSON.stringify(v)},`),
    '}',
    'local turn = 0',
    'request = function()',
    '  turn = turn % #values + 1',
    `  wrk.headers[${JSON.stringify(rotate.header)}] = values[turn]`,
    '  return wrk.format()',
    'end',
    '',
  ].join('\n');
}

/** wrk's arguments for a spec: one thread (the load gets one core), --latency for percentiles. */
export function wrkArgs(spec: LoadSpec, scriptPath?: string): string[] {
  if (spec.rotate !== undefined && scriptPath === undefined) throw new Error('wrk rotation needs its Lua script');
  if (spec.ratePerSec !== undefined) throw new Error('wrk cannot pace requests; use the built-in generator');
  const args = ['-t1', `-c${spec.connections}`, `-d${Math.max(1, Math.round(spec.durationMs / 1000))}s`, '--latency'];
  for (const [name, value] of Object.entries(spec.headers)) args.push('-H', `${name}: ${value}`);
  if (scriptPath !== undefined) args.push('-s', scriptPath);
  args.push(spec.url);
  return args;
}
