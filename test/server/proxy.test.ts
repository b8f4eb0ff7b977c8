import t from 'tap';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Test } from 'tap';
import { connect } from 'node:net';
import { setPassword } from '../../src/users/index.js';
import { adminWithPassword, jsonLogin, startTestServer, TEST_PROFILE } from '../support/server.js';
import { cookiesFrom, sessionCookieOf, setCookieLines } from '../support/http.js';
import { header, startRecordingUpstream } from '../support/recording-upstream.js';

const MiB = 1024 * 1024;

interface StandIn {
  server: Server;
  port: number;
  seen: IncomingHttpHeaders[];
  uploaded: number[];
  /** Resolves when the upstream has received the first upload bytes. */
  firstUploadByte: Promise<void>;
  /** The download pauses after 8 MiB until this is called. */
  releaseDownload: () => void;
}

async function standIn(): Promise<StandIn> {
  const seen: IncomingHttpHeaders[] = [];
  const uploaded: number[] = [];
  let gotFirstByte!: () => void;
  const firstUploadByte = new Promise<void>((r) => (gotFirstByte = r));
  let releaseDownload!: () => void;
  const downloadReleased = new Promise<void>((r) => (releaseDownload = r));
  const server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/upload') {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        gotFirstByte();
      });
      req.on('end', () => {
        uploaded.push(n);
        res.end(String(n));
      });
      return;
    }
    if (req.url === '/download') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(64 * MiB) });
      const chunk = Buffer.alloc(MiB, 7);
      let sent = 0;
      const pump = (): void => {
        while (sent < 64) {
          if (sent === 8) {
            sent++;
            res.write(chunk);
            void downloadReleased.then(pump);
            return;
          }
          sent++;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': ['ui=1; Path=/', 'ringlet=forged; Path=/'] });
    res.end(`<h1>Router status</h1><p>user=${String(req.headers['remote-user'])}</p>`);
  });
  server.on('upgrade', (req, socket: Socket) => {
    seen.push(req.headers);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen, uploaded, firstUploadByte, releaseDownload };
}

t.test('reverse proxy: identity in, spoofing and ringlet cookies out, streaming both ways', async (t) => {
  const up = await standIn();
  t.teardown(() => up.server.close());
  const s = await startTestServer({ options: { upstream: new URL(`http://127.0.0.1:${up.port}`) } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);

  const anon = await s.request('GET', '/cgi-bin/luci?x=1', { headers: { accept: 'text/html' } });
  t.same([anon.status, anon.headers.location], [303, '/login?next=%2Fcgi-bin%2Fluci%3Fx%3D1'], 'browsers go to the login page');
  t.equal((await s.request('GET', '/cgi-bin/luci', { headers: { accept: 'application/json' } })).status, 401, 'API clients get 401');
  t.equal(up.seen.length, 0, 'nothing reached the upstream unauthenticated');

  const page = await s.request('GET', '/status', {
    headers: { cookie: `${admin.cookie}; theme=dark`, 'remote-user': 'root', 'x-forwarded-user': 'root', 'remote-groups': 'admin', 'x-forwarded-for': '6.6.6.6' },
  });
  t.equal(page.status, 200);
  t.match(page.text, /Router status/);
  t.match(page.text, /user=admin/, 'the upstream sees ringlet\'s identity');
  const h = up.seen.at(-1)!;
  t.equal(h['remote-user'], 'admin');
  t.equal(h['remote-groups'], 'admin');
  t.equal(h['x-forwarded-user'], undefined, 'spoofed identity headers removed');
  t.equal(h['cookie'], 'theme=dark', 'ringlet\'s cookie removed, others kept');
  t.equal(h['x-forwarded-for'], '127.0.0.1', 'client X-Forwarded-For replaced by the real peer');
  t.equal(cookiesFrom(page)['ui'], '1', 'upstream cookies pass');
  t.same(setCookieLines(page).filter((c) => c.startsWith('ringlet=forged')), [], 'the upstream cannot overwrite ringlet\'s cookie');

  // Streaming, not buffering: the upstream must see upload bytes while the client is still
  // sending (the client waits for that before sending the rest), and the client must see
  // download bytes while the upstream is still sending (the upstream waits for that).
  const timeout = (ms: number) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no streaming: timed out')), ms));
  const upload = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/upload', headers: { cookie: admin.cookie, origin: s.origin, 'content-type': 'application/octet-stream' }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(MiB, 1);
    let n = 0;
    const pump = (): void => {
      while (n < 64) {
        n++;
        if (n === 9) {
          Promise.race([up.firstUploadByte, timeout(5000)]).then(() => { req.write(chunk); pump(); }, reject);
          return;
        }
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
  t.equal(upload, String(64 * MiB), '64 MiB uploaded through the proxy, streamed');
  const downloaded = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path: '/download', headers: { cookie: admin.cookie }, agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        up.releaseDownload();
      });
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(downloaded, 64 * MiB, '64 MiB downloaded through the proxy, streamed');
});

t.test('WebSocket upgrade passes through for signed-in users only', async (t) => {
  const up = await standIn();
  t.teardown(() => up.server.close());
  const s = await startTestServer({ options: { upstream: new URL(`http://127.0.0.1:${up.port}`) } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const upgrade = (headers: Record<string, string>) => new Promise<{ status: number; echo?: string }>((resolve) => {
    const req = request({ host: '127.0.0.1', port: s.port, path: '/ws', headers: { connection: 'Upgrade', upgrade: 'websocket', origin: s.origin, ...headers }, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.once('data', (d: Buffer) => {
        resolve({ status: res.statusCode ?? 0, echo: d.toString() });
        socket.destroy();
      });
      socket.write('ping');
    });
    req.on('response', (res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    req.on('error', () => resolve({ status: 0 }));
    req.end();
  });
  t.same(await upgrade({ cookie: admin.cookie }), { status: 101, echo: 'echo:ping' });
  t.equal(up.seen.at(-1)?.['remote-user'], 'admin');
  t.equal(up.seen.at(-1)?.['cookie'], undefined);
  t.equal((await upgrade({})).status, 401, 'anonymous upgrade refused');
});

t.test('upstream down: 502 with a short page, the session layer keeps working', async (t) => {
  const up = await standIn();
  const port = up.port;
  await new Promise((r) => up.server.close(r));
  const s = await startTestServer({ options: { upstream: new URL(`http://127.0.0.1:${port}`) } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  const page = await s.request('GET', '/status', { headers: { cookie: admin.cookie, accept: 'text/html' } });
  t.equal(page.status, 502);
  t.match(page.text, /not answering/);
  t.ok(page.text.length < 10_000);
  t.equal((await s.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 200, 'sessions unaffected');
  t.match((await s.request('GET', '/metrics')).text, /ringlet_upstream_errors_total 1/);
});

/** Raw bytes to ringlet on a fresh connection; everything received until it closes (or `ms`). */
function raw(port: number, bytes: string, ms = 2000, destroyAfterMs?: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    socket.write(bytes);
    setTimeout(() => socket.destroy(), destroyAfterMs ?? ms);
  });
}

async function recordingSetup(t: Test, options: Parameters<typeof startTestServer>[0] = {}) {
  const up = await startRecordingUpstream();
  t.teardown(() => up.close());
  const s = await startTestServer({ ...options, options: { upstream: up.url, ...options.options } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s);
  return { up, s, admin };
}

const connectionOf = (up: Awaited<ReturnType<typeof startRecordingUpstream>>, target: string) => up.requests.find((r) => r.target === target)?.connection;

t.test('a pooled upstream connection is reused only while clean, and never by another user', async (t) => {
  const { up, s, admin } = await recordingSetup(t);
  await s.running.deps.users.update((db) => setPassword(db, 'vic', 'viewer passphrase 1', { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
  const viewer = sessionCookieOf(await jsonLogin(s, 'vic', 'viewer passphrase 1'));
  const get = (path: string, cookie = admin.cookie) => s.request('GET', path, { headers: { cookie } });
  await get('/one');
  await get('/two');
  t.equal(connectionOf(up, '/two'), connectionOf(up, '/one'), 'a clean connection is kept alive and reused');
  await get('/viewer-one', viewer);
  t.not(connectionOf(up, '/viewer-one'), connectionOf(up, '/two'), 'another user never gets the admin\'s connection');
  // The upstream sends a stray response while the connection sits in the pool.
  await get('/later');
  await new Promise((r) => setTimeout(r, 200));
  const after = await get('/after-later');
  t.same(after.json, { user: 'admin', target: '/after-later' }, 'the next request gets its own answer');
  t.not(connectionOf(up, '/after-later'), connectionOf(up, '/later'), 'the connection that spoke while idle was not reused');
  t.ok(up.closed.includes(connectionOf(up, '/later') ?? -1), 'and it was closed');
  for (const path of ['/double', '/garbage', '/glued']) {
    // Another user right behind: a separate pool, whatever the race.
    const [mine, theirs] = await Promise.all([get(path, viewer), get(`/admin-behind${path}`)]);
    t.equal(mine.status, 200, `${path}: the first answer is relayed`);
    t.same(theirs.json, { user: 'admin', target: `/admin-behind${path}` }, `${path}: another user right behind gets its own answer`);
    // The same user, once the stray bytes had time to arrive: the connection is gone.
    await new Promise((r) => setTimeout(r, 200));
    const next = await get(`/after${path}`, viewer);
    t.same(next.json, { user: 'vic', target: `/after${path}` }, `${path}: the same user's next request gets its own answer`);
    t.not(connectionOf(up, `/after${path}`), connectionOf(up, path), `${path}: on another connection`);
  }
});

t.test('a request cut short by the client closes its upstream connection', async (t) => {
  const { up, s, admin } = await recordingSetup(t, { profile: { requestTimeoutMs: 800, headersTimeoutMs: 400 } });
  const head = (lines: string[]) => `POST /partial HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nOrigin: ${s.origin}\r\nCookie: ${admin.cookie}\r\n${lines.join('\r\n')}\r\n\r\n`;
  for (const [title, bytes, destroyAfterMs] of [
    ['client gone mid Content-Length body', `${head(['Content-Length: 100'])}0123456789`, 100],
    ['client gone mid chunked body', `${head(['Transfer-Encoding: chunked'])}a\r\n0123456789\r\n`, 100],
    ['client breaks chunk framing', `${head(['Transfer-Encoding: chunked'])}a\r\n0123456789\r\nzz\r\n`, 1000],
    ['client too slow (request timeout)', `${head(['Content-Length: 100'])}0123456789`, 3000],
  ] as const) {
    const closedBefore = up.closed.length;
    const openBefore = up.connections().open;
    await raw(s.port, bytes, 3000, destroyAfterMs);
    await new Promise((r) => setTimeout(r, 100));
    t.ok(up.closed.length > closedBefore, `${title}: an upstream connection was closed`);
    t.ok(up.connections().open < openBefore + 1, `${title}: the half-sent request left no connection behind`);
    t.same(up.requests.filter((r) => r.target === '/partial'), [], `${title}: the upstream never parsed a whole request from it`);
  }
  const next = await s.request('GET', '/next', { headers: { cookie: admin.cookie } });
  t.same(next.json, { user: 'admin', target: '/next' }, 'the next request is served on a clean connection');
});

t.test('an upstream that breaks HTTP: 502, and the client connection is closed', async (t) => {
  const { s, admin } = await recordingSetup(t);
  const answer = await raw(s.port, `GET /switch HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nCookie: ${admin.cookie}\r\n\r\nGET /never HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nCookie: ${admin.cookie}\r\n\r\n`);
  t.match(answer, /^HTTP\/1\.1 502 /, '101 to a request that asked for no upgrade: 502');
  t.match(answer, /\r\nconnection: close\r\n/i, 'and the connection closes');
  t.notMatch(answer, /"\/never"/, 'the pipelined request behind it was not served on the broken exchange');
});

t.test('requests pipelined on one connection reach the upstream one at a time, in order', async (t) => {
  const { up, s, admin } = await recordingSetup(t);
  const one = (i: number) => `GET /slow?${i} HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nCookie: ${admin.cookie}\r\n\r\n`;
  const text = await raw(s.port, [1, 2, 3, 4].map(one).join(''), 1500);
  t.equal((text.match(/HTTP\/1\.1 200 /g) ?? []).length, 4, 'four answers');
  t.same([...text.matchAll(/"target":"([^"]+)"/g)].map((m) => m[1]), ['/slow?1', '/slow?2', '/slow?3', '/slow?4'], 'in order');
  t.equal(up.maxInFlight(), 1, 'never two of them at the upstream at once');
});

t.test('Authorization: the bearer token ringlet consumed is dropped, the upstream\'s own scheme passes; X-Forwarded-* behind a trusted proxy', async (t) => {
  const { up, s, admin } = await recordingSetup(t, { options: { trustedProxies: ['127.0.0.1'] } });
  const token = (await s.request('POST', '/token', { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json: {} })).json.access_token as string;
  t.ok(token, 'token minted');
  t.equal((await s.request('GET', '/with-bearer', { headers: { authorization: `Bearer ${token}` } })).status, 200);
  t.equal(header(up.requests.find((r) => r.target === '/with-bearer')!, 'authorization'), undefined, 'bearer credential not forwarded');
  t.equal((await s.request('GET', '/with-basic', { headers: { cookie: admin.cookie, authorization: 'Basic dXNlcjpwYXNz' } })).status, 200);
  t.equal(header(up.requests.find((r) => r.target === '/with-basic')!, 'authorization'), 'Basic dXNlcjpwYXNz', 'the upstream\'s own Authorization passes');
  await s.request('GET', '/behind-proxy', { headers: { cookie: admin.cookie, 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'router.example', 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6' } });
  const r = up.requests.find((x) => x.target === '/behind-proxy')!;
  t.same([header(r, 'x-forwarded-for'), header(r, 'x-forwarded-proto'), header(r, 'x-forwarded-host')], ['203.0.113.7, 127.0.0.1', 'https', 'router.example'], 'a trusted proxy\'s chain is appended to');
  t.same([header(r, 'x-real-ip'), header(r, 'forwarded')], [undefined, undefined], 'X-Real-IP and Forwarded never pass');
});

t.test('at the pool limit, another user\'s idle upstream sockets make room (nobody waits for the idle timeout)', async (t) => {
  const { up, s, admin } = await recordingSetup(t, { profile: { maxConnections: 3 } });
  await s.running.deps.users.update((db) => setPassword(db, 'vic', 'viewer passphrase 1', { logN: TEST_PROFILE.scryptLogN!, r: 8, p: 1 }, { role: 'viewer' }));
  const viewer = sessionCookieOf(await jsonLogin(s, 'vic', 'viewer passphrase 1'));
  await Promise.all([1, 2, 3].map((i) => s.request('GET', `/slow?admin${i}`, { headers: { cookie: admin.cookie } })));
  t.equal(up.connections().open, 3, 'three idle upstream sockets in the admin\'s pool');
  const started = Date.now();
  const r = await s.request('GET', '/viewer', { headers: { cookie: viewer } });
  t.same(r.json, { user: 'vic', target: '/viewer' }, 'the viewer is served');
  // A functional bound, not a speed measurement: without room made, the request waits for
  // the 4 s idle timeout of the admin's sockets.
  t.ok(Date.now() - started < 2_000, 'without waiting for the admin\'s idle sockets to time out');
  t.equal(up.closed.length, 1, 'one idle socket of the admin\'s was closed for it');
});
