/**
 * The tests' one HTTP client, and the one reading of what comes back: every request a test
 * makes to a real server (ringlet, the library's test app, a proxy in front, a stand-in)
 * goes through `sendRequest` and gets the same `Reply`; every Set-Cookie line is read
 * with the helpers below. Raw sockets, upgrades and streamed bodies are the only requests
 * a test writes itself (what they test is below what a client sees).
 */
import { request as httpRequest, type Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';

export interface Reply {
  /** 0 when there was no answer (with `settle`). */
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: any;
  /** With `settle`: the socket error (ECONNRESET, socket hang up, ...) when there was no answer. */
  error?: string;
}

export interface RequestOptions {
  headers?: Record<string, string | string[]>;
  /** A JSON body (and its Content-Type, unless given). */
  json?: unknown;
  /** A urlencoded body (and its Content-Type, unless given). */
  form?: Record<string, string>;
  body?: string | Buffer;
  /** Default: a connection of its own, closed after the answer. */
  agent?: HttpAgent | HttpsAgent;
  /** HTTPS, trusting the test's self-signed certificate. */
  tls?: boolean;
  /** The client address to send from (another loopback address plays another client). */
  localAddress?: string;
  host?: string;
  /** Resolve with status 0 and `error` instead of rejecting when there is no answer (attack tests count those). */
  settle?: boolean;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One request to `127.0.0.1:port` (or `options.host`); resolves with the whole answer.
 *
 * @example
 * const r = await sendRequest(s.port, 'POST', '/login', { json: { username: 'admin', password } });
 */
export function sendRequest(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string | string[]> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  const request = options.tls === true ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => {
      if (options.settle === true) resolve({ status: 0, headers: {}, text: '', json: undefined, error: err.code ?? err.message });
      else reject(err);
    };
    const req = request({
      host: options.host ?? '127.0.0.1', port, method, path, headers, agent: options.agent ?? false,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      ...(options.tls === true ? { rejectUnauthorized: false } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** A reply's Set-Cookie lines (none: an empty list). */
export function setCookieLines(reply: Pick<Reply, 'headers'>): string[] {
  return reply.headers['set-cookie'] ?? [];
}

/** Whether a Set-Cookie line sets `name` (a RegExp is tested against the cookie's name). */
function sets(line: string, name: string | RegExp): boolean {
  return typeof name === 'string' ? line.startsWith(`${name}=`) : name.test(line.slice(0, line.indexOf('=')));
}

/** The Set-Cookie line that sets `name` (the last one: what a browser keeps), or undefined. */
export function setCookieLine(reply: Pick<Reply, 'headers'>, name: string | RegExp): string | undefined {
  return setCookieLines(reply).findLast((line) => sets(line, name));
}

/** Every cookie a reply sets, name → value (a later line for the same name wins). */
export function cookiesFrom(reply: Pick<Reply, 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of setCookieLines(reply)) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * `name=value` for a Cookie header, from the reply's Set-Cookie for `name` (a RegExp: the
 * cookie's name matches it); throws, naming the reply, when it sets none.
 */
export function cookiePair(reply: Pick<Reply, 'headers' | 'status'> & { error?: string }, name: string | RegExp): string {
  const line = setCookieLine(reply, name);
  if (line === undefined) {
    throw new Error(`no ${String(name)} cookie in the ${reply.status} reply${reply.error === undefined ? '' : ` (${reply.error})`} (Set-Cookie: ${setCookieLines(reply).join(' | ')})`);
  }
  return line.split(';')[0] as string;
}

/** ringlet's session cookie (`ringlet`, or `__Host-ringlet` over TLS). */
export const SESSION_COOKIE = /^(__Host-)?ringlet$/;

/** `name=value` of the session cookie ringlet set; throws when it set none. */
export function sessionCookieOf(reply: Pick<Reply, 'headers' | 'status'> & { error?: string }): string {
  return cookiePair(reply, SESSION_COOKIE);
}
