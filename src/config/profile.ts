/**
 * Loading and validating device profiles. Validation happens once, at start; every error
 * names the source (file, environment variable or flag), the field and the allowed range.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { integerFromText, integerProblem } from '../util/options.js';
import { MAX_SCRYPT_MEMORY_BYTES, OWASP_SCRYPT_MIN_P, owaspMinimumP } from '../users/index.js';
import {
  ALLOWED_NODE_FLAG_RE,
  BOOLEAN_FIELDS,
  INTEGER_FIELDS,
  LAUNCH_ENV_NAMES,
  MAX_LAUNCH_ENV_ENTRIES,
  MODES,
  PROFILE_NAME_RE,
  envName,
  type BooleanField,
  type DeviceProfile,
  type IntegerField,
  type SessionMode,
} from './profile-schema.js';

/** The profile `ringlet serve` uses when none is named. */
export const DEFAULT_PROFILE_NAME = 'embedded-default';

/** dist/src/config/ → the package root's device-profiles/. */
export const PROFILES_DIR = fileURLToPath(new URL('../../../device-profiles/', import.meta.url));

const INTEGER_NAMES = Object.keys(INTEGER_FIELDS) as IntegerField[];
const BOOLEAN_NAMES = Object.keys(BOOLEAN_FIELDS) as BooleanField[];
const KNOWN_FIELDS = new Set<string>(['name', 'description', 'mode', 'nodeFlags', 'launchEnv', ...INTEGER_NAMES, ...BOOLEAN_NAMES]);

/** A profile with every field at its default (used as the base that files override). */
export function defaultProfile(): DeviceProfile {
  const profile: Record<string, unknown> = {
    name: 'defaults',
    description: 'built-in defaults',
    mode: 'ram',
    nodeFlags: [],
    launchEnv: {},
  };
  for (const field of INTEGER_NAMES) profile[field] = INTEGER_FIELDS[field].default;
  for (const field of BOOLEAN_NAMES) profile[field] = BOOLEAN_FIELDS[field].default;
  return profile as unknown as DeviceProfile;
}

/** Throws the ConfigError for one field; each source names the field its own way. */
type Fail = (field: string, message: string) => never;

/** A field in a profile file: named as written there, with the file. */
function inFile(source: string): Fail {
  return (field, message) => {
    throw new ConfigError(field, `${message} (in ${source})`);
  };
}

/** A value from a flag or variable: named as the operator gave it (`--capacity`, `RINGLET_CAPACITY`). */
function asOption(option: string): Fail {
  return (_field, message) => {
    throw new ConfigError(option, message);
  };
}

function fail(source: string, field: string, message: string): never {
  return inFile(source)(field, message);
}

function checkInteger(failWith: Fail, field: IntegerField, value: unknown): number {
  const { min, max, unit } = INTEGER_FIELDS[field];
  const problem = integerProblem(value, min, max, unit);
  if (problem !== undefined) failWith(field, problem);
  return value as number;
}

/**
 * Validates a parsed profile object (fields absent from it take their defaults) and the
 * relations between fields. `source` names where it came from, for error messages.
 */
export function parseProfile(input: unknown, source: string): DeviceProfile {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(source, 'profile', 'must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key === '$comment') continue;
    if (!KNOWN_FIELDS.has(key)) fail(source, key, 'is not a profile field');
  }
  const profile = defaultProfile();
  if ('name' in raw) {
    if (typeof raw['name'] !== 'string' || !PROFILE_NAME_RE.test(raw['name'])) {
      fail(source, 'name', 'must be 1-64 characters of a-z, 0-9 and -');
    }
    profile.name = raw['name'];
  }
  if ('description' in raw) {
    if (typeof raw['description'] !== 'string' || raw['description'].length > 300) {
      fail(source, 'description', 'must be a string of at most 300 characters');
    }
    profile.description = raw['description'];
  }
  const failWith = inFile(source);
  if ('mode' in raw) profile.mode = parseMode(failWith, raw['mode']);
  if ('nodeFlags' in raw) profile.nodeFlags = parseNodeFlags(failWith, raw['nodeFlags']);
  if ('launchEnv' in raw) profile.launchEnv = parseLaunchEnv(failWith, raw['launchEnv']);
  for (const field of INTEGER_NAMES) {
    if (field in raw) profile[field] = checkInteger(failWith, field, raw[field]);
  }
  for (const field of BOOLEAN_NAMES) {
    if (field in raw) {
      if (typeof raw[field] !== 'boolean') failWith(field, 'must be true or false');
      profile[field] = raw[field] as boolean;
    }
  }
  checkRelations(profile, source);
  return profile;
}

function parseMode(failWith: Fail, value: unknown): SessionMode {
  if (typeof value !== 'string' || !(MODES as readonly string[]).includes(value)) {
    failWith('mode', `must be one of ${MODES.join(', ')}`);
  }
  return value as SessionMode;
}

function parseNodeFlags(failWith: Fail, value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 8) failWith('nodeFlags', 'must be an array of at most 8 flags');
  return value.map((flag, index) => {
    if (typeof flag !== 'string' || !ALLOWED_NODE_FLAG_RE.test(flag)) {
      failWith(`nodeFlags[${index}]`, 'must be one of --max-old-space-size=N, --max-semi-space-size=N, --stack-size=N, --jitless, --lite-mode, --optimize-for-size');
    }
    return flag;
  });
}

function parseLaunchEnv(failWith: Fail, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length > MAX_LAUNCH_ENV_ENTRIES) {
    failWith('launchEnv', `must be an object of at most ${MAX_LAUNCH_ENV_ENTRIES} variables`);
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (!LAUNCH_ENV_NAMES.includes(name)) failWith(`launchEnv.${name}`, `is not a launch variable ringlet knows (${LAUNCH_ENV_NAMES.join(', ')})`);
    if (typeof v !== 'string' || !/^\d{1,12}$/.test(v)) failWith(`launchEnv.${name}`, 'must be a decimal integer, as a string');
    out[name] = v;
  }
  return out;
}


function checkRelations(p: DeviceProfile, source: string): void {
  if (p.maxSessionsPerUser > p.capacity) {
    fail(source, 'maxSessionsPerUser', `must not exceed capacity (${p.capacity})`);
  }
  if (p.idleTimeoutMs > p.absoluteTimeoutMs) {
    fail(source, 'idleTimeoutMs', `must not exceed absoluteTimeoutMs (${p.absoluteTimeoutMs})`);
  }
  if (p.throttleBaseDelayMs > p.throttleMaxDelayMs) {
    fail(source, 'throttleBaseDelayMs', `must not exceed throttleMaxDelayMs (${p.throttleMaxDelayMs})`);
  }
  if (p.throttleForgetAfterMs < p.throttleMaxDelayMs) {
    // A key must not be forgotten while its back-off is still running.
    fail(source, 'throttleForgetAfterMs', `must be at least throttleMaxDelayMs (${p.throttleMaxDelayMs})`);
  }
  if (p.headersTimeoutMs > p.requestTimeoutMs) {
    // node:http requires headersTimeout <= requestTimeout.
    fail(source, 'headersTimeoutMs', `must not exceed requestTimeoutMs (${p.requestTimeoutMs})`);
  }
  if (p.maxTunnels > 0 && p.maxTunnelsPerSession > p.maxTunnels) {
    fail(source, 'maxTunnelsPerSession', `must not exceed maxTunnels (${p.maxTunnels})`);
  }
  if (128 * 2 ** p.scryptLogN * p.scryptR > MAX_SCRYPT_MEMORY_BYTES) {
    fail(source, 'scryptR', `128 * 2^scryptLogN * scryptR must be at most ${MAX_SCRYPT_MEMORY_BYTES} bytes`);
  }
  checkOwasp(p, source);
}

const OWASP_TABLE_TEXT = Object.entries(OWASP_SCRYPT_MIN_P).sort(([a], [b]) => Number(b) - Number(a)).map(([logN, minP]) => `2^${logN} p=${minP}`).join(', ');

/**
 * OWASP's scrypt table (r = 8: N=2^17 p=1 ... 2^12 p=20; see users/scrypt-cost.ts). On a
 * small device memory is the scarce thing: keep N and raise p, which costs time only.
 */
function checkOwasp(p: DeviceProfile, source: string): void {
  if (p.insecureScryptBelowOwasp) return;
  const minP = owaspMinimumP(p.scryptLogN, p.scryptR);
  const override = 'insecureScryptBelowOwasp: true is for test suites only';
  if (minP === undefined) {
    fail(source, 'scryptLogN', `N=2^${p.scryptLogN} r=${p.scryptR} is below OWASP's scrypt table (r=8: ${OWASP_TABLE_TEXT}); no scryptP makes up for it (${override})`);
  }
  if (p.scryptP < minP) {
    fail(source, 'scryptP', `N=2^${p.scryptLogN} r=${p.scryptR} needs scryptP >= ${minP} to meet OWASP's scrypt table (r=8: ${OWASP_TABLE_TEXT}); p costs time, not memory (${override})`);
  }
}

/** Reads and validates a profile file; errors name the file. */
export function loadProfileFile(path: string): DeviceProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('profile', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('profile', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseProfile(json, path);
}

/** A bare name (`rpi-zero-2w`) resolves in device-profiles/; anything with a slash or `.json` is a path. */
export function resolveProfilePath(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.json')) return nameOrPath;
  if (!PROFILE_NAME_RE.test(nameOrPath)) {
    throw new ConfigError('profile', 'a profile name is 1-64 characters of a-z, 0-9 and -, or a path to a .json file');
  }
  return join(PROFILES_DIR, `${nameOrPath}.json`);
}

export function loadProfile(nameOrPath: string = DEFAULT_PROFILE_NAME): DeviceProfile {
  return loadProfileFile(resolveProfilePath(nameOrPath));
}

/**
 * Applies string overrides (from `RINGLET_*` variables or CLI flags) field by field, then
 * re-validates the whole profile. `overrides` maps field name → raw string; `describe`
 * names the source of one field for error messages.
 */
export function applyOverrides(
  profile: DeviceProfile,
  overrides: ReadonlyMap<string, string>,
  describe: (field: string) => string,
): DeviceProfile {
  if (overrides.size === 0) return profile;
  const merged: Record<string, unknown> = { ...profile };
  for (const [field, value] of overrides) {
    const failWith = asOption(describe(field));
    if (field === 'mode') merged['mode'] = parseMode(failWith, value);
    else if (field === 'nodeFlags') merged['nodeFlags'] = parseNodeFlags(failWith, value.split(/\s+/).filter(Boolean));
    else if (field in BOOLEAN_FIELDS) merged[field] = parseBoolean(failWith, field, value);
    else if (field in INTEGER_FIELDS) {
      const { min, max, unit } = INTEGER_FIELDS[field as IntegerField];
      merged[field] = integerFromText(value, describe(field), min, max, unit);
    } else fail(describe(field), field, 'is not a profile field that can be overridden');
  }
  return parseProfile(merged, `${profile.name} with overrides`);
}

function parseBoolean(failWith: Fail, field: string, value: string): boolean {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  return failWith(field, 'must be true or false (1 or 0)');
}

/** Collects `RINGLET_<FIELD>` overrides for every overridable profile field. */
export function overridesFromEnv(env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const field of ['mode', ...INTEGER_NAMES, ...BOOLEAN_NAMES]) {
    const value = env[envName(field)];
    if (value !== undefined && value !== '') out.set(field, value);
  }
  return out;
}
