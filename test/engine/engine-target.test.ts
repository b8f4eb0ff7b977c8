/**
 * The engine address (--shared-state / RINGLET_SHARED_STATE) and the key prefix: what is
 * accepted, what is refused and with which message, and that no message, log line or
 * serialized options object ever carries the password.
 */
import t from 'tap';
import { inspect } from 'node:util';
import { EngineTarget, parseEngineUrl, parseKeyPrefix } from '../../src/engine/engine-target.js';
import { resolveServeConfig } from '../../src/cli/serve-config.js';
import { validateServerOptions } from '../../src/server/options.js';

const PASSWORD = 'Hunter2-engine-secret';

const ACCEPTED: Array<[string, string, Partial<Record<'tls' | 'host' | 'port' | 'username' | 'password' | 'db', unknown>>]> = [
  ['host and port', 'redis://127.0.0.1:6379', { tls: false, host: '127.0.0.1', port: 6379, username: undefined, password: undefined, db: 0 }],
  ['default port and db', 'redis://cache.lan', { host: 'cache.lan', port: 6379, db: 0 }],
  ['trailing slash', 'redis://cache.lan/', { db: 0 }],
  ['database number', 'redis://cache.lan:6380/15', { port: 6380, db: 15 }],
  ['TLS', 'rediss://cache.lan:6380/2', { tls: true, port: 6380, db: 2 }],
  ['scheme in capitals', 'REDISS://cache.lan', { tls: true }],
  ['password only (default user)', `redis://:${PASSWORD}@127.0.0.1:6379/0`, { username: undefined, password: PASSWORD }],
  ['ACL user and password', `redis://ringlet:${PASSWORD}@127.0.0.1`, { username: 'ringlet', password: PASSWORD }],
  ['percent-encoded password', 'redis://u:p%40ss%3Aw%2Frd%25@h', { username: 'u', password: 'p@ss:w/rd%' }],
  ['"@" and "/" in a password unencoded (the last "@" ends it)', 'redis://u:p@ss/x@h:1/3', { username: 'u', password: 'p@ss/x', host: 'h', port: 1, db: 3 }],
  ['":" in a password', 'redis://u:a:b@h', { username: 'u', password: 'a:b' }],
  ['IPv6 literal', 'redis://[::1]:6379', { host: '::1', port: 6379 }],
  ['host in capitals', 'redis://Cache.LAN', { host: 'cache.lan' }],
  ['container service name with "_"', 'redis://redis_cache:6379', { host: 'redis_cache' }],
  ['largest port and db', 'redis://h:65535/2147483647', { port: 65535, db: 2147483647 }],
];

const REFUSED: Array<[string, string, RegExp]> = [
  ['empty', '', /must be redis:\/\/\[user:password@\]host\[:port\]\[\/db\] or rediss:\/\//],
  ['http scheme', 'http://cache.lan', /must be redis:\/\//],
  ['no slashes', 'redis:cache.lan', /must be redis:\/\//],
  ['Unix socket', 'unix:///run/redis.sock', /must be redis:.* \(Unix sockets are not supported\)/],
  ['redis+unix', 'redis+unix:///run/redis.sock', /must be redis:.* \(Unix sockets are not supported\)/],
  ['no host', 'redis://', /the host must be a DNS name or an IP address/],
  ['no host, port only', 'redis://:6379', /the host must be a DNS name/],
  ['port 0', 'redis://h:0', /the port must be an integer from 1 to 65535/],
  ['port 65536', 'redis://h:65536', /the port must be an integer from 1 to 65535/],
  ['empty port', 'redis://h:', /the port must be an integer from 1 to 65535/],
  ['port not a number', 'redis://h:63x9', /the port must be an integer/],
  ['database not a number', 'redis://h/abc', /the path must be empty or \/N/],
  ['database with a leading zero', 'redis://h/01', /the path must be empty or \/N/],
  ['database negative', 'redis://h/-1', /the path must be empty or \/N/],
  ['database too large', 'redis://h/2147483648', /the database number must be from 0 to 2147483647/],
  ['two path segments', 'redis://h/1/2', /the path must be empty or \/N/],
  ['query string', 'redis://h:6379/0?password=x', /must be redis:.* \(no query string or fragment: options are flags\)/],
  ['fragment', 'redis://h#x', /must be redis:.* \(no query string or fragment/],
  ['user without password', 'redis://ringlet@h', /a user name needs a password/],
  ['empty password', 'redis://ringlet:@h', /the password after ":" is empty/],
  ['bad percent-encoding in the password', `redis://u:${PASSWORD}%zz@h`, /the password is not valid percent-encoding/],
  ['control character in the password', `redis://u:${PASSWORD}%0A@h`, /the password must not contain control characters/],
  ['space', `redis://u:${PASSWORD} x@h`, /must be redis:.* \(no spaces or control characters\)/],
  ['IPv6 without brackets', 'redis://::1:6379', /an IPv6 host must be in brackets/],
  ['brackets around a name', 'redis://[cache]:6379', /the host in brackets must be an IPv6 address/],
  ['numeric name that is no IPv4 address', 'redis://1.2.3', /the host must be a DNS name or an IP address/],
  ['host with a bad character', 'redis://ca$he', /the host must be a DNS name/],
  ['too long', `redis://${'a'.repeat(2100)}`, /must be at most 2048 characters/],
  ['password too long', `redis://u:${'p'.repeat(600)}@h`, /the password must be at most 512 bytes/],
];

t.test('engine URLs accepted', (t) => {
  for (const [title, url, expected] of ACCEPTED) {
    const target = parseEngineUrl(url, '--shared-state');
    const seen = { tls: target.tls, host: target.host, port: target.port, username: target.username, password: target.revealPassword(), db: target.db };
    t.match(seen, expected, title);
  }
  t.end();
});

t.test('engine URLs refused, naming the field and the rule, never repeating the value', (t) => {
  for (const [title, url, message] of REFUSED) {
    let err: Error | undefined;
    try {
      parseEngineUrl(url, 'RINGLET_SHARED_STATE');
    } catch (e) {
      err = e as Error;
    }
    t.match(err, { code: 'ERR_CONFIG', field: 'RINGLET_SHARED_STATE' }, `${title}: ConfigError`);
    t.match(err?.message, new RegExp(`^RINGLET_SHARED_STATE: ${message.source}`), `${title}: message`);
    t.notMatch(err?.message ?? '', PASSWORD, `${title}: no password in the message`);
    t.notMatch(err?.message ?? '', /cache|ringlet@|:\/\/h/, `${title}: no part of the value in the message`);
  }
  t.end();
});

t.test('an EngineTarget never shows its password: String, JSON, util.inspect, logs of the options', (t) => {
  const target = parseEngineUrl(`rediss://ringlet:${PASSWORD}@cache.lan:6380/2`, 'x');
  t.equal(String(target), 'rediss://ringlet:***@cache.lan:6380/2');
  t.equal(JSON.stringify({ target }), '{"target":"rediss://ringlet:***@cache.lan:6380/2"}');
  t.equal(inspect(target), 'EngineTarget <rediss://ringlet:***@cache.lan:6380/2>');
  t.equal(String(parseEngineUrl(`redis://:${PASSWORD}@[::1]`, 'x')), 'redis://:***@[::1]:6379/0');
  t.equal(String(parseEngineUrl('redis://h', 'x')), 'redis://h:6379/0');
  const options = validateServerOptions({ sharedState: target });
  t.notMatch(JSON.stringify(options) + inspect(options, { depth: 5 }) + inspect(options, { showHidden: true, depth: 5 }), PASSWORD, 'the frozen options do not reveal it either');
  t.same(Object.keys(target).filter((k) => /pass/i.test(k)), [], 'no enumerable password field');
  t.equal(target.revealPassword(), PASSWORD, 'only revealPassword() returns it');
  t.ok(Object.isFrozen(target));
  t.end();
});

t.test('key prefixes', (t) => {
  for (const ok of ['ringlet:', 'site-a:', 'a', 'prod.ringlet:v1:', 'x'.repeat(64)]) t.equal(parseKeyPrefix(ok, 'p'), ok, ok);
  for (const bad of ['', ':x', ' a', 'a b', 'a*', 'a{tag}', 'x'.repeat(65), 'é:', 'a\n']) {
    t.throws(() => parseKeyPrefix(bad, '--shared-state-prefix'), { code: 'ERR_CONFIG', message: /^--shared-state-prefix: must be 1 to 64 characters/ }, JSON.stringify(bad));
  }
  t.end();
});

t.test('serve configuration: flag, variable, defaults, refusals', (t) => {
  const none = resolveServeConfig([], {});
  t.equal(none.options.sharedState, undefined, 'off by default');
  t.equal(none.options.sharedStatePrefix, 'ringlet:', 'default prefix');
  t.same(none.warnings, []);

  const fromEnv = resolveServeConfig([], { RINGLET_SHARED_STATE: `redis://ringlet:${PASSWORD}@10.0.0.5:6379/1`, RINGLET_SHARED_STATE_PREFIX: 'site-a:' });
  t.ok(fromEnv.options.sharedState instanceof EngineTarget);
  t.match(fromEnv.options.sharedState, { host: '10.0.0.5', port: 6379, db: 1, username: 'ringlet' });
  t.equal(fromEnv.options.sharedStatePrefix, 'site-a:');
  t.same(fromEnv.warnings, [], 'a password in the environment is not shown to other users');

  const fromFlag = resolveServeConfig(['--shared-state', `rediss://:${PASSWORD}@cache.lan`, '--shared-state-prefix', 'b:'], { RINGLET_SHARED_STATE: 'redis://other' });
  t.match(fromFlag.options.sharedState, { host: 'cache.lan', tls: true }, 'the flag wins over the variable');
  t.equal(fromFlag.options.sharedStatePrefix, 'b:');
  t.match(fromFlag.warnings, [/password in --shared-state is visible to every local user/], 'a password on the command line is warned about');
  t.notMatch(fromFlag.warnings.join(''), PASSWORD);
  t.same(resolveServeConfig(['--shared-state', 'redis://cache.lan'], {}).warnings, [], 'no password, no warning');
  t.equal(none.options.sharedStateFailClosed, false, 'serving from local state while the engine is away is the default');
  t.equal(resolveServeConfig(['--shared-state', 'redis://cache.lan', '--shared-state-fail-closed'], {}).options.sharedStateFailClosed, true, 'fail closed by flag');
  t.equal(resolveServeConfig([], { RINGLET_SHARED_STATE: 'redis://cache.lan', RINGLET_SHARED_STATE_FAIL_CLOSED: '1' }).options.sharedStateFailClosed, true, 'or by variable');

  const bad: Array<[string[], Record<string, string>, RegExp]> = [
    [['--shared-state', 'http://cache.lan'], {}, /^--shared-state: must be redis:\/\//],
    [[], { RINGLET_SHARED_STATE: `redis://u:${PASSWORD}@h:99999` }, /^RINGLET_SHARED_STATE: the port must be an integer from 1 to 65535$/],
    [['--shared-state', 'redis://h', '--shared-state-prefix', 'a b'], {}, /^--shared-state-prefix: must be 1 to 64 characters/],
    // Named as given, like every serve option (the prefix's own flag or variable).
    [['--shared-state-prefix', 'site-a:'], {}, /^--shared-state-prefix: needs sharedState \(--shared-state URL\)/],
    [[], { RINGLET_SHARED_STATE_PREFIX: 'site-a:' }, /^RINGLET_SHARED_STATE_PREFIX: needs sharedState/],
    [['--shared-state-fail-closed'], {}, /^--shared-state-fail-closed: needs sharedState/],
    [[], { RINGLET_SHARED_STATE_FAIL_CLOSED: 'true' }, /^RINGLET_SHARED_STATE_FAIL_CLOSED: needs sharedState/],
    [['--shared-state', 'redis://h'], { RINGLET_SHARED_STATE_FAIL_CLOSED: 'maybe' }, /^RINGLET_SHARED_STATE_FAIL_CLOSED: must be true or false/],
  ];
  for (const [argv, env, message] of bad) {
    let err: Error | undefined;
    try {
      resolveServeConfig(argv, env);
    } catch (e) {
      err = e as Error;
    }
    t.match(err?.message, message, `${argv.join(' ')} ${JSON.stringify(env)}`);
    t.notMatch(err?.message ?? '', PASSWORD);
  }
  t.throws(() => validateServerOptions({ sharedState: 'redis://h' as never }), { message: /^sharedState: must be an engine address from parseEngineUrl/ });
  t.end();
});
