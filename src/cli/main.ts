#!/usr/bin/env node
/**
 * `ringlet` command line: serve, keygen, users, passwd, token, profile check. Each command validates its
 * arguments with node:util parseArgs and has its own --help. Exit codes: 0 ok, 1 runtime
 * failure, 2 usage or configuration error.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, RingletError } from '../errors.js';
import { runKeygen } from './keygen.js';
import { runPasswd } from './passwd.js';
import { runProfileCheck } from './profile-check.js';
import { runServe } from './serve.js';
import { runToken } from './token.js';
import { runUsers } from './users.js';

const USAGE = `ringlet — a tiny, memory-bounded session server

Usage:
  ringlet serve [options]            run the server (default: embedded-default profile, 127.0.0.1:8080)
  ringlet keygen [--keys PATH]       create or rotate a JWKS key file (mode 0600)
  ringlet users list|add|passwd|set-role|remove   manage the users file (safe while serving)
  ringlet passwd USER [--role R]     set a user's password, read from stdin (= users passwd)
  ringlet token mint USER --scope S --ttl 90d --keys PATH   a long-lived scoped token for a machine
  ringlet profile check NAME|PATH    validate a device profile: memory footprint, scrypt cost
  ringlet --version | --help

Run "ringlet COMMAND --help" for the options of a command.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Each command: its arguments after the command word → the exit code. */
const COMMANDS: Readonly<Record<string, (argv: string[]) => number | Promise<number>>> = {
  serve: runServe,
  keygen: runKeygen,
  passwd: runPasswd,
  users: runUsers,
  token: runToken,
  profile: runProfileCheck,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const run = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (run !== undefined) return run(rest);
  switch (command) {
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`ringlet: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    if (typeof (err as { code?: unknown } | null)?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS_')) {
      // node:util parseArgs: an unknown option or a missing value is a usage error.
      process.stderr.write(`ringlet: ${(err as Error).message}\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`ringlet: configuration error: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof RingletError) {
      process.stderr.write(`ringlet: ${err.message} (${err.code})\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`ringlet: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
