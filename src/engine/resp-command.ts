/**
 * Commands on the wire: a RESP array of bulk strings (`*N\r\n$len\r\narg\r\n...`), the one
 * form every Redis and Valkey version reads, binary-safe whatever the arguments hold.
 */
import { ConfigError, RingletError } from '../errors.js';

/** Largest encoded command: ringlet writes ids, counters and small JSON records. */
export const MAX_COMMAND_BYTES = 64 * 1024;
/** Most arguments in one command (SUBSCRIBE with every channel is the longest ringlet sends). */
export const MAX_COMMAND_ARGS = 1024;

/** An argument: strings are sent as UTF-8, numbers in decimal, bytes as they are. */
export type RespArg = string | number | Uint8Array;

/**
 * Encodes one command. Throws ConfigError for an argument that is not a string, a finite
 * number or bytes (programmer misuse), RingletError `ERR_COMMAND_TOO_LARGE` beyond `maxBytes`.
 *
 * @example
 * encodeCommand(['SET', 'ringlet:x', '1', 'PX', 60000]);
 * // → *5\r\n$3\r\nSET\r\n$9\r\nringlet:x\r\n$1\r\n1\r\n$2\r\nPX\r\n$5\r\n60000\r\n
 */
export function encodeCommand(args: readonly RespArg[], maxBytes = MAX_COMMAND_BYTES): Buffer {
  if (!Array.isArray(args) || args.length === 0) throw new ConfigError('args', 'a command needs at least its name');
  if (args.length > MAX_COMMAND_ARGS) throw new ConfigError('args', `at most ${MAX_COMMAND_ARGS} arguments`);
  const parts: Array<string | Uint8Array> = new Array(args.length);
  let total = 1 + decimalLength(args.length) + 2;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let part: string | Uint8Array;
    let bytes: number;
    if (typeof arg === 'string') {
      part = arg;
      bytes = Buffer.byteLength(arg);
    } else if (typeof arg === 'number') {
      if (!Number.isFinite(arg)) throw new ConfigError(`args[${i}]`, 'must be a finite number');
      part = String(arg);
      bytes = part.length;
    } else if (arg instanceof Uint8Array) {
      part = arg;
      bytes = arg.length;
    } else {
      throw new ConfigError(`args[${i}]`, 'must be a string, a number or a Uint8Array');
    }
    parts[i] = part;
    total += 1 + decimalLength(bytes) + 2 + bytes + 2;
    if (total > maxBytes) break;
  }
  if (total > maxBytes) throw new RingletError('ERR_COMMAND_TOO_LARGE', `command larger than ${maxBytes} bytes`);
  const out = Buffer.allocUnsafe(total);
  let at = out.write(`*${args.length}\r\n`, 0, 'latin1');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    at += out.write(`$${bytes}\r\n`, at, 'latin1');
    at += typeof part === 'string' ? out.write(part, at, 'utf8') : (out.set(part, at), part.length);
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  return out;
}

function decimalLength(n: number): number {
  return n < 10 ? 1 : String(n).length;
}
