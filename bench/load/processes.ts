/**
 * Servers under test as child processes: ringlet through its CLI (the shipped bundle,
 * dist/ringlet.js) with a profile's Node flags, or the bare baseline server with the same
 * flags. Each gets a port picked here (the CLI wants a fixed one), its own temp directory,
 * and optional pinning to one core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { sendRequest } from '../../test/support/http.js';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './run.js';

/** The shipped CLI: the one-module bundle the package's `bin`, `npm start` and the recipes run. */
export const RINGLET_CLI = fileURLToPath(new URL('../../ringlet.js', import.meta.url));
/** tsc's many-module output of the same CLI: only for side-by-side runs (bench/footprint.ts, BENCH_RINGLET_BUILD). */
export const RINGLET_MODULES_CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/**
 * Which build the benches start: `bundle` (default: what ships) or `modules` (tsc's output,
 * for a before/after comparison; bench/memory.ts then writes memory-modules-latest.*).
 */
export const RINGLET_BUILD: 'bundle' | 'modules' = process.env['BENCH_RINGLET_BUILD'] === 'modules' ? 'modules' : 'bundle';
export const BASELINE_SERVER = fileURLToPath(new URL('../baseline-server.js', import.meta.url));
/** Another compiled bench script (dist/bench/<name>.js) run as a server, e.g. the proxy bench's upstream. */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`../${name}.js`, import.meta.url));
}
/**
 * glibc's mmap threshold in the launch environment the README documents (`npm start`, the
 * systemd unit): freed scrypt blocks go back to the OS. Every bench starts servers with it.
 */
export const LAUNCH_MMAP_THRESHOLD = '131072';
/** That launch environment, for every server a bench starts alike. */
export const LAUNCH_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: LAUNCH_MMAP_THRESHOLD };
/** Output kept per stream: the first-start password is near the start, errors near the end. */
const MAX_CAPTURED_CHARS = 64 * 1024;

/** A port that was free a moment ago (bind to 0, read, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface SpawnSpec {
  /** ringlet's CLI, the bare baseline server, or `script` (a bench script path). */
  kind: 'ringlet' | 'baseline' | 'script';
  nodeFlags: readonly string[];
  /** Arguments after the script (ringlet: after `serve`). --port is added here. */
  args?: readonly string[];
  env?: Record<string, string>;
  cpu?: number;
  /** Working directory (users file etc.); a fresh temp dir when absent. */
  dir?: string;
  /** ringlet: the CLI file to run (default RINGLET_CLI, the bundle); `script`: the file to run. */
  script?: string;
}

export class ServerProcess {
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly dir: string,
    private readonly ownsDir: boolean,
    readonly spawnedAtMs: number,
  ) {
    child.stdout?.on('data', (c: Buffer) => {
      if (this.stdout.length < MAX_CAPTURED_CHARS) this.stdout += c.toString('utf8');
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString('utf8')).slice(-MAX_CAPTURED_CHARS);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : 1);
      resolve();
    }));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The first-start admin password ringlet printed, once it has. */
  firstPassword(): string | undefined {
    return /password: (\S+)/.exec(this.stdout)?.[1];
  }

  /** Polls GET `path` every `intervalMs` until 200; resolves with ms since spawn. */
  async waitReady(path = '/healthz', timeoutMs = 20_000, intervalMs = 2): Promise<number> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      if (this.exitCode !== null) throw new Error(`server exited (${this.exitCode}) before answering:\n${this.stderr}`);
      if ((await sendRequest(this.port, 'GET', path, { settle: true })).status === 200) return performance.now() - this.spawnedAtMs;
      if (performance.now() > until) throw new Error(`server did not answer ${path} within ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async stop(): Promise<void> {
    if (this.exitCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function spawnServer(spec: SpawnSpec): Promise<ServerProcess> {
  const port = await freePort();
  const ownsDir = spec.dir === undefined;
  const dir = spec.dir ?? mkdtempSync(join(tmpdir(), 'ringlet-bench-'));
  const script = spec.kind === 'ringlet' ? [spec.script ?? (RINGLET_BUILD === 'modules' ? RINGLET_MODULES_CLI : RINGLET_CLI), 'serve'] : spec.kind === 'script' ? [spec.script ?? ''] : [BASELINE_SERVER];
  const args = [...spec.nodeFlags, ...script, ...(spec.args ?? []), '--port', String(port)];
  const [command, argv] = pinned(spec.cpu, process.execPath, args);
  const spawnedAtMs = performance.now();
  const child = spawn(command, argv, {
    cwd: dir,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ServerProcess(child, port, dir, ownsDir, spawnedAtMs);
}

export interface RssSample {
  rssBytes: number;
  /** VmHWM: the kernel's own peak RSS of the process so far. */
  peakRssBytes: number;
}

/** /proc/<pid>/<file> (Linux); undefined when unavailable (another system, or the process is gone). */
function readProc(pid: number, file: 'status' | 'stat'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined;
  }
}

/** RSS and peak RSS from /proc/<pid>/status (Linux); undefined when unavailable. */
export function readRss(pid: number): RssSample | undefined {
  const text = readProc(pid, 'status');
  if (text === undefined) return undefined;
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text);
  if (rss === null || hwm === null) return undefined;
  return { rssBytes: Number(rss[1]) * 1024, peakRssBytes: Number(hwm[1]) * 1024 };
}

let clockTicksPerSecond: number | undefined;

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat;
 * undefined when unavailable. Clock-tick resolution (usually 10 ms): read it around runs of
 * seconds, not single requests. Unlike throughput, CPU per request hardly changes when
 * other processes compete for the cores.
 */
export function readCpuMs(pid: number): number | undefined {
  const text = readProc(pid, 'stat');
  if (text === undefined) return undefined;
  // Fields after the parenthesised command name (which may contain spaces); utime and stime are fields 14 and 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) return undefined;
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return (ticks * 1000) / clockTicksPerSecond;
}
