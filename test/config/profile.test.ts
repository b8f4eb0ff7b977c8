import t from 'tap';
import { readdirSync } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import {
  PROFILES_DIR,
  applyOverrides,
  defaultProfile,
  loadProfile,
  loadProfileFile,
  overridesFromEnv,
  parseProfile,
  resolveProfilePath,
} from '../../src/config/profile.js';
import { INTEGER_FIELDS, envName, kebabCase } from '../../src/config/profile-schema.js';

const REQUIRED_PROFILES = ['embedded-default', 'rpi-zero-2w', 'rpi-4', 'openwrt-256mb', 'container-64mb', 'ap-cookie'];

t.test('every required device profile exists, loads and names itself after its file', (t) => {
  const files = readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json'));
  for (const name of REQUIRED_PROFILES) t.ok(files.includes(`${name}.json`), `${name}.json present`);
  for (const file of files) {
    const profile = loadProfileFile(`${PROFILES_DIR}${file}`);
    t.equal(`${profile.name}.json`, file, `${file} name matches`);
    t.ok(profile.description.length > 40, `${file} explains itself`);
    for (const field of Object.keys(INTEGER_FIELDS)) {
      t.ok(field in (JSON.parse(JSON.stringify(profile)) as object), `${file} sets ${field}`);
    }
  }
  t.equal(loadProfile('ap-cookie').mode, 'cookie');
  t.end();
});

const INVALID: Array<[string, Record<string, unknown>, RegExp]> = [
  ['not an object', [] as unknown as Record<string, unknown>, /^profile: must be a JSON object/],
  ['unknown field', { capacty: 10 }, /^capacty: is not a profile field/],
  ['capacity zero', { capacity: 0 }, /^capacity: must be an integer from 1 to 1048576 \(sessions\)/],
  ['capacity fractional', { capacity: 1.5 }, /^capacity: must be an integer/],
  ['capacity as string', { capacity: '10' }, /^capacity: must be an integer/],
  ['capacity absurd', { capacity: 1e9 }, /^capacity: must be an integer from 1 to 1048576/],
  ['slot too big', { slotBytes: 1 << 20 }, /^slotBytes: must be an integer from 0 to 65536 \(bytes\)/],
  ['timer overflow', { idleTimeoutMs: 2 ** 31 }, /^idleTimeoutMs: must be an integer from 1000 to 2147483647/],
  ['bad mode', { mode: 'redis' }, /^mode: must be one of ram, cookie/],
  ['bad name', { name: '../etc' }, /^name: must be 1-64 characters/],
  ['per-user cap above capacity', { capacity: 4, maxSessionsPerUser: 5 }, /^maxSessionsPerUser: must not exceed capacity \(4\)/],
  ['idle above absolute', { idleTimeoutMs: 7200000, absoluteTimeoutMs: 3600000 }, /^idleTimeoutMs: must not exceed absoluteTimeoutMs/],
  ['headers timeout above request timeout', { headersTimeoutMs: 20000, requestTimeoutMs: 10000 }, /^headersTimeoutMs: must not exceed requestTimeoutMs/],
  ['throttle base above max', { throttleBaseDelayMs: 10000, throttleMaxDelayMs: 1000 }, /^throttleBaseDelayMs: must not exceed/],
  ['forget before back-off ends', { throttleMaxDelayMs: 600000, throttleForgetAfterMs: 60000 }, /^throttleForgetAfterMs: must be at least throttleMaxDelayMs/],
  ['scrypt memory absurd', { scryptLogN: 20, scryptR: 32 }, /^scryptR: 128 \* 2\^scryptLogN \* scryptR must be at most/],
  ['per-address connection cap zero', { maxConnectionsPerAddress: 0 }, /^maxConnectionsPerAddress: must be an integer from 1 to 65536 \(count\)/],
  ['node flag not allowed', { nodeFlags: ['--inspect=0.0.0.0'] }, /^nodeFlags\[0\]: must be one of/],
  ['node flags not an array', { nodeFlags: '--jitless' }, /^nodeFlags: must be an array/],
  ['launch variable not allowed', { launchEnv: { LD_PRELOAD: '/tmp/x.so' } }, /^launchEnv\.LD_PRELOAD: is not a launch variable ringlet knows \(MALLOC_MMAP_THRESHOLD_, /],
  ['launch value not a number', { launchEnv: { MALLOC_MMAP_THRESHOLD_: '1; rm -rf /' } }, /^launchEnv\.MALLOC_MMAP_THRESHOLD_: must be a decimal integer/],
  ['launch env not an object', { launchEnv: ['MALLOC_MMAP_THRESHOLD_=1'] }, /^launchEnv: must be an object of at most 4 variables/],
];

t.test('invalid profiles are refused with the field, the range and the source', (t) => {
  for (const [title, input, message] of INVALID) {
    t.throws(() => parseProfile(input, 'test.json'), message, title);
    try {
      parseProfile(input, 'test.json');
    } catch (err) {
      t.ok(err instanceof ConfigError, `${title}: ConfigError`);
      t.match((err as Error).message, /\(in test\.json/, `${title}: names the source`);
    }
  }
  t.end();
});

t.test('missing fields take the documented defaults', (t) => {
  const profile = parseProfile({ name: 'tiny', capacity: 10, maxSessionsPerUser: 2 }, 'inline');
  t.equal(profile.capacity, 10);
  t.equal(profile.slotBytes, INTEGER_FIELDS.slotBytes.default);
  t.equal(profile.mode, 'ram');
  t.same(defaultProfile().nodeFlags, []);
  t.same(defaultProfile().launchEnv, {});
  t.end();
});

t.test('environment and flag overrides are validated like the file', (t) => {
  const base = loadProfile('embedded-default');
  const env = { [envName('capacity')]: '512', [envName('mode')]: 'cookie', RINGLET_UNRELATED: 'x' };
  const overrides = overridesFromEnv(env);
  t.same([...overrides.keys()].sort(), ['capacity', 'mode']);
  const merged = applyOverrides(base, overrides, (f) => envName(f));
  t.equal(merged.capacity, 512);
  t.equal(merged.mode, 'cookie');
  t.throws(
    () => applyOverrides(base, new Map([['capacity', '12abc']]), (f) => envName(f)),
    /^RINGLET_CAPACITY: must be an integer from 1 to 1048576 \(sessions\)$/,
  );
  t.throws(() => applyOverrides(base, new Map([['capacity', '-1']]), (f) => `--${kebabCase(f)}`), /^--capacity: must be an integer/);
  t.throws(() => applyOverrides(base, new Map([['mode', 'redis']]), (f) => `--${kebabCase(f)}`), /^--mode: must be one of ram, cookie$/);
  t.throws(() => applyOverrides(base, new Map([['name', 'x']]), (f) => f), /name: is not a profile field that can be overridden/);
  t.end();
});

t.test('profile names resolve inside device-profiles; paths are taken as given', (t) => {
  t.equal(resolveProfilePath('rpi-4'), `${PROFILES_DIR}rpi-4.json`);
  t.equal(resolveProfilePath('./mine.json'), './mine.json');
  t.throws(() => resolveProfilePath('Bad Name'), /^profile: a profile name is/);
  t.throws(() => loadProfileFile('/nonexistent/x.json'), /^profile: cannot read \/nonexistent\/x\.json: ENOENT/);
  t.end();
});
