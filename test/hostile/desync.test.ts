/**
 * The desync harness (issue 12): a lenient upstream (recording-upstream.ts) that records
 * every request it parses, driven through ringlet over raw sockets with every request
 * smuggling shape we know, while a victim (the admin) keeps using the same ringlet and so
 * the same upstream connections. The attacker is an ordinary viewer.
 *
 * The assertion for every case: the upstream saw exactly the requests each client was
 * entitled to send, each carrying exactly that client's identity (one Remote-User, one
 * Remote-Groups, none of the client's spoofed identity headers), and every answer the
 * victim got is the answer to the victim's own request. Run in RAM and cookie mode.
 */
import t from 'tap';
import { connect, type Socket } from 'node:net';
import type { Test } from 'tap';
import { DEFAULT_ROLE_PERMISSIONS } from '../../src/access/permissions.js';
import { setPassword } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';
import { assertNoSecrets, cookieValue, statusOfRaw } from './client.js';
import { header, startRecordingUpstream, type Recorded, type RecordingUpstream } from '../support/recording-upstream.js';

const PASSWORD = 'desync harness passphrase';
const VIEWER_PASSWORD = `viewer ${PASSWORD}`;
/** Time the upstream gets to show a request it should not have seen. */
const GRACE_MS = 150;

/** Identity headers an attacker writes, in every spelling the upstream would understand. */
const SPOOFED_NAMES = ['remote-user', 'remote-groups', 'remote-email', 'remote-name', 'x-remote-user', 'x-forwarded-user', 'x-forwarded-email',
  'x-forwarded-groups', 'x-auth-request-user', 'x-auth-request-email', 'x-auth-request-groups', 'x-real-ip', 'forwarded'];
const SPOOFED_VALUE = 'admin-spoofed';

/** A request line and headers that smuggle an admin identity if the upstream ever parses them as a request. */
const SMUGGLED = 'GET /admin-only HTTP/1.1\r\nHost: 127.0.0.1\r\nRemote-User: admin\r\nRemote-Groups: admin\r\nX-Smuggled: 1\r\n\r\n';

interface Entitled {
  user: string;
  role: string;
  method: string;
  target: string;
  body?: string;
  /** The request may or may not have reached the upstream (the client aborted it itself). */
  optional?: boolean;
}

/** A raw connection to ringlet: write bytes, read everything, half-close, wait for the close. */
class Raw {
  readonly socket: Socket;
  text = '';
  closed = false;
  readonly #closedPromise: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => { this.text += d.toString('latin1'); });
    this.socket.on('error', () => undefined);
    this.#closedPromise = new Promise((resolve) => this.socket.on('close', () => {
      this.closed = true;
      resolve();
    }));
  }

  write(bytes: string): this {
    this.socket.write(bytes, 'latin1');
    return this;
  }

  /** Half-close: the client sends FIN and keeps reading. */
  end(): this {
    this.socket.end();
    return this;
  }

  async waitFor(pattern: RegExp, ms = 2000): Promise<boolean> {
    const until = Date.now() + ms;
    while (!pattern.test(this.text) && !this.closed && Date.now() < until) await sleep(10);
    return pattern.test(this.text);
  }

  /** True when the connection closed within `ms`. */
  async waitClose(ms = 2000): Promise<boolean> {
    await Promise.race([this.#closedPromise, sleep(ms)]);
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

interface Harness {
  s: TestServer;
  up: RecordingUpstream;
  host: string;
  viewer: { cookie: string; csrf: string };
  admin: { cookie: string; csrf: string };
  victimRound: number;
}

/**
 * Header lines of a request as the viewer's browser would send them: Host, the cookie, and
 * (unless `browser` is false or the case sets its own) a same-origin Origin and the
 * session's CSRF token, so that every refusal below comes from the proxy's rules and not
 * from a missing same-origin proof.
 */
function head(h: Harness, cookie: string | undefined, lines: string[] = [], browser = true): string {
  const proof = browser && cookie !== undefined && !lines.some((l) => /^origin:/i.test(l))
    ? [`Origin: http://${h.host}`, ...(cookie === h.viewer.cookie ? [`X-CSRF-Token: ${h.viewer.csrf}`] : [])]
    : [];
  return [`Host: ${h.host}`, ...(cookie ? [`Cookie: ${cookie}`] : []), ...proof, ...lines].map((l) => `${l}\r\n`).join('');
}

/** Every spoofed identity header, in `-`, `_` and upper-case spellings. */
function spoofLines(): string[] {
  const out: string[] = [];
  for (const name of SPOOFED_NAMES) {
    out.push(`${name}: ${SPOOFED_VALUE}`, `${name.replace(/-/g, '_')}: ${SPOOFED_VALUE}`, `${name.toUpperCase()}: ${SPOOFED_VALUE}`);
  }
  return out;
}

function describe(r: Recorded): string {
  return `${r.method} ${r.target} as ${String(header(r, 'remote-user'))}`;
}

/**
 * The upstream's new records must be exactly `entitled` (as a multiset), each with exactly
 * its sender's identity and nothing spoofed.
 */
function checkEntitled(t: Test, title: string, records: Recorded[], entitled: Entitled[]): void {
  const left = [...records];
  for (const e of entitled) {
    const i = left.findIndex((r) => r.method === e.method && r.target === e.target);
    if (i === -1 && e.optional === true) continue;
    if (i === -1) {
      t.fail(`${title}: the upstream never saw ${e.method} ${e.target} (saw ${records.map(describe).join(', ') || 'nothing'})`);
      continue;
    }
    const r = left.splice(i, 1)[0] as Recorded;
    t.same(r.headers.get('remote-user'), [e.user], `${title}: ${e.method} ${e.target} carries exactly ${e.user}'s identity`);
    t.same(r.headers.get('remote-groups'), [e.role], `${title}: ${e.method} ${e.target} carries exactly the role ${e.role}`);
    if (e.body !== undefined) t.equal(r.body, e.body, `${title}: ${e.method} ${e.target} body as the client framed it`);
    const spoofed = [...r.headers].filter(([, values]) => values.some((v) => v.includes(SPOOFED_VALUE))).map(([name]) => name);
    t.same(spoofed, [], `${title}: no spoofed identity header reached the upstream`);
    t.notOk(r.headers.has('x-smuggled'), `${title}: no smuggled header`);
  }
  t.same(left.map(describe), [], `${title}: the upstream saw nothing else`);
}

/**
 * One case: `attack` talks to ringlet and returns what the attacker was entitled to; then
 * the victim sends a request over the same ringlet and must get its own answer. Every
 * record of the upstream during the case is checked.
 */
async function runCase(t: Test, h: Harness, title: string, attack: () => Promise<Entitled[]>): Promise<void> {
  const before = h.up.requests.length;
  const entitled = await attack();
  await h.up.waitForRequests(before + entitled.length, 1000);
  await sleep(GRACE_MS);
  const round = ++h.victimRound;
  const target = `/victim/${round}`;
  const victim = await h.s.request('GET', target, { headers: { cookie: h.admin.cookie } });
  t.equal(victim.status, 200, `${title}: the victim is served`);
  t.same(victim.json, { user: 'admin', target }, `${title}: the victim got the answer to its own request`);
  await sleep(GRACE_MS);
  checkEntitled(t, title, h.up.requests.slice(before), [...entitled, { user: 'admin', role: 'admin', method: 'GET', target }]);
}

async function harness(t: Test, mode: 'ram' | 'cookie'): Promise<Harness> {
  const up = await startRecordingUpstream();
  t.teardown(() => up.close());
  // The attacker is an ordinary viewer who may also write to the device UI (ui:write): entitled
  // to POST and to WebSockets, never to anyone else's identity.
  const permissions = { ...DEFAULT_ROLE_PERMISSIONS, viewer: [...DEFAULT_ROLE_PERMISSIONS.viewer, 'ui:write' as const] };
  const s = await startTestServer({ mode, options: { upstream: up.url, permissions }, profile: { requestTimeoutMs: 1000, headersTimeoutMs: 500 } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  await s.running.deps.users.update((db) => setPassword(db, 'vic', VIEWER_PASSWORD, { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
  const login = await jsonLogin(s, 'vic', VIEWER_PASSWORD);
  const viewer = { cookie: sessionCookieOf(login), csrf: login.json.csrfToken as string };
  return { s, up, host: `127.0.0.1:${s.port}`, viewer, admin, victimRound: 0 };
}

const WS_LINES = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];

async function smugglingCases(t: Test, h: Harness): Promise<void> {
  const vic = (method: string, target: string, body?: string): Entitled => ({ user: 'vic', role: 'viewer', method, target, ...(body === undefined ? {} : { body }) });
  const V = h.viewer.cookie;
  const chunkedSmuggle = `0\r\n\r\n${SMUGGLED}`;

  // CL.TE and TE.CL: both framing headers at once. RFC 9112 §6.3: a server may refuse; ringlet does (400).
  for (const [title, framing] of [
    ['CL.TE', [`Content-Length: ${chunkedSmuggle.length}`, 'Transfer-Encoding: chunked']],
    ['TE.CL', ['Transfer-Encoding: chunked', `Content-Length: ${chunkedSmuggle.length}`]],
  ] as const) {
    await runCase(t, h, title, async () => {
      const c = new Raw(h.s.port).write(`POST /form HTTP/1.1\r\n${head(h, V, [...framing])}\r\n${chunkedSmuggle}`);
      t.ok(await c.waitClose(), `${title}: connection closed`);
      t.same(statuses(c.text), [400], `${title}: 400`);
      return [];
    });
  }

  // TE.TE: obfuscated Transfer-Encoding next to a Content-Length that covers the whole body.
  // ringlet either refuses the request or frames it its own way; the lenient upstream must
  // then see one POST, never a second request.
  const obfuscations = [
    'Transfer-Encoding: chunked\r\nTransfer-Encoding: cow',
    'Transfer-Encoding: xchunked',
    'Transfer-Encoding : chunked',
    'Transfer-Encoding:\tchunked',
    'Transfer-Encoding: chunked, identity',
    'Transfer-Encoding: identity, chunked',
    'Transfer-Encoding: "chunked"',
    'Transfer-Encoding: CHUNKED',
    'Transfer_Encoding: chunked',
    'TRANSFER_ENCODING: chunked',
    'X-Pad: 1\r\n Transfer-Encoding: chunked',
    'X-Pad: 1\nTransfer-Encoding: chunked',
    'Transfer-Encoding: \x0bchunked',
    'Transfer-Encoding: chunked\x00',
  ];
  for (const [i, te] of obfuscations.entries()) {
    const title = `TE.TE #${i + 1} (${JSON.stringify(te)})`;
    await runCase(t, h, title, async () => {
      const c = new Raw(h.s.port).write(`POST /form/${i} HTTP/1.1\r\n${head(h, V, [te, `Content-Length: ${chunkedSmuggle.length}`, 'Connection: close'])}\r\n${chunkedSmuggle}`);
      await c.waitClose();
      const got = statuses(c.text);
      t.ok(got.length === 1 && (got[0] === 400 || got[0] === 200), `${title}: one answer, 400 or 200 (${got.join(',')})`);
      return got[0] === 200 ? [vic('POST', `/form/${i}`, chunkedSmuggle)] : [];
    });
  }
  // TE.TE without any Content-Length: chunked for ringlet, whatever the upstream makes of it.
  for (const [i, te] of ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked\r\nTransfer_Encoding: identity', 'Transfer-Encoding: chunked\r\nContent_Length: 3'].entries()) {
    const title = `chunked POST #${i + 1} (${JSON.stringify(te)})`;
    await runCase(t, h, title, async () => {
      const body = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
      const c = new Raw(h.s.port).write(`POST /chunked/${i} HTTP/1.1\r\n${head(h, V, [te])}\r\n${body}`);
      t.ok(await c.waitFor(/HTTP\/1\.1 200/), `${title}: answered`);
      c.destroy();
      return [vic('POST', `/chunked/${i}`, SMUGGLED)];
    });
  }

  for (const [title, lines] of [
    ['two different Content-Lengths', ['Content-Length: 3', `Content-Length: ${SMUGGLED.length}`]],
    ['two equal Content-Lengths', [`Content-Length: ${SMUGGLED.length}`, `Content-Length: ${SMUGGLED.length}`]],
    ['Content-Length with a sign', [`Content-Length: +${SMUGGLED.length}`]],
    ['Content-Length list', [`Content-Length: ${SMUGGLED.length}, ${SMUGGLED.length}`]],
  ] as const) {
    await runCase(t, h, title, async () => {
      const c = new Raw(h.s.port).write(`POST /dup HTTP/1.1\r\n${head(h, V, [...lines, 'Connection: close'])}\r\n${SMUGGLED}`);
      await c.waitClose();
      const got = statuses(c.text);
      t.ok(got.length === 1 && (got[0] === 400 || got[0] === 200), `${title}: one answer, 400 or 200 (${got.join(',')})`);
      return got[0] === 200 ? [vic('POST', '/dup', SMUGGLED)] : [];
    });
  }

  // Connection may not remove framing headers or headers ringlet sets.
  await runCase(t, h, 'Content-Length listed in Connection (POST)', async () => {
    const c = new Raw(h.s.port).write(`POST /conn-cl HTTP/1.1\r\n${head(h, V, [`Content-Length: ${SMUGGLED.length}`, 'Connection: Content-Length, Remote-User, Remote-Groups, Host'])}\r\n${SMUGGLED}`);
    t.ok(await c.waitFor(/HTTP\/1\.1 200/), 'answered');
    c.destroy();
    return [vic('POST', '/conn-cl', SMUGGLED)];
  });
  await runCase(t, h, 'Transfer-Encoding listed in Connection (PUT, chunked)', async () => {
    const body = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    const c = new Raw(h.s.port).write(`PUT /conn-te HTTP/1.1\r\n${head(h, V, ['Transfer-Encoding: chunked', 'Connection: Transfer-Encoding'])}\r\n${body}`);
    t.ok(await c.waitFor(/HTTP\/1\.1 200/), 'answered');
    c.destroy();
    return [vic('PUT', '/conn-te', SMUGGLED)];
  });

  // Bodies on methods that have none: refused with 400 (documented decision).
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']) {
    for (const [framing, body] of [
      ['Content-Length', `Content-Length: ${SMUGGLED.length}`],
      ['chunked', 'Transfer-Encoding: chunked'],
      ['Content-Length listed in Connection', `Content-Length: ${SMUGGLED.length}\r\nConnection: Content-Length`],
      ['chunked listed in Connection', 'Transfer-Encoding: chunked\r\nConnection: Transfer-Encoding'],
    ] as const) {
      const title = `${method} with a body (${framing})`;
      await runCase(t, h, title, async () => {
        const payload = framing.includes('chunked') ? `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n` : SMUGGLED;
        const c = new Raw(h.s.port).write(`${method} /bodiless HTTP/1.1\r\n${head(h, V, [body])}\r\n${payload}`);
        t.ok(await c.waitClose(), `${title}: connection closed`);
        t.same(statuses(c.text), [400], `${title}: 400`);
        return [];
      });
    }
  }
  await runCase(t, h, 'GET with Content-Length: 0 is no body', async () => {
    const c = new Raw(h.s.port).write(`GET /cl0 HTTP/1.1\r\n${head(h, V, ['Content-Length: 0'])}\r\n`);
    t.ok(await c.waitFor(/HTTP\/1\.1 200/), 'answered');
    c.destroy();
    return [vic('GET', '/cl0')];
  });

  // Pipelining: each request is judged on its own credential, answered in order.
  await runCase(t, h, 'pipelined: own, anonymous, own, smuggle-in-a-body', async () => {
    const c = new Raw(h.s.port).write(
      `GET /p/1 HTTP/1.1\r\n${head(h, V)}\r\n`
      + `GET /p/2 HTTP/1.1\r\n${head(h, undefined, ['Accept: application/json'])}\r\n`
      + `GET /p/3 HTTP/1.1\r\n${head(h, V, spoofLines())}\r\n`
      + `POST /p/4 HTTP/1.1\r\n${head(h, V, [`Content-Length: ${SMUGGLED.length}`])}\r\n${SMUGGLED}`
      + `GET /p/5 HTTP/1.1\r\n${head(h, V, ['Connection: close'])}\r\n`,
    );
    await c.waitClose();
    t.same(statuses(c.text), [200, 401, 200, 200, 200], 'pipelined: answered in order');
    t.same([...c.text.matchAll(/"target":"([^"]+)"/g)].map((m) => m[1]), ['/p/1', '/p/3', '/p/4', '/p/5'], 'pipelined: each answer belongs to its request');
    return [vic('GET', '/p/1'), vic('GET', '/p/3'), vic('POST', '/p/4', SMUGGLED), vic('GET', '/p/5')];
  });

  // Half-closed sockets.
  await runCase(t, h, 'half-closed in the middle of a body', async () => {
    const c = new Raw(h.s.port).write(`POST /half HTTP/1.1\r\n${head(h, V, ['Content-Length: 200'])}\r\n${SMUGGLED.slice(0, 40)}`);
    await sleep(50);
    c.end();
    await c.waitClose();
    return [];
  });
  // node:http (httpAllowHalfOpen off) aborts what is in flight when the client half-closes:
  // the upstream request may have been sent, and is then cut; nothing else may appear.
  await runCase(t, h, 'half-closed after a whole request', async () => {
    const c = new Raw(h.s.port).write(`GET /half-after HTTP/1.1\r\n${head(h, V)}\r\n`).end();
    t.ok(await c.waitClose(), 'half-closed: connection closed');
    t.ok(statuses(c.text).length <= 1, 'half-closed: at most one answer');
    return [{ ...vic('GET', '/half-after'), optional: true }];
  });
  await runCase(t, h, 'client gone in the middle of a chunked body', async () => {
    const c = new Raw(h.s.port).write(`POST /gone HTTP/1.1\r\n${head(h, V, ['Transfer-Encoding: chunked'])}\r\n10\r\n${SMUGGLED.slice(0, 8)}`);
    await sleep(50);
    c.destroy();
    return [];
  });
  await runCase(t, h, 'bad chunk framing in the middle of a body', async () => {
    const c = new Raw(h.s.port).write(`POST /bad-chunk HTTP/1.1\r\n${head(h, V, ['Transfer-Encoding: chunked'])}\r\n5\r\nabcde\r\n`);
    await sleep(50);
    c.write(`zz\r\n${SMUGGLED}`);
    t.ok(await c.waitClose(), 'connection closed');
    return [];
  });

  // Answers from the upstream that are not one response: never passed to the next client.
  for (const path of ['/double', '/garbage', '/later']) {
    await runCase(t, h, `upstream answers ${path}`, async () => {
      const c = new Raw(h.s.port).write(`GET ${path} HTTP/1.1\r\n${head(h, V)}\r\n`);
      await c.waitFor(/"target"/, 1000);
      await sleep(200);
      c.destroy();
      return [vic('GET', path)];
    });
  }

  // Request targets and Host.
  await runCase(t, h, 'absolute-form target naming this host', async () => {
    const c = new Raw(h.s.port).write(`GET http://${h.host}/abs?x=1 HTTP/1.1\r\n${head(h, V)}\r\n`);
    t.ok(await c.waitFor(/"target":"\/abs\?x=1"/), 'absolute-form: forwarded in origin-form');
    c.destroy();
    return [vic('GET', '/abs?x=1')];
  });
  for (const [title, line, hostLine] of [
    ['absolute-form target naming another host', 'GET http://evil.example/abs HTTP/1.1', `Host: ${h.host}`],
    ['absolute-form target with userinfo', `GET http://admin@${h.host}/abs HTTP/1.1`, `Host: ${h.host}`],
    ['asterisk-form', 'OPTIONS * HTTP/1.1', `Host: ${h.host}`],
    ['Host with userinfo after an IPv6 literal', 'GET /host HTTP/1.1', 'Host: [::1]@evil.example'],
    ['Host with userinfo after an IPv4 literal', 'GET /host HTTP/1.1', 'Host: 127.0.0.1@evil.example'],
    ['Host IPv6 literal followed by junk', 'GET /host HTTP/1.1', 'Host: [::1]evil.example'],
    ['Host with a path', 'GET /host HTTP/1.1', 'Host: 127.0.0.1/evil'],
  ] as const) {
    await runCase(t, h, title, async () => {
      const c = new Raw(h.s.port).write(`${line}\r\n${hostLine}\r\nCookie: ${V}\r\nConnection: close\r\n\r\n`);
      await c.waitClose();
      const got = statuses(c.text);
      t.ok(got.length === 1 && (got[0] === 400 || got[0] === 421), `${title}: refused (${got.join(',')})`);
      return [];
    });
  }

  // Identity and credentials never pass.
  await runCase(t, h, 'identity headers in every spelling', async () => {
    const c = new Raw(h.s.port).write(`GET /spoof HTTP/1.1\r\n${head(h, V, spoofLines())}\r\n`);
    t.ok(await c.waitFor(/"user":"vic"/), 'the upstream answered for vic');
    c.destroy();
    return [vic('GET', '/spoof')];
  });

  // Upgrades.
  await runCase(t, h, 'upgrade answered 200, then a raw request on the same socket', async () => {
    const c = new Raw(h.s.port).write(`GET /ws/200 HTTP/1.1\r\n${head(h, V, [...WS_LINES, `Origin: http://${h.host}`])}\r\n`);
    await c.waitFor(/"target":"\/ws\/200"/, 1000);
    c.write(SMUGGLED);
    t.ok(await c.waitClose(), 'non-101: the connection is closed after the answer');
    t.same(statuses(c.text), [200], 'non-101: the upstream answer is relayed');
    return [vic('GET', '/ws/200')];
  });
  await runCase(t, h, 'upgrade with a request pipelined behind the handshake, answered 200', async () => {
    const c = new Raw(h.s.port).write(`GET /ws/200 HTTP/1.1\r\n${head(h, V, [...WS_LINES, `Origin: http://${h.host}`])}\r\n${SMUGGLED}`);
    t.ok(await c.waitClose(), 'closed');
    return [vic('GET', '/ws/200')];
  });
  await runCase(t, h, 'upgrade answered 101 with another protocol', async () => {
    const c = new Raw(h.s.port).write(`GET /ws/101-h2c HTTP/1.1\r\n${head(h, V, [...WS_LINES, `Origin: http://${h.host}`])}\r\n`);
    t.ok(await c.waitClose(), 'closed');
    t.notOk(/^HTTP\/1\.1 101/.test(c.text), 'no 101 to the client');
    return [vic('GET', '/ws/101-h2c')];
  });
  await runCase(t, h, 'upgrade answered 101 websocket: a tunnel, with its bytes as data, not requests', async () => {
    const tunnelBefore = h.up.tunnelData.length;
    const c = new Raw(h.s.port).write(`GET /ws/101 HTTP/1.1\r\n${head(h, V, [...WS_LINES, `Origin: http://${h.host}`])}\r\n`);
    t.ok(await c.waitFor(/^HTTP\/1\.1 101/), '101 relayed');
    const head101 = c.text.slice(0, c.text.indexOf('\r\n\r\n'));
    t.notOk(/set-cookie: ringlet=/i.test(head101), 'the upstream cannot set ringlet\'s cookie through a 101');
    t.match(head101, /set-cookie: ui-ws=1/i, 'its other cookies pass');
    c.write('ping');
    t.ok(await c.waitFor(/echo:ping/), 'tunnel carries data');
    t.ok(h.up.tunnelData.slice(tunnelBefore).some((d) => d.data.includes('ping')), 'the upstream got the bytes as tunnel data');
    c.destroy();
    return [vic('GET', '/ws/101')];
  });
  for (const [title, path, lines, expected] of [
    ['upgrade without a session', '/ws/101', [...WS_LINES, `Origin: http://${h.host}`], 401],
    ['upgrade from another site (cross-site WebSocket hijacking)', '/ws/101', [...WS_LINES, 'Origin: http://evil.example'], 403],
    ['upgrade with Origin null', '/ws/101', [...WS_LINES, 'Origin: null'], 403],
    ['upgrade with no Origin on a cookie', '/ws/101', [...WS_LINES], 403],
    ['upgrade with a body', '/ws/101', [...WS_LINES, `Origin: http://${h.host}`, `Content-Length: ${SMUGGLED.length}`], 400],
    ['upgrade with a chunked body', '/ws/101', [...WS_LINES, `Origin: http://${h.host}`, 'Transfer-Encoding: chunked'], 400],
    ['upgrade by POST', '/ws/101', [...WS_LINES, `Origin: http://${h.host}`], 400],
    ['upgrade to h2c', '/ws/101', ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', `Origin: http://${h.host}`], 400],
    ['upgrade to one of ringlet\'s own paths', '/logout', [...WS_LINES, `Origin: http://${h.host}`], 400],
  ] as const) {
    await runCase(t, h, title, async () => {
      const anonymous = title === 'upgrade without a session';
      const method = title === 'upgrade by POST' ? 'POST' : 'GET';
      const c = new Raw(h.s.port).write(`${method} ${path} HTTP/1.1\r\n${head(h, anonymous ? undefined : V, [...lines], title !== 'upgrade with no Origin on a cookie')}\r\n${lines.some((l) => l.startsWith('Content-Length') || l.startsWith('Transfer')) ? SMUGGLED : ''}`);
      t.ok(await c.waitClose(), `${title}: closed`);
      t.same(statuses(c.text), [expected], `${title}: ${expected}`);
      return [];
    });
  }
  for (const [title, hostLine] of [['upgrade with a foreign Host', 'Host: evil.example'], ['upgrade with userinfo in Host', 'Host: [::1]@evil.example']] as const) {
    await runCase(t, h, title, async () => {
      const c = new Raw(h.s.port).write(`GET /ws/101 HTTP/1.1\r\n${hostLine}\r\nCookie: ${V}\r\nOrigin: http://evil.example\r\n${WS_LINES.join('\r\n')}\r\n\r\n`);
      t.ok(await c.waitClose(), `${title}: closed`);
      t.same(statuses(c.text), [421], `${title}: 421`);
      return [];
    });
  }
  await runCase(t, h, 'upgrade pipelined behind a request', async () => {
    const c = new Raw(h.s.port).write(`GET /before-ws HTTP/1.1\r\n${head(h, V)}\r\nGET /ws/101 HTTP/1.1\r\n${head(h, V, [...WS_LINES, `Origin: http://${h.host}`])}\r\n`);
    await c.waitClose();
    t.notOk(/HTTP\/1\.1 101/.test(c.text), 'no tunnel behind a pipelined request');
    return h.up.requests.some((r) => r.target === '/before-ws') || /"target":"\/before-ws"/.test(c.text) ? [vic('GET', '/before-ws')] : [];
  });

  // A tunnel outliving its session: closed at logout.
  await runCase(t, h, 'tunnel after logout', async () => {
    const c = new Raw(h.s.port).write(`GET /ws/101 HTTP/1.1\r\n${head(h, V, [...WS_LINES, `Origin: http://${h.host}`])}\r\n`);
    t.ok(await c.waitFor(/^HTTP\/1\.1 101/), 'tunnel open');
    const logout = await h.s.request('POST', '/logout', { headers: { cookie: V, 'x-csrf-token': h.viewer.csrf, origin: h.s.origin }, json: {} });
    t.equal(logout.status, 200, 'logged out');
    t.ok(await c.waitClose(1000), 'the tunnel closed with the session');
    const tunnelBefore = h.up.tunnelData.length;
    c.write(SMUGGLED);
    await sleep(100);
    t.equal(h.up.tunnelData.length, tunnelBefore, 'nothing reaches the upstream after logout');
    const again = new Raw(h.s.port).write(`GET /ws/101 HTTP/1.1\r\n${head(h, V, [...WS_LINES, `Origin: http://${h.host}`])}\r\n`);
    await again.waitClose();
    t.same(statuses(again.text), [401], 'the old cookie opens no new tunnel');
    return [vic('GET', '/ws/101')];
  });
}

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`desync harness, ${mode} mode: the upstream sees exactly what each client is entitled to`, async (t) => {
    t.setTimeout(240_000);
    const h = await harness(t, mode);
    await smugglingCases(t, h);
    t.equal((await h.s.request('GET', '/healthz')).status, 200, 'still serving');
    assertNoSecrets(t, h.s, [PASSWORD, VIEWER_PASSWORD, cookieValue(h.admin.cookie), cookieValue(h.viewer.cookie)]);
  });
}
