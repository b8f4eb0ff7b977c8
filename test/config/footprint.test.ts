import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROFILES_DIR, loadProfileFile, parseProfile } from '../../src/config/profile.js';
import { BOOLEAN_FIELDS, INTEGER_FIELDS, envName, kebabCase } from '../../src/config/profile-schema.js';
import { computeFootprint, RUNTIME_BASELINE_BYTES, TUNNEL_BYTES, UPSTREAM_SOCKET_BYTES } from '../../src/config/footprint.js';
import { storeFootprintBytes } from '../../src/store/index.js';
import { throttleFootprintBytes } from '../../src/users/index.js';
import { CLIENT_FIXED_BYTES, engineClientFootprintBytes, LINK_SOCKET_BYTES } from '../../src/engine/resp-client.js';
import { SHARED_STATE_CLIENT_SETTINGS } from '../../src/engine/shared-state.js';
import { sharedRevocationsFootprintBytes } from '../../src/engine/shared-revocations.js';
import { sharedUsersFootprintBytes } from '../../src/engine/shared-users.js';
import { MAX_USERS } from '../../src/users/index.js';

t.test('every device profile validates and its computed footprint fits its budget', (t) => {
  for (const file of readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json'))) {
    const profile = loadProfileFile(`${PROFILES_DIR}${file}`);
    const f = computeFootprint(profile);
    t.ok(f.fits, `${profile.name}: ${f.totalBytes} ≤ ${f.budgetBytes}`);
    t.equal(f.totalBytes, f.parts.reduce((s, p) => s + p.bytes, 0), `${profile.name}: parts add up`);
    const store = f.parts.find((p) => p.part === 'store')?.bytes;
    t.equal(store, profile.mode === 'ram' ? storeFootprintBytes(profile) : 0, `${profile.name}: store part is the store's exact size`);
    t.equal(f.parts.find((p) => p.part === 'throttle')?.bytes, throttleFootprintBytes(profile.throttleEntries));
    t.equal(f.parts.find((p) => p.part === 'hashing')?.bytes, profile.hashConcurrency * 128 * 2 ** profile.scryptLogN * profile.scryptR);
  }
  t.end();
});

t.test('the footprint grows with what the profile asks for, and a tight budget is refused', (t) => {
  const base = parseProfile({ name: 'a' }, 'inline');
  const bigger = parseProfile({ name: 'b', capacity: 10_000 }, 'inline');
  t.ok(computeFootprint(bigger).totalBytes > computeFootprint(base).totalBytes);
  const cookie = parseProfile({ name: 'c', mode: 'cookie' }, 'inline');
  t.equal(computeFootprint(cookie).storeBytes, 0, 'cookie mode allocates no store');
  const tight = parseProfile({ name: 'd', memoryBudgetBytes: RUNTIME_BASELINE_BYTES }, 'inline');
  t.equal(computeFootprint(tight).fits, false);
  t.end();
});

t.test('the README documents every profile field with its flag and variable', (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  for (const field of [...Object.keys(INTEGER_FIELDS), ...Object.keys(BOOLEAN_FIELDS), 'mode', 'nodeFlags', 'launchEnv']) {
    t.match(readme, new RegExp(`^\\| \`${field}\` \\|`, 'm'), `${field} has a row`);
  }
  for (const field of [...Object.keys(INTEGER_FIELDS), ...Object.keys(BOOLEAN_FIELDS)]) {
    t.ok(readme.includes(`\`--${kebabCase(field)}\``) && readme.includes(`\`${envName(field)}\``), `${field}: flag and env documented`);
  }
  t.match(readme, /npm ci && npm start/, 'the start command');
  t.match(readme, /npm ci && npm test/, 'the test command');
  t.end();
});

t.test('the reverse proxy is counted when it is deployed, and where the deployment is unknown', (t) => {
  const p = parseProfile({ name: 'p', maxConnections: 100, maxTunnels: 10, maxTunnelsPerSession: 2 }, 'inline');
  const unknown = computeFootprint(p);
  const proxied = computeFootprint(p, { reverseProxy: true });
  const plain = computeFootprint(p, { reverseProxy: false });
  t.equal(unknown.totalBytes, proxied.totalBytes, 'unknown deployment: the worst case');
  t.equal(proxied.parts.find((x) => x.part === 'upstream')?.bytes, 100 * UPSTREAM_SOCKET_BYTES);
  t.equal(proxied.parts.find((x) => x.part === 'tunnels')?.bytes, 10 * TUNNEL_BYTES);
  t.equal(proxied.totalBytes - plain.totalBytes, 100 * UPSTREAM_SOCKET_BYTES + 10 * TUNNEL_BYTES, 'forward-auth only: neither is counted');
  t.end();
});

t.test('--shared-state is counted when set: the engine client at its configured limits, the backlog and the remembered ids', (t) => {
  const p = parseProfile({ name: 's', revocationEntries: 256 }, 'inline');
  const without = computeFootprint(p, { reverseProxy: false });
  const shared = computeFootprint(p, { reverseProxy: false, sharedState: true });
  const part = shared.parts.find((x) => x.part === 'shared state')?.bytes ?? 0;
  t.equal(without.parts.find((x) => x.part === 'shared state')?.bytes, 0, 'nothing without the option');
  t.equal(computeFootprint(p).parts.find((x) => x.part === 'shared state')?.bytes, 0, 'nor where the deployment is unknown (one device)');
  t.equal(shared.totalBytes - without.totalBytes, part);
  const client = engineClientFootprintBytes(SHARED_STATE_CLIENT_SETTINGS);
  t.equal(part, client + sharedRevocationsFootprintBytes(256) + sharedUsersFootprintBytes(MAX_USERS), 'client worst case + backlog + ids + the users mirror (every user a file may hold)');
  t.equal(sharedUsersFootprintBytes(MAX_USERS), MAX_USERS * 512);
  t.equal(client, 128 * 1024 + 2 * (256 * 1024 + LINK_SOCKET_BYTES) + CLIENT_FIXED_BYTES, 'the client: its queue, and per connection the reply it may hold and the socket');
  t.ok(engineClientFootprintBytes() > 3 * 1024 * 1024 && engineClientFootprintBytes() < 4 * 1024 * 1024, 'at the client\'s own defaults it would be ~3.3 MiB');
  const bigger = computeFootprint(parseProfile({ name: 'b', revocationEntries: 4096 }, 'inline'), { reverseProxy: false, sharedState: true });
  t.ok((bigger.parts.find((x) => x.part === 'shared state')?.bytes ?? 0) > part, 'grows with revocationEntries');
  for (const name of ['ap-cookie', 'openwrt-256mb', 'embedded-default', 'rpi-zero-2w', 'rpi-4']) {
    const profile = loadProfileFile(`${PROFILES_DIR}${name}.json`);
    t.ok(computeFootprint(profile, { reverseProxy: true, sharedState: true }).fits, `${name} fits with --shared-state and --upstream`);
  }
  const container = loadProfileFile(`${PROFILES_DIR}container-64mb.json`);
  t.ok(computeFootprint({ ...container, mode: 'cookie' }, { reverseProxy: false, sharedState: true }).fits, 'container-64mb in cookie mode (the replica setup) fits with --shared-state');
  t.end();
});
