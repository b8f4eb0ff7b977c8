/**
 * Structured logging: one JSON object per line. Field names that look like secrets are
 * redacted as a second line of defence (the first: never pass a secret to a logger).
 * Logging never throws, whatever the fields hold.
 */
import type { WallClock } from '../util/clock.js';
import { systemWallClock } from '../util/clock.js';
import { ConfigError } from '../errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Log one event with optional fields. Never throws. */
export type LogFunction = (event: string, fields?: Record<string, unknown>) => void;

export interface Logger {
  debug: LogFunction;
  info: LogFunction;
  warn: LogFunction;
  error: LogFunction;
}

export interface LoggerOptions {
  /** Lowest level written. */
  level: LogLevel;
  /** Where a line goes (without a trailing newline); default: stderr. */
  write?: (line: string) => void;
  clock?: WallClock;
}

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never logged, at any depth. */
export const REDACTED_KEY_REGEXP = /pass|cookie|token|secret|authorization|csrf|^id$|session_?id/i;

/** Strings longer than this are cut: a field can hold request data of any length. */
const MAX_STRING_CHARS = 1024;
/** Nested objects deeper than this are summarized. */
const MAX_DEPTH = 4;
/** Keys per object and items per array written at most. */
const MAX_ENTRIES = 50;
const RESERVED = new Set(['time', 'level', 'event']);

function clean(value: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_STRING_CHARS ? `${value.slice(0, MAX_STRING_CHARS)}…[truncated]` : value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested]';
  seen.add(obj);
  try {
    if (obj instanceof Error) {
      const code = (obj as { code?: unknown }).code;
      return { name: obj.name, message: clean(obj.message, depth + 1, seen), ...(typeof code === 'string' ? { code } : {}) };
    }
    if (obj instanceof Date) return Number.isFinite(obj.getTime()) ? obj.toISOString() : 'Invalid Date';
    if (Array.isArray(obj)) return obj.slice(0, MAX_ENTRIES).map((item) => clean(item, depth + 1, seen) ?? null);
    if (ArrayBuffer.isView(obj)) return `[${obj.constructor.name} ${obj.byteLength} bytes]`;
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const key of Object.keys(obj)) {
      if (++n > MAX_ENTRIES) break;
      out[key] = REDACTED_KEY_REGEXP.test(key) ? '[redacted]' : clean((obj as Record<string, unknown>)[key], depth + 1, seen);
    }
    return out;
  } catch {
    // A throwing getter or proxy trap.
    return '[unserializable]';
  } finally {
    seen.delete(obj);
  }
}

function isoTime(clock: WallClock): string {
  try {
    return new Date(clock.now()).toISOString();
  } catch {
    return 'invalid-time';
  }
}

/** The JSON line for one event: `{"time","level","event",...fields}` with secrets redacted. */
export function formatLogLine(time: string, level: LogLevel, event: string, fields: Record<string, unknown> | undefined): string {
  const record: Record<string, unknown> = { time, level, event: String(event) };
  if (fields !== undefined && fields !== null && typeof fields === 'object') {
    const seen = new Set<object>([fields]);
    let n = 0;
    try {
      for (const key of Object.keys(fields)) {
        if (++n > MAX_ENTRIES) break;
        // Fields cannot overwrite the envelope.
        const name = RESERVED.has(key) ? `field_${key}` : key;
        record[name] = REDACTED_KEY_REGEXP.test(key) ? '[redacted]' : clean(fields[key], 1, seen);
      }
    } catch {
      record['fields'] = '[unserializable]';
    }
  }
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify({ time, level, event: String(event), fields: '[unserializable]' });
  }
}

function defaultWrite(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * A logger writing JSON lines at `level` and above.
 *
 * @example
 * const log = createLogger({ level: 'info' });
 * log.warn('login', { result: 'failure', user: 'ann', client: '192.168.1.20' });
 * // {"time":"2024-05-01T10:00:00.000Z","level":"warn","event":"login","result":"failure",...}
 */
export function createLogger(options: LoggerOptions): Logger {
  if (typeof options.level !== 'string' || !Object.hasOwn(LEVEL_RANK, options.level)) {
    throw new ConfigError('level', 'must be one of debug, info, warn, error');
  }
  const min = LEVEL_RANK[options.level];
  const write = options.write ?? defaultWrite;
  const clock = options.clock ?? systemWallClock;
  const make = (level: LogLevel): LogFunction => {
    if (LEVEL_RANK[level] < min) return () => {};
    return (event, fields) => {
      try {
        write(formatLogLine(isoTime(clock), level, event, fields));
      } catch {
        // Logging must never take a request down (a closed stderr, a throwing sink).
      }
    };
  };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}
