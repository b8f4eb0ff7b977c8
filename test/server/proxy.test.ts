import t from 'tap';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { adminWithPassword, startTestServer } from '../support/server.js';

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
  const setCookie = page.headers['set-cookie'] ?? [];
  t.ok(setCookie.some((c) => c.startsWith('ui=1')), 'upstream cookies pass');
  t.notOk(setCookie.some((c) => c.startsWith('ringlet=forged')), 'the upstream cannot overwrite ringlet\'s cookie');

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
