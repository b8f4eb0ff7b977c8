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
import { BOOLEAN_FIELDS, INTEGER_FIELDS, envName, kebabCase } from '../../src/config/profile-schema.js';
import { isWeakerCost, meetsOwaspScryptMinimum, owaspMinimumP } from '../../src/users/index.js';

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
  ['scrypt p below OWASP at 2^14', { scryptLogN: 14, scryptP: 4 }, /^scryptP: N=2\^14 r=8 needs scryptP >= 5 to meet OWASP's scrypt table \(r=8: 2\^17 p=1, 2\^16 p=2, 2\^15 p=3, 2\^14 p=5, 2\^13 p=10, 2\^12 p=20\)/],
  ['scrypt p below OWASP at 2^12', { scryptLogN: 12, scryptP: 16 }, /^scryptP: N=2\^12 r=8 needs scryptP >= 20/],
  ['scrypt p below OWASP at the default N', { scryptP: 1 }, /^scryptP: N=2\^15 r=8 needs scryptP >= 3/],
  ['scrypt N below the table', { scryptLogN: 11, scryptP: 32 }, /^scryptLogN: N=2\^11 r=8 is below OWASP's scrypt table .*no scryptP makes up for it/],
  ['scrypt r counts by memory', { scryptLogN: 14, scryptR: 4, scryptP: 5 }, /^scryptP: N=2\^14 r=4 needs scryptP >= 10/],
  ['scrypt p above its range', { scryptP: 33 }, /^scryptP: must be an integer from 1 to 32/],
  ['the override is a boolean', { insecureScryptBelowOwasp: 'yes' }, /^insecureScryptBelowOwasp: must be true or false/],
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

t.test("every device profile meets OWASP's scrypt table with no more memory per hash than it had", (t) => {
  // p raised to meet the table; N and r as before it was enforced (memory per hash, 128·N·r,
  // unchanged), except the two 80 MiB profiles, which take the table's row with half the
  // memory for the same work (N=2^13 p=10 for 2^14 p=5): their peak under load must fit.
  const expected: Record<string, [number, number, number]> = {
    'embedded-default': [14, 8, 5], 'openwrt-256mb': [13, 8, 10], 'ap-cookie': [13, 8, 10],
    'rpi-zero-2w': [15, 8, 3], 'rpi-4': [16, 8, 2], 'container-64mb': [12, 8, 20],
  };
  for (const file of readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json'))) {
    const p = loadProfileFile(`${PROFILES_DIR}${file}`);
    const cost = { logN: p.scryptLogN, r: p.scryptR, p: p.scryptP };
    t.ok(meetsOwaspScryptMinimum(cost), `${p.name}: meets the table`);
    t.equal(p.insecureScryptBelowOwasp, false, `${p.name}: no override`);
    t.same([p.scryptLogN, p.scryptR, p.scryptP], expected[p.name], `${p.name}: N, r, p`);
  }
  t.ok(meetsOwaspScryptMinimum({ logN: INTEGER_FIELDS.scryptLogN.default, r: INTEGER_FIELDS.scryptR.default, p: INTEGER_FIELDS.scryptP.default }), 'the defaults meet it');
  t.end();
});

t.test("OWASP's table, and which stored costs are upgraded (cheaper on both axes, or below the table)", (t) => {
  const rows: Array<[number, number, number | undefined]> = [
    [20, 8, 1], [17, 8, 1], [16, 8, 2], [15, 8, 3], [14, 8, 5], [13, 8, 10], [12, 8, 20], [11, 8, undefined], [10, 8, undefined],
    [13, 16, 5], [14, 4, 10], [14, 12, 5], [12, 4, undefined], [10, 32, 20],
  ];
  for (const [logN, r, minP] of rows) t.equal(owaspMinimumP(logN, r), minP, `N=2^${logN} r=${r}: p >= ${minP ?? 'none'}`);
  const cases: Array<[[number, number, number], [number, number, number], boolean]> = [
    [[14, 8, 1], [14, 8, 5], true], [[14, 8, 5], [14, 8, 5], false], [[15, 8, 3], [14, 8, 5], false],
    [[13, 8, 10], [14, 8, 5], true], [[16, 8, 1], [14, 8, 5], true], [[14, 8, 5], [15, 8, 3], true],
    [[17, 8, 1], [14, 8, 5], false], [[16, 8, 2], [14, 8, 5], false], [[13, 16, 5], [14, 8, 5], false],
    [[11, 8, 1], [10, 8, 2], false], [[10, 8, 1], [10, 8, 2], true],
  ];
  for (const [[a, b, c], [x, y, z], weaker] of cases) {
    t.equal(isWeakerCost({ logN: a, r: b, p: c }, { logN: x, r: y, p: z }), weaker, `2^${a} r=${b} p=${c} vs 2^${x} r=${y} p=${z}: ${weaker ? 'weaker' : 'not weaker'}`);
  }
  t.end();
});

t.test('the override admits a cost below the table, from a file, a variable or a flag', (t) => {
  const cheap = { scryptLogN: 10, scryptP: 1 };
  t.throws(() => parseProfile(cheap, 'inline'), /^scryptLogN: N=2\^10 r=8 is below OWASP's scrypt table/);
  t.equal(parseProfile({ ...cheap, insecureScryptBelowOwasp: true }, 'inline').scryptLogN, 10);
  const base = loadProfile('embedded-default');
  t.throws(() => applyOverrides(base, new Map([['scryptP', '1']]), (f) => envName(f)), /^scryptP: N=2\^14 r=8 needs scryptP >= 5 .*\(in embedded-default with overrides\)/);
  const env = overridesFromEnv({ [envName('scryptP')]: '1', [envName('insecureScryptBelowOwasp')]: '1' });
  t.equal(envName('insecureScryptBelowOwasp'), 'RINGLET_INSECURE_SCRYPT_BELOW_OWASP');
  t.equal(applyOverrides(base, env, (f) => envName(f)).scryptP, 1);
  t.throws(() => applyOverrides(base, new Map([['insecureScryptBelowOwasp', 'maybe']]), (f) => envName(f)), /^RINGLET_INSECURE_SCRYPT_BELOW_OWASP: must be true or false \(1 or 0\)$/);
  t.same(Object.keys(BOOLEAN_FIELDS), ['insecureScryptBelowOwasp']);
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
    /^RINGLET_CAPACITY: must be an integer from 1 to 1048576 \(sessions\), got "12abc"$/,
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
