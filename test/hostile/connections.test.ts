/**
 * Connection exhaustion (issue 13, "One address can lock everyone out"): 10 × maxConnections
 * slow sockets — idle, half-sent headers, and complete requests left on keep-alive — while
 * the admin, from another address, signs in and uses the UI. Every one of the admin's
 * requests must be answered (200/303), none reset; the attacker's surplus is refused or
 * shed. Real sockets over loopback; 127.0.0.2+ are the attacker, 127.0.0.1 the admin.
 */
import t from 'tap';
import { createServer as createHttpServer, Agent as HttpAgent, type Server } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { cookiePair, sendRequest, sessionCookieOf, setCookieLine, type Reply, type RequestOptions } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { SlowSockets } from './slow-sockets.js';
import { hasOpenssl, selfSignedCertificate } from '../support/tls.js';

const ADMIN_PASSWORD = 'connection flood passphrase';
const MAX_CONNECTIONS = 16;

/** The admin's side: one client address, plain or TLS, never rejects (errors become status 0). */
class AdminClient {
  readonly origin: string;
  constructor(readonly port: number, readonly tls: boolean, readonly localAddress = '127.0.0.1') {
    this.origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  }

  send(method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
    return sendRequest(this.port, method, path, { ...o, tls: this.tls, localAddress: this.localAddress, settle: true });
  }

  json(method: string, path: string, json: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send(method, path, { headers, json });
  }
}

/** First start: sign in with the printed password and set ADMIN_PASSWORD (before the attack). */
async function setAdminPassword(s: TestServer, c: AdminClient): Promise<void> {
  const first = await c.json('POST', '/login', { username: 'admin', password: s.firstPassword });
  const changed = await c.json('POST', '/password', { currentPassword: s.firstPassword, newPassword: ADMIN_PASSWORD }, {
    cookie: sessionCookieOf(first), 'x-csrf-token': first.json.csrfToken, origin: c.origin,
  });
  if (changed.status !== 200) throw new Error(`password change failed: ${changed.status}`);
}

/**
 * What an admin does in the UI: health check, the login form and its POST (303), forward-auth,
 * an upstream page, a JSON login and its session, and a browser's six parallel keep-alive
 * connections. Returns [step, status, error] for every request.
 */
async function adminSession(c: AdminClient): Promise<Array<[string, number, string | undefined]>> {
  const steps: Array<[string, number, string | undefined]> = [];
  const note = (step: string, a: Reply) => {
    steps.push([step, a.status, a.error]);
    return a;
  };
  note('GET /healthz', await c.send('GET', '/healthz'));
  const page = note('GET /login', await c.send('GET', '/login', { headers: { accept: 'text/html' } }));
  const nonce = setCookieLine(page, /ringlet-login$/) === undefined ? '' : cookiePair(page, /ringlet-login$/);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
  const signedIn = note('POST /login (form)', await c.send('POST', '/login', {
    headers: { cookie: nonce, origin: c.origin, accept: 'text/html' }, form: { username: 'admin', password: ADMIN_PASSWORD, csrf, next: '/device/status' },
  }));
  const cookie = signedIn.status === 303 ? sessionCookieOf(signedIn) : '';
  note('GET /auth', await c.send('GET', '/auth', { headers: { cookie } }));
  note('GET /device/status (upstream)', await c.send('GET', '/device/status', { headers: { cookie, accept: 'text/html' } }));
  const json = note('POST /login (JSON)', await c.json('POST', '/login', { username: 'admin', password: ADMIN_PASSWORD }));
  note('GET /session', await c.send('GET', '/session', { headers: { cookie: json.status === 200 ? sessionCookieOf(json) : '' } }));
  const agent = c.tls ? new HttpsAgent({ keepAlive: true, maxSockets: 6, rejectUnauthorized: false }) : new HttpAgent({ keepAlive: true, maxSockets: 6 });
  try {
    const parallel = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      c.send('GET', i % 2 === 0 ? '/auth' : '/device/status', { headers: { cookie }, agent })));
    for (const [i, a] of parallel.entries()) note(`keep-alive ${i % 2 === 0 ? 'GET /auth' : 'GET /device/status'} #${i}`, a);
  } finally {
    agent.destroy();
  }
  return steps;
}

const EXPECTED: Record<string, number> = {
  'GET /healthz': 200, 'GET /login': 200, 'POST /login (form)': 303, 'GET /auth': 200,
  'GET /device/status (upstream)': 200, 'POST /login (JSON)': 200, 'GET /session': 200,
};

function expectedStatus(step: string): number {
  return EXPECTED[step] ?? 200;
}

async function upstreamStandIn(): Promise<{ server: Server; url: URL }> {
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<p>device page ${req.url}</p>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) };
}

function certificate(): { dir: string; cert: string; key: string } | undefined {
  if (!hasOpenssl()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-conn-tls-'));
  return { dir, ...selfSignedCertificate(dir, '127.0.0.1', 'IP:127.0.0.1') };
}

const tlsFiles = certificate();
t.teardown(() => {
  if (tlsFiles) rmSync(tlsFiles.dir, { recursive: true, force: true });
});

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

interface Scenario {
  title: string;
  perAddress: number;
  attackers: string[];
  /** How the surplus goes: refused at the per-address cap, or shed at the global limit. */
  surplus: 'refused' | 'shed';
}

/**
 * 10 × maxConnections = 160 slow sockets in each. With a binding per-address cap the
 * attacker's surplus is refused; with a cap above maxConnections (or many addresses under
 * it) the global limit is reached and the oldest idle sockets are shed for newcomers.
 */
const SCENARIOS: Scenario[] = [
  { title: 'one address, per-address cap 8', perAddress: 8, attackers: ['127.0.0.2'], surplus: 'refused' },
  { title: 'one address, no per-address cap (shedding alone)', perAddress: 65_536, attackers: ['127.0.0.2'], surplus: 'shed' },
  { title: 'eight addresses, per-address cap 8', perAddress: 8, attackers: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'], surplus: 'shed' },
];

for (const tls of [false, true]) {
  for (const scenario of SCENARIOS) {
    for (const mode of ['ram', 'cookie'] as const) {
      const skip = tls && tlsFiles === undefined ? 'openssl is not installed' : false;
      t.test(`${tls ? 'HTTPS' : 'HTTP'}, ${mode} mode, ${scenario.title}: 10 × maxConnections slow sockets; the admin from another address is served`, { skip }, async (t) => {
        const upstream = await upstreamStandIn();
        t.teardown(() => upstream.server.close());
        const s = await startTestServer({
          mode,
          // Long timeouts: the attack holds its sockets for the whole test, so the defence
          // cannot be node's timeouts freeing them, and every closure is a refusal or a shed.
          profile: { maxConnections: MAX_CONNECTIONS, maxConnectionsPerAddress: scenario.perAddress, headersTimeoutMs: 60_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 60_000 },
          options: { upstream: upstream.url, logLevel: 'info', ...(tls && tlsFiles ? { tlsCertPath: tlsFiles.cert, tlsKeyPath: tlsFiles.key } : {}) },
        });
        t.teardown(() => s.close());
        const admin = new AdminClient(s.port, tls);
        await setAdminPassword(s, admin);

        const attack = await SlowSockets.open({ port: s.port, count: 10 * MAX_CONNECTIONS, localAddresses: scenario.attackers, tls });
        t.teardown(() => attack.destroyAll());
        const cap = Math.min(scenario.perAddress, MAX_CONNECTIONS);
        t.ok(attack.held() <= MAX_CONNECTIONS, `the attack holds at most maxConnections (${attack.held()} of ${attack.sockets.length} open)`);
        for (const address of scenario.attackers) {
          const held = attack.held((x) => x.localAddress === address);
          if (held > cap) t.fail(`${address} holds ${held} connections, over the cap of ${cap}`);
        }
        t.ok(attack.closedByServer() >= 10 * MAX_CONNECTIONS - MAX_CONNECTIONS, `its surplus was refused or shed (${attack.closedByServer()})`);

        const steps = await adminSession(admin);
        for (const [step, status, error] of steps) {
          t.equal(status, expectedStatus(step), `${step}: ${status}${error ? ` (${error})` : ''}`);
        }
        t.equal(steps.filter(([, status]) => status === 0).length, 0, 'no request of the admin was reset');

        // The admin's connections shed attacker sockets too: let those closures arrive.
        await attack.settle();
        const stats = s.running.connections.stats();
        const refused = stats.refused.per_address + stats.refused.global;
        const shed = stats.shed.idle + stats.shed.unfinished;
        t.equal(attack.closedByServer(), refused + shed, `every attacker socket closed was refused (${refused}) or shed (${shed}) — none was the admin's`);
        t.equal(stats.refused.global, 0, 'nothing refused at the global limit: there was always an idle socket to shed');
        if (scenario.surplus === 'refused') t.ok(stats.refused.per_address >= 10 * MAX_CONNECTIONS - cap, `the per-address cap refused the surplus (${stats.refused.per_address})`);
        else t.ok(shed >= 9 * MAX_CONNECTIONS, `the oldest idle sockets were shed for newcomers (${shed})`);

        const m = await admin.send('GET', '/metrics');
        t.equal(m.status, 200, 'metrics readable during the attack');
        const reported = ['per_address', 'global'].map((r) => metric(m.text, `ringlet_connections_refused_total{reason="${r}"}`))
          .concat(['idle', 'unfinished'].map((st) => metric(m.text, `ringlet_connections_shed_total{state="${st}"}`)));
        t.same(reported, [stats.refused.per_address, stats.refused.global, stats.shed.idle, stats.shed.unfinished], `metrics: refused and shed by kind ${JSON.stringify(reported)}`);
        t.ok(metric(m.text, 'ringlet_connections_open') <= MAX_CONNECTIONS, 'open connections within the limit');

        const lines = [...s.logEvents('connection_refused'), ...s.logEvents('connection_shed')];
        const kinds = new Set(lines.map((l) => `${l['event']}:${l['reason'] ?? l['state']}`));
        t.equal(lines.length, kinds.size, `${refused + shed} refusals and sheds, ${lines.length} log lines: one per kind (${[...kinds].join(', ')})`);

        attack.destroyAll();
        t.ok(await until(() => s.running.connections.stats().open === 0), 'every connection released once the sockets are gone');
      });
    }
  }
}
