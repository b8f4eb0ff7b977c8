/**
 * One load run in its own process: wrk when installed (closed loop only), else the
 * built-in generator; pinned with `taskset` to the given core when taskset exists.
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findWrk, parseWrkOutput, rotationScript, wrkArgs } from './wrk.js';
import type { LoadResult, LoadSpec, LoadTool } from './types.js';

const GENERATOR_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));

let tasksetPath: string | null | undefined;

/** /usr/bin/taskset when present (util-linux), else undefined. */
export function findTaskset(): string | undefined {
  if (tasksetPath === undefined) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      tasksetPath = 'taskset';
    } catch {
      tasksetPath = null;
    }
  }
  return tasksetPath ?? undefined;
}

/** `command args` prefixed with `taskset -c <cpu>` when pinning is asked for and possible. */
export function pinned(cpu: number | undefined, command: string, args: string[]): [string, string[]] {
  const taskset = cpu === undefined ? undefined : findTaskset();
  return taskset === undefined ? [command, args] : [taskset, ['-c', String(cpu), command, ...args]];
}

/** The cores a pinned HTTP bench uses: the server(s) under test on one, the load generator on the other. */
export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

/** What an HTTP load bench reads from its environment (the README's benchmark section names the variables). */
export interface LoadSettings {
  /** BENCH_PROFILE (embedded-default). */
  profile: string;
  /** BENCH_ROUNDS (5): interleaved rounds per configuration. */
  rounds: number;
  /** Seconds per round, from the bench's own variable. */
  seconds: number;
  /** Untimed seconds before each round. */
  warmupSeconds: number;
  /** BENCH_CONNECTIONS. */
  connections: number;
  /** BENCH_LOAD_TOOL (wrk when installed, else builtin). */
  tool: LoadTool;
}

export function loadSettings(secondsVariable: string, defaultConnections: number): LoadSettings {
  return {
    profile: process.env['BENCH_PROFILE'] ?? 'embedded-default',
    rounds: Number(process.env['BENCH_ROUNDS'] ?? 5),
    seconds: Number(process.env[secondsVariable] ?? 5),
    warmupSeconds: 2,
    connections: Number(process.env['BENCH_CONNECTIONS'] ?? defaultConnections),
    tool: (process.env['BENCH_LOAD_TOOL'] as LoadTool | undefined) ?? defaultTool(),
  };
}

/** How the load was made, for a report: `wrk 4.1 (-t1), 32 connections, 5 interleaved rounds of 5 s after a 2 s warm-up each`. */
export function describeLoad(s: LoadSettings): string {
  return `${s.tool === 'wrk' ? 'wrk 4.1 (-t1)' : 'built-in keep-alive generator (bench/load)'}, ${s.connections} connections, ${s.rounds} interleaved rounds of ${s.seconds} s after a ${s.warmupSeconds} s warm-up each`;
}

/** Which tool a closed-loop run uses here (paced runs always use the built-in generator). */
export function defaultTool(): LoadTool {
  return findWrk() === undefined ? 'builtin' : 'wrk';
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface LoadRunOptions {
  tool?: LoadTool;
  /** Core to pin the load process to. */
  cpu?: number;
}

export async function runLoad(spec: LoadSpec, options: LoadRunOptions = {}): Promise<LoadResult> {
  const tool = spec.ratePerSec !== undefined ? 'builtin' : options.tool ?? defaultTool();
  const timeoutMs = spec.durationMs + 30_000;
  if (tool === 'wrk') {
    const wrk = findWrk();
    if (wrk === undefined) throw new Error('wrk is not installed');
    const dir = spec.rotate === undefined ? undefined : mkdtempSync(join(tmpdir(), 'ringlet-wrk-'));
    try {
      const script = dir === undefined || spec.rotate === undefined ? undefined : join(dir, 'rotate.lua');
      if (script !== undefined && spec.rotate !== undefined) writeFileSync(script, rotationScript(spec.rotate));
      const [command, args] = pinned(options.cpu, wrk, wrkArgs(spec, script));
      return { tool: 'wrk', ...parseWrkOutput(await run(command, args, timeoutMs)) };
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  }
  const [command, args] = pinned(options.cpu, process.execPath, [GENERATOR_ENTRY, JSON.stringify(spec)]);
  const out = await run(command, args, timeoutMs);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult;
}
