/**
 * `ringlet users list|add|remove|set-role|passwd`, and `ringlet passwd USER` (the same as
 * `users passwd`). Every change is one locked read-modify-write of the users file
 * (`updateUsersFile`), so it is safe while the server runs, and the server picks it up by
 * itself. Passwords are hashed before the lock is taken. Exit codes: 0 done, 1 the file
 * could not be changed (locked too long, unwritable), 2 bad input (one line on stderr).
 */
import { parseArgs } from 'node:util';
import { ConfigError, RingletError } from '../errors.js';
import { loadProfile } from '../config/profile.js';
import {
  addUser,
  checkNewPassword,
  describeScryptCost,
  hashPassword,
  isRole,
  isValidUserName,
  isWeakerCost,
  loadUsersFile,
  parseScryptHash,
  removeUser,
  ROLES,
  setUserPassword,
  setUserRole,
  updateUsersFile,
  type Role,
  type ScryptCost,
  type UsersDb,
} from '../users/index.js';
import { readNewPassword } from './read-password.js';

const COMMON_OPTIONS = `  --users PATH          users file (default ./ringlet-users.json, RINGLET_USERS)
  --profile NAME|PATH   device profile whose scrypt cost new hashes get (default
                        embedded-default, RINGLET_PROFILE)`;

const SAFE_NOTE = `Safe while the server runs: the change takes the users file's lock, re-reads the file,
applies this one change and writes the file atomically (mode 0600); the running server
picks it up by itself (it watches the file; SIGHUP reloads too).`;

const HELP: Readonly<Record<string, string>> = {
  users: `Usage: ringlet users COMMAND [options]

  list                          name, role, must-change flag and hash cost of every user
  add NAME [--role R]           add a user; the password is read from standard input
  passwd NAME [--role R]        set a user's password (adds the user when missing)
  set-role NAME admin|viewer    give a user another role
  remove NAME                   remove a user

Run "ringlet users COMMAND --help" for the options of a command.
${SAFE_NOTE}
Removing or demoting a user ends their sessions and tokens at their next request.
`,
  list: `Usage: ringlet users list [--json] [--users PATH] [--profile NAME|PATH]

Shows every user: name, role, whether they must change their password at the next
sign-in, and their hash's scrypt cost compared with the profile's (a weaker hash is
upgraded at the user's next successful sign-in). Hashes are never shown.

${COMMON_OPTIONS}
  --json                one JSON document instead of a table
`,
  add: `Usage: ringlet users add NAME [--role admin|viewer] [--must-change] [--users PATH] [--profile NAME|PATH]

Adds NAME (role viewer unless --role). The password is read from standard input: twice
without echo on a terminal, else the first line. --must-change makes the user choose a
new password at the first sign-in. Refuses a name that exists in any letter case.

${COMMON_OPTIONS}

${SAFE_NOTE}
`,
  passwd: `Usage: ringlet passwd USER [--role admin|viewer] [--must-change] [--users PATH] [--profile NAME|PATH]
       ringlet users passwd USER [same options]

Reads the new password from standard input (twice, without echo, on a terminal; the first
line of piped input otherwise) and writes USER to the users file, mode 0600, adding the
user when missing. A new user gets --role (default viewer); an existing user keeps their
role unless --role is given. --must-change makes the user choose a new password at the
next sign-in (for a password you set for someone else).

${COMMON_OPTIONS}

${SAFE_NOTE}
`,
  'set-role': `Usage: ringlet users set-role NAME admin|viewer [--users PATH]

Gives NAME another role. Refuses to demote the last admin. A demoted user's sessions and
tokens stop working at their next request (they carry the old role).

  --users PATH          users file (default ./ringlet-users.json, RINGLET_USERS)

${SAFE_NOTE}
`,
  remove: `Usage: ringlet users remove NAME [--users PATH]

Removes NAME. Refuses the last admin. The user's sessions and tokens stop working at
their next request.

  --users PATH          users file (default ./ringlet-users.json, RINGLET_USERS)

${SAFE_NOTE}
`,
};

/** A refusal of the input: one line, exit 2. */
class UsageError extends Error {}

interface Common {
  command: string;
  label: string;
  path: string;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

const PATH_OPTIONS: OptionSpec = { users: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
const COST_OPTIONS: OptionSpec = { ...PATH_OPTIONS, profile: { type: 'string' } };
const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  list: { ...COST_OPTIONS, json: { type: 'boolean' } },
  add: { ...COST_OPTIONS, role: { type: 'string' }, 'must-change': { type: 'boolean' } },
  passwd: { ...COST_OPTIONS, role: { type: 'string' }, 'must-change': { type: 'boolean' } },
  'set-role': PATH_OPTIONS,
  remove: PATH_OPTIONS,
};
const POSITIONALS: Readonly<Record<string, string>> = { list: '', add: 'NAME', passwd: 'USER', 'set-role': 'NAME ROLE', remove: 'NAME' };

function parse(command: string, label: string, argv: string[]): Common | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS[command] as OptionSpec, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' own message names the option ("Unknown option '--rol'...").
    throw new UsageError(`${(err as Error).message.split(/\.( |$)/)[0]} (see --help)`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values['help'] === true) return 'help';
  const wanted = (POSITIONALS[command] as string).split(' ').filter(Boolean);
  if (parsed.positionals.length !== wanted.length) {
    throw new UsageError(wanted.length === 0 ? 'takes no arguments (see --help)' : `expected ${wanted.join(' ')} (see --help)`);
  }
  const name = parsed.positionals[0];
  if (name !== undefined && !isValidUserName(name)) throw new UsageError('a user name is 1 to 64 characters of A-Z a-z 0-9 . _ @ -');
  const role = command === 'set-role' ? parsed.positionals[1] : values['role'];
  if (role !== undefined && !isRole(role)) throw new UsageError(`the role must be one of ${ROLES.join(', ')}`);
  const path = (values['users'] as string | undefined) ?? process.env['RINGLET_USERS'] ?? 'ringlet-users.json';
  return { command, label, path, values, positionals: parsed.positionals };
}

function profileCost(values: Common['values']): ScryptCost {
  const profile = loadProfile((values['profile'] as string | undefined) ?? process.env['RINGLET_PROFILE']);
  return { logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP };
}

function list(c: Common): void {
  const db: UsersDb = loadUsersFile(c.path);
  const target = profileCost(c.values);
  const rows = db.records().map((r) => {
    const cost = parseScryptHash(r.hash).cost;
    const same = cost.logN === target.logN && cost.r === target.r && cost.p === target.p;
    const vsProfile = same ? 'profile' : isWeakerCost(cost, target) ? 'weaker (upgraded at next sign-in)' : 'kept (not weaker)';
    return { name: r.name, role: r.role, mustChangePassword: r.mustChangePassword, cost, vsProfile };
  });
  if (c.values['json'] === true) {
    process.stdout.write(`${JSON.stringify({ path: c.path, profileCost: target, users: rows }, null, 2)}\n`);
    return;
  }
  const table = [['name', 'role', 'must-change', 'hash cost', 'vs profile'], ...rows.map((r) => [r.name, r.role, r.mustChangePassword ? 'yes' : 'no', describeScryptCost(r.cost), r.vsProfile])];
  const widths = (table[0] as string[]).map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
  for (const row of table) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd()}\n`);
  process.stdout.write(`${db.size} user${db.size === 1 ? '' : 's'} in ${c.path}; profile cost ${describeScryptCost(target)}\n`);
}

async function newHash(c: Common, user: string): Promise<string> {
  const cost = profileCost(c.values); // a bad profile is refused before the password is asked for
  const password = await readNewPassword(user);
  if (password === undefined) throw new UsageError('the passwords do not match');
  const weakness = checkNewPassword(password, { username: user });
  if (weakness !== undefined) throw new UsageError(`the password ${weakness}`);
  return hashPassword(password, cost);
}

async function change(c: Common): Promise<string> {
  const name = c.positionals[0] as string;
  const role = (c.command === 'set-role' ? c.positionals[1] : c.values['role']) as Role | undefined;
  const mustChangePassword = c.values['must-change'] === true;
  switch (c.command) {
    case 'add': {
      const hash = await newHash(c, name);
      await updateUsersFile(c.path, (db) => addUser(db, { name, role: role ?? 'viewer', hash, mustChangePassword }), { create: true });
      return `added ${name} (${role ?? 'viewer'}) to ${c.path}`;
    }
    case 'passwd': {
      const hash = await newHash(c, name);
      let existed = false;
      await updateUsersFile(c.path, (db) => {
        existed = db.has(name);
        return setUserPassword(db, name, hash, { role: role ?? db.get(name)?.role ?? 'viewer', mustChangePassword });
      }, { create: true });
      return `${existed ? 'updated' : 'added'} ${name} in ${c.path}`;
    }
    case 'set-role': {
      const result = await updateUsersFile(c.path, (db) => setUserRole(db, name, role as Role));
      return result.written ? `${name} is now ${role} in ${c.path}` : `${name} already is ${role}; ${c.path} unchanged`;
    }
    default: {
      await updateUsersFile(c.path, (db) => removeUser(db, name));
      return `removed ${name} from ${c.path}`;
    }
  }
}

/**
 * Runs one users command. `label` is how messages name it (`ringlet users add`, or
 * `ringlet passwd` for the old spelling).
 */
export async function runUsersCommand(command: string, argv: string[], label = `ringlet users ${command}`): Promise<number> {
  try {
    const c = parse(command, label, argv);
    if (c === 'help') {
      process.stdout.write(HELP[command] as string);
      return 0;
    }
    if (command === 'list') list(c);
    else process.stdout.write(`${label}: ${await change(c)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${label}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      // A refused change names its field (name, role): the message says it all.
      const message = err.field === 'name' || err.field === 'role' ? err.message.slice(err.field.length + 2) : err.message;
      process.stderr.write(`${label}: ${message}\n`);
      return 2;
    }
    if (err instanceof RingletError) {
      process.stderr.write(`${label}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `ringlet users ...` */
export async function runUsers(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP['users'] as string);
    return command === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(OPTIONS, command)) {
    process.stderr.write(`ringlet users: unknown command "${command}" (list, add, passwd, set-role, remove; see --help)\n`);
    return 2;
  }
  return runUsersCommand(command, rest);
}
