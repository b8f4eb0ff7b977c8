/**
 * `ringlet token mint USER --scope S --ttl 30d --keys PATH`: a long-lived, narrowly scoped
 * bearer token for a machine (Prometheus' `bearer_token_file`), signed with the keys file
 * the server uses; see session/machine-token.ts for what makes it safe to hand out.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, RingletError } from '../errors.js';
import { loadKeyRing } from '../codec/index.js';
import { DEFAULT_ROLE_PERMISSIONS } from '../access/permissions.js';
import { loadUsersFile } from '../users/index.js';
import { machineScopeProblem, MAX_MACHINE_TOKEN_TTL_MS, MIN_MACHINE_TOKEN_TTL_MS, mintMachineToken } from '../session/machine-token.js';
import { systemWallClock } from '../util/clock.js';
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from '../util/durations.js';
import { writeSecretFileAtomic } from '../util/secret-file.js';

const HELP = `Usage: ringlet token mint USER --scope PERMISSIONS --ttl DURATION [--keys PATH] [--users PATH] [--out FILE]

Mints a long-lived bearer token for USER (e.g. a "monitor" user for Prometheus), signed
with the keys file the server uses, narrowed to --scope and valid for --ttl.

  --scope PERMISSIONS   required: space- or comma-separated, repeatable, e.g. metrics:read.
                        A subset of what USER's role grants; never password:change or
                        tokens:mint (a token must not be able to widen itself).
  --ttl DURATION        required: a number and a unit, s m h d (e.g. 90d, 12h), from
                        ${MIN_MACHINE_TOKEN_TTL_MS / SECOND_MS}s to ${MAX_MACHINE_TOKEN_TTL_MS / DAY_MS}d.
  --keys PATH           the server's JWKS file (default RINGLET_KEYS); never created here.
  --users PATH          users file (default ./ringlet-users.json, RINGLET_USERS): USER must exist.
  --out FILE            write the token to FILE (mode 0600) instead of standard output.

The token is printed alone on standard output (for "> file"); what it is, its jti and its
expiry go to standard error. The server checks it like any bearer token, timed on its
wall clock (which must be set: a device whose clock reads before the build date refuses
it until NTP sets the time). It stops working when it expires, when it is revoked by jti
(POST /tokens/revoke {"jti", "user"}: the revocation lasts until the token's expiry),
when USER is removed, re-roled or has all sessions ended, or when its key is rotated out.
`;

class UsageError extends Error {}

const UNIT_MS: Readonly<Record<string, number>> = { s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };

/** `90d` → ms; throws UsageError naming the rule. */
export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(text);
  if (m === null) throw new UsageError('--ttl must be a number and a unit s, m, h or d (e.g. 90d)');
  const ms = Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  if (ms < MIN_MACHINE_TOKEN_TTL_MS || ms > MAX_MACHINE_TOKEN_TTL_MS) {
    throw new UsageError(`--ttl must be from ${MIN_MACHINE_TOKEN_TTL_MS / SECOND_MS}s to ${MAX_MACHINE_TOKEN_TTL_MS / DAY_MS}d`);
  }
  return ms;
}

function readKeys(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the keys file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function mint(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        scope: { type: 'string', multiple: true }, ttl: { type: 'string' }, keys: { type: 'string' },
        users: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split(/\.( |$)/)[0]} (see --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected one USER (see --help)');
  const user = positionals[0] as string;
  if (values.scope === undefined) throw new UsageError('--scope is required: a machine token carries only what it needs (e.g. --scope metrics:read)');
  if (values.ttl === undefined) throw new UsageError('--ttl is required (e.g. --ttl 90d)');
  const ttlMs = parseDuration(values.ttl);
  const keysPath = values.keys ?? process.env['RINGLET_KEYS'];
  if (keysPath === undefined) throw new UsageError('--keys is required: the keys file the server verifies tokens with');
  const usersPath = values.users ?? process.env['RINGLET_USERS'] ?? 'ringlet-users.json';
  const scope = values.scope.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);

  const record = loadUsersFile(usersPath).get(user);
  if (record === undefined) throw new UsageError(`no user "${user}" in ${usersPath}`);
  if (record.mustChangePassword) throw new UsageError(`${user} must change the generated password first`);
  const problem = machineScopeProblem(scope);
  if (problem !== undefined) throw new UsageError(problem);
  // The server's roles grant the default permissions (ServerOptions.permissions).
  const granted: readonly string[] = DEFAULT_ROLE_PERMISSIONS[record.role];
  const beyond = scope.find((s) => !granted.includes(s));
  if (beyond !== undefined) throw new UsageError(`${user} is ${record.role}, which does not grant "${beyond}"`);
  const keys = loadKeyRing(readKeys(keysPath), { source: keysPath });
  let minted;
  try {
    minted = mintMachineToken({ keys, user, role: record.role, scope, ttlMs, wall: systemWallClock });
  } catch (err) {
    if (err instanceof ConfigError && err.field === 'clock') {
      process.stderr.write(`ringlet token mint: ${err.message.slice('clock: '.length)}\n`);
      return 1;
    }
    if (err instanceof ConfigError) throw new UsageError(err.message.slice(err.field.length + 2));
    throw err;
  }
  if (values.out !== undefined) writeSecretFileAtomic(values.out, `${minted.token}\n`);
  else process.stdout.write(`${minted.token}\n`);
  const days = Math.round((minted.expiresAtMs - minted.issuedAtMs) / DAY_MS * 10) / 10;
  process.stderr.write(
    `ringlet token mint: ${values.out !== undefined ? `wrote ${values.out} (mode 0600): ` : ''}token for ${user} (${record.role}), scope ${minted.scope.join(' ')}, ` +
    `jti ${minted.jti}, expires ${new Date(minted.expiresAtMs).toISOString()} (${days} days)\n`,
  );
  return 0;
}

/** `ringlet token ...` */
export function runToken(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (command !== 'mint') throw new UsageError(command === undefined ? 'expected a command: mint (see --help)' : `unknown command "${command}" (mint; see --help)`);
    return mint(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ringlet token${command === 'mint' ? ' mint' : ''}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`ringlet token mint: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RingletError) {
      process.stderr.write(`ringlet token mint: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
