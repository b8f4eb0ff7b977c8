/**
 * `ringlet passwd USER [--role R]`: set a password, read from stdin (no echo on a TTY; the
 * first line of piped input otherwise). The users file is written atomically, mode 0600.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadProfile } from '../config/profile.js';
import { checkNewPassword, emptyUsersDb, hashPassword, loadUsersFile, saveUsersFile, setUserPassword, ROLES, type Role } from '../users/index.js';

const HELP = `Usage: ringlet passwd USER [--role admin|viewer] [--users PATH] [--profile NAME|PATH]

Reads the new password from standard input (twice, without echo, on a terminal) and
writes USER to the users file (default ./ringlet-users.json, RINGLET_USERS), mode 0600.
The profile (default embedded-default) sets the scrypt cost. A new user gets --role
(default viewer); an existing user keeps their role unless --role is given.
`;

/** Reads one line without echo from a TTY. */
function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let line = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(line);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new Error('interrupted'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 4096) break;
  }
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '');
}

export async function runPasswd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { role: { type: 'string' }, users: { type: 'string' }, profile: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const user = positionals[0] as string;
  if (values.role !== undefined && !(ROLES as readonly string[]).includes(values.role)) {
    process.stderr.write(`ringlet passwd: --role must be one of ${ROLES.join(', ')}\n`);
    return 2;
  }
  const path = values.users ?? process.env['RINGLET_USERS'] ?? 'ringlet-users.json';
  const profile = loadProfile(values.profile ?? process.env['RINGLET_PROFILE']);
  const db = existsSync(path) ? loadUsersFile(path) : emptyUsersDb();
  let password: string;
  if (process.stdin.isTTY) {
    password = await readHidden(`New password for ${user}: `);
    const again = await readHidden('Repeat it: ');
    if (again !== password) {
      process.stderr.write('ringlet passwd: the passwords do not match\n');
      return 1;
    }
  } else {
    password = await readPiped();
  }
  const weakness = checkNewPassword(password, { username: user });
  if (weakness !== undefined) {
    process.stderr.write(`ringlet passwd: ${weakness}\n`);
    return 1;
  }
  const hash = await hashPassword(password, { logN: profile.scryptLogN, r: profile.scryptR, p: profile.scryptP });
  const role = values.role as Role | undefined;
  saveUsersFile(path, setUserPassword(db, user, hash, { role: role ?? db.get(user)?.role ?? 'viewer', mustChangePassword: false }));
  process.stdout.write(`ringlet passwd: ${db.get(user) ? 'updated' : 'added'} ${user} in ${path}\n`);
  return 0;
}
