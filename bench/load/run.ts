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
