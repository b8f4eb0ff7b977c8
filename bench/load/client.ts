/**
 * The few HTTP calls a benchmark makes to set ringlet up: the first-start sign-in and
 * password change a person would do, a bearer token, and the login flood's logins.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface CallOptions {
  headers?: Record<string, string>;
  json?: unknown;
  agent?: Agent;
}

export function call(origin: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const url = new URL(path, origin);
  const headers: Record<string, string> = { ...options.headers };
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `name=value` of the session cookie a reply sets. */
export function sessionCookie(reply: Reply): string {
  for (const line of reply.headers['set-cookie'] ?? []) {
    const pair = line.split(';')[0] ?? '';
    const name = pair.slice(0, pair.indexOf('='));
    if (name === 'ringlet' || name === '__Host-ringlet') return pair;
  }
  throw new Error(`no session cookie in a ${reply.status} reply`);
}

function json(reply: Reply, what: string): Record<string, unknown> {
  if (reply.status !== 200) throw new Error(`${what}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
  return JSON.parse(reply.body) as Record<string, unknown>;
}

export interface SignedIn {
  cookie: string;
  csrf: string;
  password: string;
}

/**
 * What an operator does after the first start: sign in with the printed password, change
 * it (X-CSRF-Token + Origin, as a browser would send), sign in again.
 */
export async function firstStartSignIn(origin: string, firstPassword: string, newPassword = 'bench horse battery staple'): Promise<SignedIn> {
  const first = await call(origin, 'POST', '/login', { json: { username: 'admin', password: firstPassword } });
  const firstJson = json(first, 'first sign-in');
  const changed = await call(origin, 'POST', '/password', {
    headers: { cookie: sessionCookie(first), 'x-csrf-token': String(firstJson['csrfToken']), origin },
    json: { currentPassword: firstPassword, newPassword },
  });
  json(changed, 'password change');
  return signIn(origin, 'admin', newPassword);
}

export async function signIn(origin: string, username: string, password: string, agent?: Agent): Promise<SignedIn> {
  const reply = await call(origin, 'POST', '/login', { json: { username, password }, ...(agent ? { agent } : {}) });
  const body = json(reply, 'sign-in');
  return { cookie: sessionCookie(reply), csrf: String(body['csrfToken']), password };
}

export async function bearerToken(origin: string, username: string, password: string): Promise<string> {
  const body = json(await call(origin, 'POST', '/token', { json: { username, password } }), 'token');
  return String(body['access_token']);
}
