/**
 * The few HTTP calls a benchmark makes to set ringlet up: the first-start sign-in and
 * password change a person would do, and a bearer token (through the tests' one client,
 * test/support/http.ts).
 */
import type { Agent } from 'node:http';
import { sendRequest, sessionCookieOf, type Reply } from '../../test/support/http.js';

/** The port of a server's `http://127.0.0.1:<port>` origin. */
function portOf(origin: string): number {
  return Number(new URL(origin).port);
}

function json(reply: Reply, what: string): Record<string, unknown> {
  if (reply.status !== 200 || typeof reply.json !== 'object' || reply.json === null) throw new Error(`${what}: HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
  return reply.json as Record<string, unknown>;
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
  const first = await sendRequest(portOf(origin), 'POST', '/login', { json: { username: 'admin', password: firstPassword } });
  const firstJson = json(first, 'first sign-in');
  const changed = await sendRequest(portOf(origin), 'POST', '/password', {
    headers: { cookie: sessionCookieOf(first), 'x-csrf-token': String(firstJson['csrfToken']), origin },
    json: { currentPassword: firstPassword, newPassword },
  });
  json(changed, 'password change');
  return signIn(origin, 'admin', newPassword);
}

export async function signIn(origin: string, username: string, password: string, agent?: Agent): Promise<SignedIn> {
  const reply = await sendRequest(portOf(origin), 'POST', '/login', { json: { username, password }, ...(agent ? { agent } : {}) });
  const body = json(reply, 'sign-in');
  return { cookie: sessionCookieOf(reply), csrf: String(body['csrfToken']), password };
}

export async function bearerToken(origin: string, username: string, password: string): Promise<string> {
  const body = json(await sendRequest(portOf(origin), 'POST', '/token', { json: { username, password } }), 'token');
  return String(body['access_token']);
}
