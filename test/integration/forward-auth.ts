/**
 * What every forward-auth recipe must do, checked the same way for each proxy (nginx and
 * Caddy for real, from the README's blocks): a browser without a session is sent to the
 * login page with `next` intact, an API client gets 401, ringlet's own login form works
 * through the proxy on a non-default port, the admin UI receives Remote-User/Remote-Groups
 * from ringlet and never an identity header the client made up, every path ringlet owns
 * reaches ringlet, /metrics stays closed to the network, an active cookie-mode user stays
 * signed in past the idle window, a write from another origin of the same site is refused, and
 * sign-out works.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { resolveServeConfig } from '../../src/cli/serve-config.js';
import { OWNED_PATHS } from '../../src/server/app.js';
import { ManualClock } from '../support/clock.js';
import { cookiesFrom, sendRequest } from '../support/http.js';
import { adminWithPassword, startTestServer, type TestServer } from '../support/server.js';
import { commandsStartingWith, readmeRecipe } from '../support/readme.js';

export const PUBLIC_NAME = 'router.example';
const PASSWORD = 'correct horse battery';
const IDLE_MS = 60_000;
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** Identity headers a client might forge, in the spellings upstreams read (underscores too). */
export const FORGED_IDENTITY: Readonly<Record<string, string>> = {
  'Remote-User': 'root',
  'Remote-Groups': 'admin',
  'Remote-Email': 'root@evil.example',
  'Remote-Name': 'Root',
  'X-Remote-User': 'root',
  'X-Forwarded-User': 'root',
  'X-Forwarded-Groups': 'admin',
  'X-Forwarded-Email': 'root@evil.example',
  'X-Forwarded-Preferred-Username': 'root',
  'X-Auth-Request-User': 'root',
  'X-Auth-Request-Groups': 'admin',
  'X-Auth-Request-Email': 'root@evil.example',
  'Remote_User': 'root',
  'REMOTE_GROUPS': 'admin',
  'X_Forwarded_User': 'root',
  // A CGI gateway (lighttpd) reads every separator as `_`: these are HTTP_REMOTE_USER too.
  'Remote.User': 'root',
  'Remote~Groups': 'admin',
  ...Object.fromEntries([...'!#$%&\'*+^`|'].map((c) => [`Remote${c}User`, 'root'])),
};

/** Polls until something answers HTTP on `port` (a proxy just spawned). */
export async function waitForHttp(port: number, what: string, isAlive: () => boolean, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!isAlive()) throw new Error(`${what} exited: ${log()}`);
    try {
      await sendRequest(port, 'GET', '/healthz', { headers: { host: PUBLIC_NAME } });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not answer on port ${port}: ${log()}`);
}

export function freePort(): Promise<number> {
  const s = createServer();
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => {
    const port = (s.address() as AddressInfo).port;
    s.close(() => resolve(port));
  }));
}

/** A local address that is not loopback, to play a LAN client (undefined when the machine has none). */
export function lanAddress(): string | undefined {
  const all = Object.values(networkInterfaces()).flat().filter((i): i is NetworkInterfaceInfo => i !== undefined);
  return all.find((i) => i.family === 'IPv4' && !i.internal)?.address;
}

export interface AdminUi {
  port: number;
  seen: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** The device's admin UI stand-in: records every request, answers 200 with a cookie of its own. */
export async function startAdminUi(): Promise<AdminUi> {
  const seen: AdminUi['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'ui-theme=dark; Path=/' });
    res.end(`admin UI: ${req.url} for ${String(req.headers['remote-user'])}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The README's "ringlet behind a proxy on the same machine" command, as server options. */
export function ringletBehindProxyOptions() {
  const [words] = commandsStartingWith(readmeRecipe('ringlet-behind-proxy'), 'ringlet serve');
  if (words === undefined) throw new Error('README: the ringlet-behind-proxy recipe has no `ringlet serve` line');
  const { options } = resolveServeConfig(words.slice(2), {});
  return options;
}

/** The path of a Location header, whether the proxy made it absolute or not. */
export function locationPath(location: string | undefined): string | undefined {
  return location?.replace(/^https?:\/\/[^/]+/, '');
}

export interface RunningProxy {
  port: number;
  stop(): Promise<void>;
}

/**
 * Runs every check through one proxy, for RAM and cookie mode. `startProxy` is given the
 * ports of ringlet and of the admin UI and returns the proxy's own port.
 */
export async function checkForwardAuthRecipe(t: Test, startProxy: (ringletPort: number, appPort: number) => Promise<RunningProxy>): Promise<void> {
  const behindProxy = ringletBehindProxyOptions();
  t.same(behindProxy.trustedProxies, ['127.0.0.1'], 'the recipe trusts the proxy on the same machine');
  t.ok(behindProxy.allowedHosts.includes(PUBLIC_NAME), `the recipe allows ${PUBLIC_NAME}`);
  for (const mode of ['ram', 'cookie'] as const) {
    await t.test(`${mode} mode`, async (t) => {
      const app = await startAdminUi();
      t.teardown(() => app.close());
      const clock = new ManualClock(1_000);
      const ringlet = await startTestServer({
        mode,
        monotonic: clock,
        profile: { idleTimeoutMs: IDLE_MS },
        options: { allowedHosts: behindProxy.allowedHosts, trustedProxies: behindProxy.trustedProxies, identityHeaders: behindProxy.identityHeaders },
      });
      t.teardown(() => ringlet.close());
      await adminWithPassword(ringlet, PASSWORD);
      const proxy = await startProxy(ringlet.port, app.port);
      t.teardown(() => proxy.stop());
      await runChecks(t, { proxyPort: proxy.port, ringlet, app, clock, mode });
    });
  }
}

async function runChecks(t: Test, o: { proxyPort: number; ringlet: TestServer; app: AdminUi; clock: ManualClock; mode: 'ram' | 'cookie' }): Promise<void> {
  const { proxyPort, app, clock, mode } = o;
  // A non-default port: the Host and Origin the browser sends carry it.
  const host = `${PUBLIC_NAME}:${proxyPort}`;
  const origin = `http://${host}`;
  const get = (path: string, headers: Record<string, string> = {}, extra: { localAddress?: string } = {}) =>
    sendRequest(proxyPort, 'GET', path, { headers: { host, ...headers }, ...extra });
  const post = (path: string, form: Record<string, string>, headers: Record<string, string>) =>
    sendRequest(proxyPort, 'POST', path, { headers: { host, accept: BROWSER_ACCEPT, ...headers }, form });

  // 1. A browser without a session goes to the login page; `next` keeps the whole query.
  const original = '/status?x=1&y=2';
  const anon = await get(original, { accept: BROWSER_ACCEPT });
  t.equal(anon.status, 302, 'browser without a session: 302');
  t.equal(locationPath(anon.headers.location), '/login?next=%2Fstatus%3Fx%3D1%26y%3D2', 'to the login page, next encoded whole');
  t.same(app.seen, [], 'the admin UI saw nothing');

  // 2. An API client gets 401 (no redirect), with the challenge.
  for (const accept of ['application/json', '*/*']) {
    const api = await get('/api/status', { accept });
    t.equal(api.status, 401, `API client (Accept: ${accept}): 401`);
    t.equal(api.headers.location, undefined, 'no redirect for an API client');
    t.match(api.headers['www-authenticate'], /^Bearer realm="ringlet"/, 'with the Bearer challenge');
  }

  // 3. ringlet's own login form, through the proxy, on a non-default port, without
  // Sec-Fetch-Site (older browsers): the Origin check must see the port the browser used.
  const page = await get(locationPath(anon.headers.location) as string, { accept: BROWSER_ACCEPT });
  t.equal(page.status, 200, 'the login page through the proxy');
  t.match(page.text, 'name="next" value="/status?x=1&amp;y=2"', 'the form carries next');
  const nonce = Object.entries(cookiesFrom(page)).find(([name]) => name.endsWith('ringlet-login'));
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
  t.ok(nonce && csrf, 'login nonce cookie and form token');
  const signIn = await post('/login', { username: 'admin', password: PASSWORD, csrf: csrf ?? '', next: '/status?x=1&y=2' }, { cookie: `${nonce?.[0]}=${nonce?.[1]}`, origin });
  t.equal(signIn.status, 303, 'the login form is accepted through the proxy');
  t.equal(signIn.headers.location, '/status?x=1&y=2', 'and goes back to the page asked for');
  const sessionPair = Object.entries(cookiesFrom(signIn)).find(([name]) => name === 'ringlet' || name === '__Host-ringlet');
  t.ok(sessionPair, 'a session cookie reached the browser');
  let cookie = `${sessionPair?.[0]}=${sessionPair?.[1]}`;
  const firstCookie = cookie;

  // 4. Signed in: the admin UI gets ringlet's identity, never the client's.
  const seenBefore = app.seen.length;
  const ok = await get(original, { cookie, accept: BROWSER_ACCEPT, ...FORGED_IDENTITY });
  t.equal(ok.status, 200, 'signed in: the admin UI answers');
  const upstream = app.seen[seenBefore];
  t.equal(upstream?.url, original, 'the admin UI got the original request');
  t.equal(upstream?.headers['remote-user'], 'admin', 'Remote-User from ringlet');
  t.equal(upstream?.headers['remote-groups'], 'admin', 'Remote-Groups from ringlet');
  for (const name of Object.keys(FORGED_IDENTITY)) {
    const lower = name.toLowerCase();
    if (lower === 'remote-user' || lower === 'remote-groups') continue;
    t.equal(upstream?.headers[lower], undefined, `the client's ${name} does not reach the admin UI`);
  }

  // 4b. A write through the proxy is judged as a write: the recipe names the method to
  // /auth, so a cookie cannot write from another origin of the same site (a page on
  // another port of the router), while the same form from this origin goes through.
  const writesBefore = app.seen.length;
  const crossSite = await post('/config/wifi', { ssid: 'evil' }, { cookie, origin: `http://${PUBLIC_NAME}:9999`, 'sec-fetch-site': 'same-site' });
  t.equal(crossSite.status, 403, 'a POST from another origin of the same site: 403');
  t.same(app.seen.slice(writesBefore), [], 'and the admin UI never saw it');
  const ownWrite = await post('/config/wifi', { ssid: 'home' }, { cookie, origin });
  t.equal(ownWrite.status, 200, 'the same POST from this origin reaches the admin UI');
  t.equal(app.seen[writesBefore]?.url, '/config/wifi', 'the admin UI got the write');

  // 4c. A WebSocket handshake from another site (cross-site WebSocket hijacking): the proxy
  // passes Sec-WebSocket-Key to /auth, which judges it as the upstream's upgrade row.
  const handshakesBefore = app.seen.length;
  const hijack = await get('/ws', {
    cookie, origin: 'http://evil.example', connection: 'Upgrade', upgrade: 'websocket',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13',
  });
  t.equal(hijack.status, 403, 'a WebSocket handshake from another site: 403');
  t.same(app.seen.slice(handshakesBefore), [], 'and the admin UI never saw it');

  // 5. Every path ringlet owns reaches ringlet (with a session, a path routed to the admin
  // UI would arrive there); look-alikes are the admin UI's.
  const before = app.seen.length;
  for (const path of OWNED_PATHS) {
    const r = await get(path, { cookie, 'x-ringlet-no-touch': '1' });
    t.not(r.text.startsWith('admin UI:'), true, `${path} is answered by ringlet (${r.status})`);
  }
  t.same(app.seen.slice(before).map((s) => s.url), [], 'the admin UI saw none of ringlet\'s paths');
  for (const path of ['/sessionsx', '/login2', '/tokens', '/auth/x', '/metrics.html']) {
    const r = await get(path, { cookie, 'x-ringlet-no-touch': '1' });
    t.equal(r.text, `admin UI: ${path} for admin`, `${path} is the admin UI's`);
  }
  const revoke = await sendRequest(proxyPort, 'POST', '/tokens/revoke', { headers: { host, 'content-type': 'application/json' }, body: '{}' });
  t.equal(revoke.status, 401, 'POST /tokens/revoke is ringlet\'s (401 without a credential)');

  // 6. /metrics through the proxy: open to the machine itself, not to a LAN client.
  const lan = lanAddress();
  if (lan === undefined) {
    t.comment('no non-loopback address on this machine: the LAN-client /metrics check is skipped');
  } else {
    t.equal((await get('/metrics', {}, { localAddress: lan })).status, 401, `/metrics from a LAN client (${lan}) through the proxy: 401`);
    t.equal((await get('/metrics', { 'x-forwarded-for': '127.0.0.1' }, { localAddress: lan })).status, 401, 'and a forged X-Forwarded-For does not help');
  }

  // 7. Idle window: an active user stays signed in. RAM mode keeps the session on the
  // server; cookie mode re-issues the cookie after half the window, and the proxy must
  // pass that Set-Cookie on to the browser.
  clock.advance(IDLE_MS * 0.6);
  const active = await get('/status', { cookie, accept: BROWSER_ACCEPT });
  t.equal(active.status, 200, 'active within the idle window');
  const reissued = Object.entries(cookiesFrom(active)).find(([name]) => name === sessionPair?.[0]);
  if (mode === 'cookie') {
    t.ok(reissued, 'cookie mode: the re-issued cookie reaches the browser');
    t.equal(cookiesFrom(active)['ui-theme'], 'dark', 'next to the admin UI\'s own cookie');
    if (reissued) cookie = `${reissued[0]}=${reissued[1]}`;
  }
  clock.advance(IDLE_MS * 0.6);
  const later = await get('/status', { cookie, accept: BROWSER_ACCEPT });
  t.equal(later.status, 200, 'still signed in 1.2 idle windows after sign-in');
  if (mode === 'cookie') {
    const stale = await get('/status', { cookie: firstCookie, accept: BROWSER_ACCEPT });
    t.equal(stale.status, 302, 'control: the cookie from sign-in alone has idled out');
  }

  // 8. Sign-out through the proxy: the session ends, the cookie is cleared.
  const who = await get('/session', { cookie, accept: 'application/json' });
  const csrfToken = who.json.csrfToken as string;
  const out = await post('/logout', { csrf: csrfToken }, { cookie, origin });
  t.equal(out.status, 303, 'sign-out through the proxy');
  t.equal(out.headers.location, '/login?loggedout=1');
  t.match(cookiesFrom(out)[sessionPair?.[0] ?? ''], /^$/, 'the session cookie is cleared');
  const after = await get(original, { cookie, accept: BROWSER_ACCEPT });
  t.equal(after.status, 302, 'after sign-out the old cookie is no session');
}
