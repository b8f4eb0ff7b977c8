import t from 'tap';
import { hostname } from 'node:os';
import { resolveServeConfig } from '../../src/cli/serve-config.js';
import { defaultDeviceName } from '../../src/server/options.js';

t.test('defaults: the embedded profile on 127.0.0.1:8080', (t) => {
  const { profile, options, help } = resolveServeConfig([], {});
  t.equal(profile.name, 'embedded-default');
  t.equal(options.host, '127.0.0.1');
  t.equal(options.port, 8080);
  t.equal(help, false);
  t.end();
});

t.test('flags win over environment, environment over profile', (t) => {
  const env = { RINGLET_PORT: '9000', RINGLET_CAPACITY: '100', RINGLET_MODE: 'cookie', RINGLET_ALLOWED_HOSTS: 'router.lan, 192.168.1.1' };
  const a = resolveServeConfig(['--profile', 'rpi-4'], env);
  t.equal(a.profile.name, 'rpi-4');
  t.equal(a.profile.capacity, 100, 'env overrides the profile');
  t.equal(a.profile.mode, 'cookie');
  t.equal(a.options.port, 9000);
  t.same(a.options.allowedHosts, ['router.lan', '192.168.1.1']);
  const b = resolveServeConfig(['--port', '9100', '--capacity', '200', '--mode', 'ram', '--allowed-host', 'a.lan', '--behind-tls'], env);
  t.equal(b.options.port, 9100);
  t.equal(b.profile.capacity, 200);
  t.equal(b.profile.mode, 'ram');
  t.same(b.options.allowedHosts, ['a.lan']);
  t.equal(b.options.behindTls, true);
  t.end();
});

const BAD: Array<[string, string[], Record<string, string>, RegExp]> = [
  ['unknown flag', ['--nope'], {}, /^arguments: Unknown option '--nope'/],
  ['bad port flag', ['--port', '80a'], {}, /^--port: must be an integer from 0 to 65535, got "80a"$/],
  ['port flag out of range', ['--port', '70000'], {}, /^--port: must be an integer from 0 to 65535, got 70000$/],
  ['bad port env', [], { RINGLET_PORT: '-1' }, /^RINGLET_PORT: must be an integer/],
  ['bad capacity flag', ['--capacity', '0'], {}, /^--capacity: must be an integer from 1 to 1048576 \(sessions\), got 0$/],
  ['bad idle env', [], { RINGLET_IDLE_TIMEOUT_MS: 'soon' }, /^RINGLET_IDLE_TIMEOUT_MS: must be an integer from 1000 to 2147483647 \(ms\), got "soon"$/],
  ['bad mode flag', ['--mode', 'redis'], {}, /^--mode: must be one of ram, cookie$/],
  ['bad upstream', ['--upstream', 'not a url'], {}, /^--upstream: must be an absolute URL/],
  ['upstream scheme', ['--upstream', 'ftp://x'], {}, /^--upstream: must be an http:\/\/ or https:\/\/ URL$/],
  ['bad proxy', ['--trusted-proxy', 'example.com'], {}, /^--trusted-proxy: must be an IP address \(got "example\.com"\)$/],
  ['bad proxy env', [], { RINGLET_TRUSTED_PROXIES: '10.0.0.1, example.com' }, /^RINGLET_TRUSTED_PROXIES: must be an IP address \(got "example\.com"\)$/],
  ['bad allowed host', ['--allowed-host', 'router.lan', '--allowed-host', 'bad host!'], {}, /^--allowed-host: must be host or host:port \(got "bad host!"\)$/],
  ['star origin', ['--cors-origin', '*'], {}, /^--cors-origin: must be an origin/],
  ['cert without key', ['--tls-cert', 'c.pem'], {}, /^--tls-cert: TLS needs both/],
  ['bad profile name', ['--profile', 'No Such'], {}, /^--profile: a profile name is/],
  ['missing profile', ['--profile', 'no-such-device'], {}, /^--profile: cannot read .*no-such-device\.json: ENOENT/],
  ['missing profile env', [], { RINGLET_PROFILE: 'no-such-device' }, /^RINGLET_PROFILE: cannot read .*no-such-device\.json: ENOENT/],
  ['bad log level', ['--log-level', 'loud'], {}, /^--log-level: must be debug, info, warn or error$/],
  ['bad header name', ['--user-header', 'X User'], {}, /^--user-header: must be a header name$/],
  ['unknown time zone', ['--time-zone', 'Mars/Olympus_Mons'], {}, /^--time-zone: unknown time zone "Mars\/Olympus_Mons"/],
  ['device name on two lines', [], { RINGLET_DEVICE_NAME: 'router\nline two' }, /^RINGLET_DEVICE_NAME: must be 1 to 64 characters on one line/],
  ['device name too long', ['--device-name', 'x'.repeat(65)], {}, /^--device-name: must be 1 to 64 characters/],
];

t.test('the device name and time zone: flag, environment, defaults', (t) => {
  const d = resolveServeConfig([], {});
  t.equal(d.options.deviceName, defaultDeviceName(hostname()), 'the host name by default');
  t.equal(d.options.timeZone, 'UTC');
  const env = resolveServeConfig([], { RINGLET_DEVICE_NAME: 'Büro-AP', RINGLET_TIME_ZONE: 'Europe/Berlin' });
  t.equal(env.options.deviceName, 'Büro-AP');
  t.equal(env.options.timeZone, 'Europe/Berlin');
  const flag = resolveServeConfig(['--device-name', 'Office router <2>', '--time-zone', 'Asia/Kolkata'], { RINGLET_DEVICE_NAME: 'Büro-AP' });
  t.equal(flag.options.deviceName, 'Office router <2>', 'kept as given: pages escape it');
  t.equal(flag.options.timeZone, 'Asia/Kolkata');
  t.end();
});

t.test('a host name becomes a device name: one line, at most 64 characters, "ringlet" when empty', (t) => {
  const cases: Array<[string, string]> = [
    ['gw-01', 'gw-01'],
    ['  padded  ', 'padded'],
    ['new\nline\u0000', 'newline'],
    ['', 'ringlet'],
    ['\u0007', 'ringlet'],
    ['é'.repeat(70), 'é'.repeat(64)],
    ['🙂'.repeat(70), '🙂'.repeat(64)],
  ];
  for (const [host, name] of cases) t.equal(defaultDeviceName(host), name, JSON.stringify(host));
  t.end();
});

t.test('bad configuration is refused naming the flag or variable', (t) => {
  for (const [title, argv, env, message] of BAD) t.throws(() => resolveServeConfig(argv, env), message, title);
  t.end();
});
