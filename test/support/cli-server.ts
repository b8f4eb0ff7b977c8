/**
 * The built CLI (`ringlet serve`) as a child process, for tests that restart real processes:
 * waits for the `listening` log line, speaks HTTP to it, and ends it with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sendRequest, type Reply, type RequestOptions } from './http.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The shipped one-module bundle (the package's `bin`): `node dist/ringlet.js serve ...`. */
export const BUNDLE_CLI = fileURLToPath(new URL('../../ringlet.js', import.meta.url));

/** Longest wait for a child to listen (the machine may be shared and slow). */
const START_TIMEOUT_MS = 30_000;

export class CliServer {
  stderr = '';
  stdout = '';
  port = 0;
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => { this.stdout += d.toString('utf8'); });
    child.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString('utf8'); });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Parsed JSON log lines with this `event`. */
  logEvents(event: string): Array<Record<string, unknown>> {
    return this.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['event'] === event);
  }

  /** A request to this server (test/support/http.ts). */
  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    return sendRequest(this.port, method, path, options);
  }

  /** Sends `signal` and waits for the exit code (SIGKILL: a crash, nothing flushed). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/**
 * Starts `ringlet serve ARGS --port 0` and resolves once it listens; rejects with its stderr
 * if it exits first. `cli`: the many-module build (default) or BUNDLE_CLI.
 */
export async function startCliServer(args: string[], env: Record<string, string> = {}, cli = CLI): Promise<CliServer> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', MALLOC_MMAP_THRESHOLD_: '131072', ...env },
  });
  const server = new CliServer(child);
  server.port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line within ${START_TIMEOUT_MS} ms: ${server.stderr}`));
    }, START_TIMEOUT_MS);
    const look = () => {
      const m = /"event":"listening","url":"http:\/\/127\.0\.0\.1:(\d+)\//.exec(server.stderr);
      if (m) {
        clearTimeout(timer);
        child.stderr?.off('data', look);
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ringlet serve exited with ${code} before listening: ${server.stderr}`));
    });
  });
  return server;
}
