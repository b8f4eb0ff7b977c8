/**
 * The README's Traefik recipe. Traefik is not packaged here and was not run: ringlet is
 * started with the recipe's own `command:` and sent the exact requests Traefik would send —
 * ForwardAuth's (Host from the middleware's address, the client's headers copied, then
 * X-Forwarded-Method/-Proto/-Host/-Uri/-Port/-For set as Traefik's forward.go sets them
 * with trustForwardHeader=false) and the router's plain proxying of ringlet's own pages —
 * and the labels are checked against ringlet: the rule's paths, the cookie name, the
 * headers stripped before the admin UI.
 */
import t from 'tap';
import { resolveServeConfig } from '../../src/cli/serve-config.js';
import { cookieNames } from '../../src/server/cookies.js';
import { OWNED_PATHS } from '../../src/server/app.js';
import { ManualClock } from '../support/clock.js';
import { adminWithPassword, startTestServer } from '../support/server.js';
import { readmeRecipe } from '../support/readme.js';
import { FORGED_IDENTITY, PUBLIC_NAME } from './forward-auth.js';
import { cookiePair, setCookieLine } from '../support/http.js';

const compose = readmeRecipe('traefik');
const IDLE_MS = 60_000;
const PASSWORD = 'correct horse battery';
const CLIENT_IP = '192.168.1.20';

/** `traefik.http.a.b.c=value` labels of one compose service. */
function labelsOf(service: string): Map<string, string> {
  const block = new RegExp(`^  ${service}:\\n((?:    .*\\n|      .*\\n)*)`, 'm').exec(compose)?.[1] ?? '';
  const out = new Map<string, string>();
  for (const m of block.matchAll(/^      - (traefik\.[^=\n]+)=(.*)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

function commandOf(service: string): string[] {
  const block = new RegExp(`^  ${service}:\\n((?:    .*\\n|      .*\\n)*)`, 'm').exec(compose)?.[1] ?? '';
  const line = /^    command: (.*)$/m.exec(block)?.[1];
  if (line === undefined) throw new Error(`compose: no command for ${service}`);
  return line.split(/\s+/);
}

const ringletLabels = labelsOf('ringlet');
const adminLabels = labelsOf('admin-ui');
const auth = (key: string) => ringletLabels.get(`traefik.http.middlewares.ringlet-auth.forwardauth.${key}`);
const command = commandOf('ringlet');
const config = resolveServeConfig(command.slice(1), {});
const traefikIp = /ipv4_address: (\S+)/.exec(compose)?.[1];

t.test('the labels agree with ringlet', (t) => {
  t.equal(command[0], 'serve');
  t.same(config.options.trustedProxies, [traefikIp], '--trusted-proxy is Traefik\'s fixed address in the compose network');
  t.match(compose, /subnet: 172\.20\.0\.0\/24/, 'in a network with a declared subnet');
  const address = new URL(auth('address') ?? '');
  t.equal(address.pathname, '/auth');
  t.ok(config.options.allowedHosts.includes(address.host), `--allowed-host lists ${address.host}, the Host of ForwardAuth's request`);
  t.ok(config.options.allowedHosts.includes(PUBLIC_NAME), `and the public name ${PUBLIC_NAME}`);
  t.equal(auth('authResponseHeaders'), `${config.options.identityHeaders.user},${config.options.identityHeaders.groups}`, 'the identity headers ringlet sends');
  t.equal(auth('addAuthCookiesToResponse'), cookieNames(config.options.behindTls).session, 'the re-issued cookie, by its name');
  t.equal(auth('preserveLocationHeader'), 'true', 'the relative login URL reaches the browser unchanged');
  t.equal(auth('trustForwardHeader'), 'false', 'client X-Forwarded-* headers are replaced by Traefik\'s');
  t.match(compose, /image: traefik:v3\.(3|[4-9])/, 'a Traefik version with preserveLocationHeader (v3.3)');

  const rule = ringletLabels.get('traefik.http.routers.ringlet.rule') ?? '';
  const regex = /PathRegexp\(`([^`]+)`\)/.exec(rule)?.[1];
  t.ok(regex, 'the router matches ringlet\'s paths with PathRegexp (v3 syntax)');
  const paths = new RegExp(regex ?? '$^');
  for (const path of OWNED_PATHS) t.ok(paths.test(path), `${path} goes to ringlet`);
  for (const path of ['/', '/status', '/sessionsx', '/login2', '/tokens', '/auth/x']) t.notOk(paths.test(path), `${path} goes to the admin UI`);

  const middlewares = adminLabels.get('traefik.http.routers.admin.middlewares')?.split(',');
  t.same(middlewares, ['ringlet-strip', 'ringlet-auth'], 'the admin UI is behind the strip and auth middlewares');
  const stripped = [...ringletLabels].filter(([k, v]) => k.startsWith('traefik.http.middlewares.ringlet-strip.headers.customrequestheaders.') && v === '')
    .map(([k]) => k.slice('traefik.http.middlewares.ringlet-strip.headers.customrequestheaders.'.length).toLowerCase());
  const replaced = (auth('authResponseHeaders') ?? '').toLowerCase().split(',');
  for (const name of Object.keys(FORGED_IDENTITY)) {
    if (/[^A-Za-z0-9-]/.test(name)) continue; // Traefik cannot match names by pattern: the README says so.
    t.ok(stripped.includes(name.toLowerCase()) || replaced.includes(name.toLowerCase()), `a client's ${name} is removed or replaced`);
  }
  t.end();
});

t.test('ringlet answers Traefik\'s requests', async (t) => {
  for (const mode of ['ram', 'cookie'] as const) {
    await t.test(`${mode} mode`, async (t) => {
      const clock = new ManualClock(1_000);
      // The recipe's options; this test plays Traefik from 127.0.0.1 instead of its compose address.
      const s = await startTestServer({
        mode,
        monotonic: clock,
        profile: { idleTimeoutMs: IDLE_MS },
        options: { allowedHosts: config.options.allowedHosts, trustedProxies: ['127.0.0.1'], behindTls: config.options.behindTls },
      });
      t.teardown(() => s.close());
      await adminWithPassword(s, PASSWORD);
      const address = new URL(auth('address') ?? '');
      /** ForwardAuth's request for a client request: its headers, then Traefik's X-Forwarded-*. */
      const forwardAuth = (uri: string, client: Record<string, string>) => s.request('GET', address.pathname, {
        headers: {
          ...client,
          host: address.host,
          'x-forwarded-method': 'GET',
          'x-forwarded-proto': 'http',
          'x-forwarded-host': PUBLIC_NAME,
          'x-forwarded-uri': uri,
          'x-forwarded-port': '80',
          'x-forwarded-for': CLIENT_IP,
        },
      });
      /** The router proxying one of ringlet's own pages (Host passed through, X-Forwarded-* added). */
      const page = (method: string, path: string, o: { headers?: Record<string, string>; json?: unknown } = {}) => s.request(method, path, {
        ...o,
        headers: { ...o.headers, host: PUBLIC_NAME, 'x-forwarded-for': CLIENT_IP, 'x-forwarded-host': PUBLIC_NAME, 'x-forwarded-proto': 'http', 'x-forwarded-port': '80', 'x-real-ip': CLIENT_IP },
      });

      const browser = await forwardAuth('/status?x=1&y=2', { accept: 'text/html,application/xhtml+xml', 'user-agent': 'Mozilla/5.0' });
      t.equal(browser.status, 302, 'a browser without a session: 302, which Traefik passes on');
      t.equal(browser.headers.location, '/login?next=%2Fstatus%3Fx%3D1%26y%3D2', 'a relative login URL (preserveLocationHeader keeps it so), next encoded whole');
      const api = await forwardAuth('/api/status', { accept: 'application/json' });
      t.equal(api.status, 401, 'an API client: 401');
      t.equal(api.headers.location, undefined);
      t.equal((await forwardAuth('/status', {})).status, 401, 'no Accept: 401');

      const login = await page('POST', '/login', { headers: { origin: `http://${PUBLIC_NAME}` }, json: { username: 'admin', password: PASSWORD } });
      t.equal(login.status, 200, 'ringlet\'s own login through the router, Origin from the public name');
      const cookieName = cookieNames(config.options.behindTls).session;
      const cookie = cookiePair(login, cookieName);
      const signedIn = await forwardAuth('/status', { cookie, accept: 'text/html', ...FORGED_IDENTITY });
      t.equal(signedIn.status, 200, 'signed in: 200');
      t.equal(signedIn.headers['remote-user'], 'admin', 'Remote-User for authResponseHeaders');
      t.equal(signedIn.headers['remote-groups'], 'admin', 'Remote-Groups for authResponseHeaders');
      clock.advance(IDLE_MS * 0.6);
      const active = await forwardAuth('/status', { cookie, accept: 'text/html' });
      t.equal(active.status, 200);
      const reissued = setCookieLine(active, auth('addAuthCookiesToResponse') ?? '');
      if (mode === 'cookie') t.ok(reissued, 'cookie mode: the re-issued cookie has the name addAuthCookiesToResponse copies');
      else t.notOk(reissued, 'RAM mode: no cookie to copy');
      t.equal(s.logEvents('host_refused').length, 0, `no request was refused for its Host (${address.host})`);
    });
  }
});
