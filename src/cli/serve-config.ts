/**
 * `ringlet serve` configuration: the profile, then `RINGLET_*` environment variables, then
 * command-line flags (later wins). Every profile field is also a flag (`--idle-timeout-ms`)
 * and a variable (`RINGLET_IDLE_TIMEOUT_MS`), derived from the schema table.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';
import { BOOLEAN_FIELDS, INTEGER_FIELDS, envName, kebabCase, type DeviceProfile } from '../config/profile-schema.js';
import { DEFAULT_PROFILE_NAME, applyOverrides, loadProfile, overridesFromEnv } from '../config/profile.js';
import { MAX_PORT, validateServerOptions, type ServerOptions } from '../server/options.js';
import { integerFromText } from '../util/options.js';
import { parseEngineUrl, parseKeyPrefix } from '../engine/engine-target.js';

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Server flags: flag → [option field, env variable, kind]. */
const SERVER_FLAGS = {
  host: ['host', 'RINGLET_HOST', 'string'],
  port: ['port', 'RINGLET_PORT', 'port'],
  users: ['usersPath', 'RINGLET_USERS', 'string'],
  keys: ['keysPath', 'RINGLET_KEYS', 'string'],
  'tls-cert': ['tlsCertPath', 'RINGLET_TLS_CERT', 'string'],
  'tls-key': ['tlsKeyPath', 'RINGLET_TLS_KEY', 'string'],
  'behind-tls': ['behindTls', 'RINGLET_BEHIND_TLS', 'boolean'],
  'allowed-host': ['allowedHosts', 'RINGLET_ALLOWED_HOSTS', 'list'],
  'trusted-proxy': ['trustedProxies', 'RINGLET_TRUSTED_PROXIES', 'list'],
  'cors-origin': ['corsOrigins', 'RINGLET_CORS_ORIGINS', 'list'],
  upstream: ['upstream', 'RINGLET_UPSTREAM', 'url'],
  snapshot: ['snapshotPath', 'RINGLET_SNAPSHOT', 'string'],
  revocations: ['revocationsPath', 'RINGLET_REVOCATIONS', 'path-or-none'],
  'refuse-earlier-boots': ['refuseEarlierBoots', 'RINGLET_REFUSE_EARLIER_BOOTS', 'boolean'],
  'log-level': ['logLevel', 'RINGLET_LOG_LEVEL', 'string'],
  'device-name': ['deviceName', 'RINGLET_DEVICE_NAME', 'string'],
  'time-zone': ['timeZone', 'RINGLET_TIME_ZONE', 'string'],
  'user-header': ['identityUser', 'RINGLET_USER_HEADER', 'string'],
  'groups-header': ['identityGroups', 'RINGLET_GROUPS_HEADER', 'string'],
  'shared-state': ['sharedState', 'RINGLET_SHARED_STATE', 'engine'],
  'shared-state-prefix': ['sharedStatePrefix', 'RINGLET_SHARED_STATE_PREFIX', 'prefix'],
  'shared-state-fail-closed': ['sharedStateFailClosed', 'RINGLET_SHARED_STATE_FAIL_CLOSED', 'boolean'],
} as const;

type FlagName = keyof typeof SERVER_FLAGS;

export function serveArgsSpec(): OptionSpec {
  const spec: OptionSpec = {
    profile: { type: 'string' },
    mode: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const [flag, [, , kind]] of Object.entries(SERVER_FLAGS)) {
    spec[flag] = kind === 'boolean' ? { type: 'boolean' } : kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' };
  }
  for (const field of Object.keys(INTEGER_FIELDS)) spec[kebabCase(field)] = { type: 'string' };
  for (const field of Object.keys(BOOLEAN_FIELDS)) spec[kebabCase(field)] = { type: 'boolean' };
  return spec;
}

export interface ServeConfig {
  profile: DeviceProfile;
  options: ServerOptions;
  help: boolean;
  /** Things the operator should hear about before start (one line each, no secrets). */
  warnings: string[];
  /**
   * A ConfigError about a server option, renamed after the flag or variable that set it
   * (`--snapshot: ...`, `RINGLET_SNAPSHOT: ...`), for errors raised later, at start.
   * Anything else is returned as it is.
   */
  nameError(err: unknown): unknown;
}

/** ServerOptions fields whose names differ from the option that sets them. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  'identityHeaders.user': 'identityUser',
  'identityHeaders.groups': 'identityGroups',
};

/**
 * Errors name options the way the operator gave them: `--port: ...` for a flag,
 * `RINGLET_PORT: ...` for a variable; a list item adds the value (`(got "proxy.lan")`).
 * `sources` maps a ServerOptions field to the flag or variable it came from.
 */
function renameOptionError(err: unknown, sources: ReadonlyMap<string, string>, values: Readonly<Record<string, unknown>>): unknown {
  if (!(err instanceof ConfigError)) return err;
  const match = /^([A-Za-z.]+)(?:\[(\d+)\])?$/.exec(err.field);
  if (match === null) return err;
  const field = FIELD_ALIASES[match[1] as string] ?? (match[1] as string);
  // TLS needs both files: whichever was given names the pair.
  const source = sources.get(field) ?? (field === 'tlsCertPath' ? sources.get('tlsKeyPath') : undefined);
  if (source === undefined) return err;
  const message = err.message.slice(err.field.length + 2);
  const item = match[2] === undefined ? undefined : (values[field] as unknown[] | undefined)?.[Number(match[2])];
  return new ConfigError(source, item === undefined ? message : `${message} (got ${JSON.stringify(item)})`);
}

function parseFlagValue(source: string, kind: string, raw: unknown): unknown {
  if (kind === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (raw === '1' || raw === 'true') return true;
    if (raw === '0' || raw === 'false' || raw === '') return false;
    throw new ConfigError(source, 'must be true or false');
  }
  if (kind === 'list') {
    const items = Array.isArray(raw) ? raw : String(raw).split(',');
    return items.map((s) => String(s).trim()).filter(Boolean);
  }
  if (kind === 'port') return integerFromText(String(raw), source, 0, MAX_PORT);
  if (kind === 'engine') return parseEngineUrl(String(raw), source);
  if (kind === 'prefix') return parseKeyPrefix(String(raw), source);
  if (kind === 'path-or-none') {
    const text = String(raw);
    return text === 'none' ? null : text;
  }
  if (kind === 'url') {
    try {
      return new URL(String(raw));
    } catch {
      throw new ConfigError(source, 'must be an absolute URL such as http://127.0.0.1:8081');
    }
  }
  return String(raw);
}

/** Resolves profile + options from argv (after the `serve` word) and the environment. */
export function resolveServeConfig(argv: string[], env: NodeJS.ProcessEnv): ServeConfig {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: serveArgsSpec(), allowPositionals: false, strict: true });
  } catch (err) {
    throw new ConfigError('arguments', (err as Error).message);
  }
  const values = parsed.values as Record<string, unknown>;
  const sources = new Map<string, string>();
  const profileFlag = values['profile'] as string | undefined;
  const profileEnv = env['RINGLET_PROFILE'] === '' ? undefined : env['RINGLET_PROFILE'];
  if (profileFlag !== undefined) sources.set('profile', '--profile');
  else if (profileEnv !== undefined) sources.set('profile', 'RINGLET_PROFILE');
  let profile;
  try {
    profile = loadProfile(profileFlag ?? profileEnv ?? DEFAULT_PROFILE_NAME);
  } catch (err) {
    throw renameOptionError(err, sources, {});
  }
  profile = applyOverrides(profile, overridesFromEnv(env), envName);
  const flagOverrides = new Map<string, string>();
  if (typeof values['mode'] === 'string') flagOverrides.set('mode', values['mode']);
  for (const field of Object.keys(INTEGER_FIELDS)) {
    const v = values[kebabCase(field)];
    if (typeof v === 'string') flagOverrides.set(field, v);
  }
  for (const field of Object.keys(BOOLEAN_FIELDS)) {
    if (values[kebabCase(field)] === true) flagOverrides.set(field, 'true');
  }
  profile = applyOverrides(profile, flagOverrides, (f) => `--${kebabCase(f)}`);

  const collected: Record<string, unknown> = {};
  for (const [flag, [field, variable, kind]] of Object.entries(SERVER_FLAGS) as Array<[FlagName, (typeof SERVER_FLAGS)[FlagName]]>) {
    const fromFlag = values[flag];
    const fromEnv = env[variable];
    if (fromFlag !== undefined) {
      sources.set(field, `--${flag}`);
      collected[field] = parseFlagValue(`--${flag}`, kind, fromFlag);
    } else if (fromEnv !== undefined && fromEnv !== '') {
      sources.set(field, variable);
      collected[field] = parseFlagValue(variable, kind, fromEnv);
    }
  }
  const { identityUser, identityGroups, ...rest } = collected;
  const partial: Partial<ServerOptions> = { ...(rest as Partial<ServerOptions>) };
  if (identityUser !== undefined || identityGroups !== undefined) {
    partial.identityHeaders = {
      user: (identityUser as string | undefined) ?? 'Remote-User',
      groups: (identityGroups as string | undefined) ?? 'Remote-Groups',
    };
  }
  const nameError = (err: unknown): unknown => renameOptionError(err, sources, collected);
  let options;
  try {
    options = validateServerOptions(partial);
  } catch (err) {
    throw nameError(err);
  }
  const warnings: string[] = [];
  if (values['shared-state'] !== undefined && options.sharedState?.hasPassword === true) {
    // /proc/PID/cmdline is world-readable; /proc/PID/environ is not.
    warnings.push('ringlet: the engine password in --shared-state is visible to every local user (ps); set RINGLET_SHARED_STATE instead');
  }
  return { profile, options, help: values['help'] === true, warnings, nameError };
}
