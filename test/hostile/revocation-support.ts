/**
 * What the revocation restart tests share: a workspace with a users file (admin, alice, bob)
 * and a keys file, the built CLI started on them, and small HTTP helpers.
 */
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPasswordSync, saveUsersFile, UsersDb } from '../../src/users/index.js';
import { startCliServer, type CliServer } from '../support/cli-server.js';
import { cookiesFrom, type Reply } from '../support/http.js';

export const PASSWORD = 'restart revocation passphrase';
export const NEW_PASSWORD = 'a brand new passphrase for bob';
const COST = { logN: 10, r: 8, p: 1 };

export interface Workspace {
  dir: string;
  usersPath: string;
  keysPath: string;
  revocationsPath: string;
  start(mode: 'ram' | 'cookie', extra?: string[]): Promise<CliServer>;
}

export function workspace(t: Test): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-revocation-restart-'));
  const usersPath = join(dir, 'users.json');
  const keysPath = join(dir, 'keys.json');
  const hash = hashPasswordSync(PASSWORD, COST);
  saveUsersFile(usersPath, new UsersDb([
    { name: 'admin', role: 'admin', hash, mustChangePassword: false },
    { name: 'alice', role: 'viewer', hash, mustChangePassword: false },
    { name: 'bob', role: 'viewer', hash, mustChangePassword: false },
  ]));
  const running: CliServer[] = [];
  t.teardown(async () => {
    for (const s of running) await s.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir, usersPath, keysPath,
    // The documented default: next to the keys file, named after it.
    revocationsPath: join(dir, 'keys.revocations.json'),
    start: async (mode, extra = []) => {
      const s = await startCliServer(['--mode', mode, '--users', usersPath, '--keys', keysPath, '--scrypt-log-n', '10', '--insecure-scrypt-below-owasp', ...extra]);
      running.push(s);
      return s;
    },
  };
}

export function cookieOf(reply: Reply): string {
  const cookies = cookiesFrom(reply);
  const name = Object.keys(cookies).find((k) => k === 'ringlet');
  if (name === undefined) throw new Error(`no session cookie in a ${reply.status} reply: ${reply.text}`);
  return `ringlet=${cookies[name]}`;
}

export interface Signed {
  cookie: string;
  csrf: string;
}

export async function login(s: CliServer, user: string, password = PASSWORD): Promise<Signed> {
  const r = await s.request('POST', '/login', { json: { username: user, password } });
  if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${r.text}`);
  return { cookie: cookieOf(r), csrf: r.json.csrfToken as string };
}

export async function token(s: CliServer, user: string, password = PASSWORD): Promise<string> {
  const r = await s.request('POST', '/token', { json: { username: user, password } });
  if (r.status !== 200) throw new Error(`token ${user}: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}

export const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });
export const jtiOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1]!, 'base64url').toString('utf8')).jti as string;

export async function status(s: CliServer, headers: Record<string, string>): Promise<number> {
  return (await s.request('GET', '/session', { headers })).status;
}

export async function post(s: CliServer, path: string, who: Signed | string, json: unknown): Promise<Reply> {
  const headers: Record<string, string> = typeof who === 'string'
    ? bearer(who)
    : { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: s.origin };
  return s.request('POST', path, { headers, json });
}

