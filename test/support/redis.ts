/**
 * A real redis-server for tests: a temp dir, a free loopback port, no persistence
 * (`--save '' --appendonly no`; or an append-only file synced on every write, when asked),
 * optional `--requirepass`, ACL users and TLS. It can be killed (SIGKILL, as a crash) and
 * restarted on the same port. Tests skip with a reason
 * only when no redis-server binary can be found (.ci/run installs Debian's).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findBinary(): string | undefined {
  for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']) {
    if (existsSync(candidate)) return candidate;
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found !== '' ? found : undefined;
}

export const REDIS_SERVER: string | undefined = findBinary();
/** For `t.test(..., { skip: REDIS_SKIP })`. */
export const REDIS_SKIP: string | false = REDIS_SERVER === undefined ? 'redis-server not found (apt-get install redis-server; .ci/run does)' : false;

/** A self-signed certificate for 127.0.0.1 and localhost (or `names`), made with openssl. */
export function selfSignedCert(dir: string, names = 'IP:127.0.0.1,DNS:localhost'): { cert: string; key: string } | string {
  const cert = join(dir, `cert-${names.length}.pem`);
  const key = join(dir, `key-${names.length}.pem`);
  const made = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', key, '-out', cert, '-subj', '/CN=ringlet-test', '-addext', `subjectAltName=${names}`,
  ], { encoding: 'utf8' });
  if (made.status !== 0) return `openssl failed: ${(made.stderr || made.error?.message || '').split('\n')[0]}`;
  return { cert, key };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisUser {
  name: string;
  password: string;
  /** ACL rules, e.g. ['~ringlet:*', '&ringlet:*', '+@all']. */
  rules: string[];
}

export interface RedisOptions {
  /** `requirepass` (the default user's password). */
  password?: string;
  users?: RedisUser[];
  tls?: { cert: string; key: string };
  /** Keep the data across kill() and restart() (append-only file, fsync on every write). */
  persistent?: boolean;
}

export class RedisProcess {
  readonly port: number;
  readonly dir: string;
  readonly #args: string[];
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number, dir: string, args: string[]) {
    this.port = port;
    this.dir = dir;
    this.#args = args;
  }

  static async start(options: RedisOptions = {}): Promise<RedisProcess> {
    if (REDIS_SERVER === undefined) throw new Error('redis-server not found');
    const dir = mkdtempSync(join(tmpdir(), 'ringlet-redis-'));
    const port = await freePort();
    // A config file: ACL lines hold ">password" and "~pattern", awkward as arguments.
    const lines = [
      'bind 127.0.0.1', 'protected-mode no', "save ''", ...(options.persistent === true ? ['appendonly yes', 'appendfsync always'] : ['appendonly no']), `dir ${dir}`, 'loglevel notice', 'daemonize no',
      ...(options.tls ? ['port 0', `tls-port ${port}`, `tls-cert-file ${options.tls.cert}`, `tls-key-file ${options.tls.key}`, `tls-ca-cert-file ${options.tls.cert}`, 'tls-auth-clients no'] : [`port ${port}`]),
      ...(options.password !== undefined ? [`requirepass ${options.password}`] : []),
      ...(options.users ?? []).map((u) => `user ${u.name} on >${u.password} ${u.rules.join(' ')}`),
    ];
    const conf = join(dir, 'redis.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const redis = new RedisProcess(port, dir, [conf]);
    await redis.#spawn();
    return redis;
  }

  /** The server's output so far (for a failing assertion's message). */
  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async #spawn(): Promise<void> {
    const child = spawn(REDIS_SERVER as string, this.#args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${this.#log}`)), 10_000);
      const onData = (chunk: Buffer): void => {
        this.#log = `${this.#log}${chunk.toString('utf8')}`.slice(-20_000);
        if (/Ready to accept connections/.test(this.#log)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${this.#log}`));
      });
    });
    this.#log = '';
  }

  /** Kills the server like a crash (SIGKILL) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Stops the process (SIGSTOP): its sockets stay open and nothing is answered, like a stalled engine. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a paused process run again (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Starts it again on the same port, with the same configuration (and no data, unless persistent). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
