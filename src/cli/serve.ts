/** `ringlet serve`: resolve configuration, refuse to start over budget, run until a signal. */
import { INTEGER_FIELDS, kebabCase, envName } from '../config/profile-schema.js';
import { computeFootprint, formatFootprint } from '../config/footprint.js';
import type { DeviceProfile } from '../config/profile-schema.js';
import { startServer } from '../server/start.js';
import { resolveServeConfig } from './serve-config.js';

const HELP = `Usage: ringlet serve [options]

  --profile NAME|PATH     device profile (default embedded-default; RINGLET_PROFILE)
  --host ADDR             listen address (default 127.0.0.1; RINGLET_HOST)
  --port N                listen port (default 8080; RINGLET_PORT)
  --users PATH            users file (default ./ringlet-users.json; created at first start)
  --keys PATH             JWKS key file (created if missing; without it keys live in memory)
  --mode ram|cookie       session mode (overrides the profile)
  --tls-cert PATH --tls-key PATH   serve HTTPS (cookies become Secure with the __Host- prefix)
  --behind-tls            a TLS-terminating proxy is in front (Secure, __Host- cookies)
  --allowed-host HOST     a name served besides IP literals and localhost (repeatable)
  --trusted-proxy IP      peer whose X-Forwarded-* headers are believed (repeatable)
  --cors-origin ORIGIN    origin allowed for CORS with credentials (repeatable)
  --upstream URL          reverse-proxy every other path to this admin UI for signed-in users
  --snapshot PATH         RAM-mode snapshot file on tmpfs (written on SIGTERM/SIGHUP)
  --revocations PATH|none where logouts and revocations are kept across restarts
                          (default: next to --keys, keys.json -> keys.revocations.json)
  --refuse-earlier-boots  accept only credentials minted since this start (for a device
                          that cannot keep revocations: every restart signs everyone out)
  --user-header NAME --groups-header NAME   identity header names (Remote-User, Remote-Groups)
  --log-level LEVEL       debug, info, warn, error (default info)
  --shared-state URL      Redis/Valkey shared by several instances: redis://[user:password@]host[:port][/db]
                          or rediss:// (TLS); prefer RINGLET_SHARED_STATE (a flag shows in ps)
  --shared-state-prefix P prefix of every engine key and channel (default ringlet:)
  --shared-state-fail-closed  while the engine is unreachable, refuse credentials minted
                          by other instances (default: serve from local state)
  --device-name NAME      the device's name on every page (default: the host name)
  --time-zone ZONE        zone for dates on pages, e.g. Europe/Berlin (default UTC)

Every profile field is also a flag and an environment variable, e.g.
${Object.keys(INTEGER_FIELDS).slice(0, 3).map((f) => `  --${kebabCase(f)} N  (${envName(f)})`).join('\n')}
  ... (see README "Configuration reference")
`;

/**
 * The Node options node was started with: its command line and NODE_OPTIONS (Node reads
 * both; process.execArgv holds only the first). V8 accepts `_` for `-` in a flag's name,
 * so names are compared in the `-` spelling. NODE_OPTIONS may quote a value in "...".
 */
export function givenNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): Set<string> {
  const fromEnv = (nodeOptions ?? '').split(/\s+/).filter(Boolean).map((token) => token.replace(/^"(.*)"$/, '$1'));
  const normalised = new Set<string>();
  for (const flag of [...execArgv, ...fromEnv]) {
    if (!flag.startsWith('--')) continue;
    const eq = flag.indexOf('=');
    const name = (eq === -1 ? flag : flag.slice(0, eq)).replace(/_/g, '-');
    normalised.add(eq === -1 ? name : `${name}${flag.slice(eq)}`);
  }
  return normalised;
}

/**
 * The profile's Node flags and launch environment must be set by whoever starts node: both
 * are read before any JavaScript runs. Without glibc's fixed mmap threshold, each freed
 * 128·N·r scrypt block stays in the arena of the libuv thread that ran it (measured: 4
 * threads × 16 MiB stay resident). Setting UV_THREADPOOL_SIZE or the malloc variables from
 * here would be too late: ESM module loading has already started the pool.
 */
function warnAboutLaunchEnvironment(profile: DeviceProfile): void {
  const given = givenNodeFlags(process.execArgv, process.env['NODE_OPTIONS']);
  const missing = profile.nodeFlags.filter((flag) => !given.has(flag));
  if (missing.length > 0) {
    process.stderr.write(`ringlet: the profile's Node flags are not set (start node with ${missing.join(' ')}); memory may exceed the budget\n`);
  }
  for (const [name, value] of Object.entries(profile.launchEnv)) {
    if (process.env[name] !== value) {
      process.stderr.write(`ringlet: ${name}=${value} is not set (the profile's launch environment; without it memory may exceed the budget, see README "Memory")\n`);
    }
  }
}

export async function runServe(argv: string[]): Promise<number> {
  const config = resolveServeConfig(argv, process.env);
  if (config.help) {
    process.stdout.write(HELP);
    return 0;
  }
  for (const warning of config.warnings) process.stderr.write(`${warning}\n`);
  const footprint = computeFootprint(config.profile, { reverseProxy: config.options.upstream !== undefined, sharedState: config.options.sharedState !== undefined });
  process.stderr.write(`${formatFootprint(config.profile.name, footprint)}\n`);
  warnAboutLaunchEnvironment(config.profile);
  try {
    await startServer({
      profile: config.profile,
      options: config.options,
    });
  } catch (err) {
    throw config.nameError(err);
  }
  return -1; // keep running; signals end the process
}
