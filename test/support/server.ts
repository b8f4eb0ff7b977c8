/** Starts a real ringlet server on 127.0.0.1:0 in a temp dir, with captured logs, for HTTP tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The shipped bundle (the package's own entry), not the modules: tests start what users run.
import { parseProfile, startServer, validateServerOptions, type RunningServer, type ServerOptions } from 'ringlet';
import type { DeviceProfile } from '../../src/config/profile-schema.js';
import type { MonotonicClock, WallClock } from '../../src/util/clock.js';
import type { KernelClock } from '../../src/server/snapshot-file.js';
import { cookiesFrom, sendRequest, sessionCookieOf, type Reply, type RequestOptions } from './http.js';

/**
 * Fast scrypt for tests (N=2^10 p=1, far below OWASP's table, hence the override); the
 * real profiles' costs are checked by the profile tests and measured by bench/login.ts.
 */
export const TEST_PROFILE: Partial<DeviceProfile> = {
  name: 'test',
  insecureScryptBelowOwasp: true,
  scryptLogN: 10,
  scryptR: 8,
  scryptP: 1,
  capacity: 64,
  maxSessionsPerUser: 8,
  hashConcurrency: 2,
  hashQueueLength: 4,
  // Every test client is 127.0.0.1: a per-address cap would limit the whole suite as one
  // client. The connection tests set their own.
  maxConnectionsPerAddress: 65_536,
};

export interface TestServerOptions {
  mode?: 'ram' | 'cookie';
  profile?: Partial<DeviceProfile>;
  options?: Partial<ServerOptions>;
  monotonic?: MonotonicClock;
  wall?: WallClock;
  dir?: string;
  kernel?: KernelClock;
}

export class TestServer {
  readonly logs: string[] = [];
  readonly stdout: string[] = [];
  running!: RunningServer;
  dir!: string;
  ownsDir = true;

  get port(): number {
    return this.running.port;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The generated first-start admin password, read from what the server printed. */
  get firstPassword(): string {
    const match = /password: (\S+)/.exec(this.stdout.join(''));
    if (!match) throw new Error('no first-start password printed');
    return match[1] as string;
  }

  logEvents(event: string): Array<Record<string, unknown>> {
    return this.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['event'] === event);
  }

  /** A request to this server (test/support/http.ts). */
  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    return sendRequest(this.port, method, path, options);
  }

  async close(): Promise<void> {
    await this.running.close();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const t = new TestServer();
  t.dir = o.dir ?? mkdtempSync(join(tmpdir(), 'ringlet-test-'));
  t.ownsDir = o.dir === undefined;
  const profile = parseProfile({ ...TEST_PROFILE, mode: o.mode ?? 'ram', ...o.profile }, 'test');
  const options = validateServerOptions({ host: '127.0.0.1', port: 0, usersPath: join(t.dir, 'users.json'), logLevel: 'debug', ...o.options });
  t.running = await startServer({
    profile,
    options,
    monotonic: o.monotonic,
    wall: o.wall,
    writeLog: (line) => t.logs.push(line),
    writeOut: (text) => t.stdout.push(text),
    installSignalHandlers: false,
    ...(o.kernel ? { kernel: o.kernel } : {}),
  });
  return t;
}

/** A signed-in session: cookie header, CSRF token, user. Changes the first password when asked. */
export interface SignedIn {
  cookie: string;
  csrf: string;
  user: string;
}

/** The form flow a browser takes: GET /login for the nonce, POST the form. */
export async function formLogin(t: TestServer, username: string, password: string, next = '/'): Promise<Reply> {
  const page = await t.request('GET', '/login');
  const nonceCookie = Object.entries(cookiesFrom(page)).find(([k]) => k.endsWith('ringlet-login'));
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
  return t.request('POST', '/login', {
    headers: { cookie: nonceCookie ? `${nonceCookie[0]}=${nonceCookie[1]}` : '', origin: t.origin },
    form: { username, password, csrf, next },
  });
}

export async function jsonLogin(t: TestServer, username: string, password: string, headers: Record<string, string> = {}): Promise<Reply> {
  return t.request('POST', '/login', { json: { username, password }, headers });
}

/** First start: log in as admin with the printed password and change it to `newPassword`. */
export async function adminWithPassword(t: TestServer, newPassword = 'correct horse battery'): Promise<SignedIn> {
  const first = await jsonLogin(t, 'admin', t.firstPassword);
  if (first.status !== 200) throw new Error(`first login failed: ${first.status} ${first.text}`);
  const cookie = sessionCookieOf(first);
  const changed = await t.request('POST', '/password', {
    headers: { cookie, 'x-csrf-token': first.json.csrfToken, origin: t.origin },
    json: { currentPassword: t.firstPassword, newPassword },
  });
  if (changed.status !== 200) throw new Error(`password change failed: ${changed.status} ${changed.text}`);
  return { cookie: sessionCookieOf(changed), csrf: changed.json.csrfToken, user: 'admin' };
}
