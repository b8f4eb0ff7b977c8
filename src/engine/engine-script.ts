/**
 * Lua scripts on the engine: the one way to read-check-write atomically on a client that
 * refuses WATCH (a reconnect between WATCH and EXEC would drop it silently). A script runs
 * alone on the engine, and `redis.call('TIME')` gives every instance the same clock.
 *
 * `EVALSHA` first (40 bytes instead of the script text), `EVAL` when the engine answers
 * `NOSCRIPT` (after a restart or `SCRIPT FLUSH` its script cache is empty): one extra round
 * trip once per engine restart. Scripts must be idempotent where the caller retries them:
 * a command that timed out may have run.
 */
import { createHash } from 'node:crypto';
import type { RespArg } from './resp-command.js';
import { EngineReplyError } from './resp-commands.js';
import type { RespValue } from './resp-parser.js';

/** What runs a script: a RespClient (structurally, so tests may pass a stand-in). */
export interface ScriptRunner {
  command(args: readonly RespArg[]): Promise<RespValue>;
}

export class EngineScript {
  readonly source: string;
  #sha1: string | undefined;

  /** Keeps the text only: scripts are module constants, and loading a module does no work. */
  constructor(source: string) {
    this.source = source;
  }

  /** The script's SHA-1, as the engine names it (computed at first use). */
  get sha1(): string {
    this.#sha1 ??= createHash('sha1').update(this.source).digest('hex');
    return this.#sha1;
  }

  /** Runs the script with `keys` (KEYS, what ACL key patterns check) and `args` (ARGV). */
  async run(client: ScriptRunner, keys: readonly string[], args: readonly RespArg[]): Promise<RespValue> {
    try {
      return await client.command(['EVALSHA', this.sha1, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof EngineReplyError) || err.replyCode !== 'NOSCRIPT') throw err;
      return client.command(['EVAL', this.source, keys.length, ...keys, ...args]);
    }
  }
}
