/**
 * An incremental, bounded parser for replies in RESP, the Redis serialization protocol:
 * RESP2 (simple string `+`, error `-`, integer `:`, bulk string `$`, array `*`) and, when
 * asked, RESP3 (null `_`, boolean `#`, double `,`, big number `(`, blob error `!`,
 * verbatim string `=`, map `%`, set `~`, attribute `|`, push `>`). Streamed strings and
 * aggregates (`$?`, `*?`) are not sent by Redis or Valkey and are refused.
 *
 * Bytes arrive in arbitrary chunks (a reply may be split anywhere, several may share a
 * chunk); `feed` consumes each chunk once, keeps only an unfinished line (at most
 * MAX_LINE_BYTES) and the reply under construction, and calls back once per complete
 * top-level reply. It never recurses (nesting lives in an explicit stack), and every
 * length is checked against a limit before anything is allocated for it: the engine is
 * a network peer, and a compromised or confused one must not be able to exhaust the
 * device's memory. Exceeding a limit, or any byte that breaks the grammar, is a protocol
 * error (RingletError `ERR_PROTOCOL`); the parser then refuses further input until
 * `reset()`, and the connection is dropped. Messages never quote reply bytes.
 */
import { RingletError } from '../errors.js';
import { integerOption } from '../util/options.js';

/** Largest bulk string accepted: ringlet stores ids, counters and small JSON records. */
export const MAX_BULK_BYTES = 512 * 1024;
/** Most elements in one array, set or push (entries in one map). */
export const MAX_AGGREGATE_LENGTH = 65_536;
/** Aggregates inside aggregates: ringlet's deepest reply is EXEC of SCAN-like pairs (3). */
export const MAX_NESTING_DEPTH = 8;
/** Longest line (simple string, error, number, length header), type byte and CRLF excluded. */
export const MAX_LINE_BYTES = 4 * 1024;
/** Bytes held for the reply under construction plus an unfinished line. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** What each parsed value is charged beyond its payload (a V8 string or array slot). */
export const VALUE_OVERHEAD_BYTES = 16;

const CR = 0x0d;
const LF = 0x0a;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** An error reply (`-ERR ...`, `!...`). Only its first word is kept: see `errorCodeOf`. */
export class RespErrorReply {
  /** The reply's first word, e.g. `ERR`, `WRONGTYPE`, `NOAUTH`, `WRONGPASS`, `NOPERM`. */
  readonly code: string;

  constructor(code: string) {
    this.code = code;
  }
}

/**
 * A parsed reply. Strings (simple, bulk, verbatim) are decoded as UTF-8: everything ringlet
 * stores is text. Integers are numbers when safe, bigints beyond 2^53; maps are `Map`s
 * (never plain objects: keys come from the network); null bulk strings and arrays, and
 * RESP3 null, are `null`.
 */
export type RespValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | RespErrorReply
  | RespValue[]
  | Map<RespValue, RespValue>;

export interface RespParserLimits {
  maxBulkBytes: number;
  maxAggregateLength: number;
  maxNestingDepth: number;
  maxLineBytes: number;
  maxBufferedBytes: number;
}

export const DEFAULT_PARSER_LIMITS: Readonly<RespParserLimits> = Object.freeze({
  maxBulkBytes: MAX_BULK_BYTES,
  maxAggregateLength: MAX_AGGREGATE_LENGTH,
  maxNestingDepth: MAX_NESTING_DEPTH,
  maxLineBytes: MAX_LINE_BYTES,
  maxBufferedBytes: MAX_BUFFERED_BYTES,
});

/** Largest configurable length or byte count: 2^31-1 keeps every length a small integer. */
const MAX_CONFIGURED_LENGTH = 2 ** 31 - 1;
/** Ranges of the configurable limits. */
const LIMIT_RANGES: Readonly<Record<keyof RespParserLimits, readonly [number, number]>> = {
  maxBulkBytes: [0, MAX_CONFIGURED_LENGTH],
  maxAggregateLength: [0, 2 ** 24],
  maxNestingDepth: [1, 64],
  maxLineBytes: [64, 1024 * 1024],
  maxBufferedBytes: [1024, MAX_CONFIGURED_LENGTH],
};

/** Validates limits once (ConfigError naming the field); missing fields take the defaults. */
export function resolveParserLimits(limits: Partial<RespParserLimits> | undefined, field = 'limits'): RespParserLimits {
  const out = { ...DEFAULT_PARSER_LIMITS, ...limits };
  for (const [name, [min, max]] of Object.entries(LIMIT_RANGES) as Array<[keyof RespParserLimits, readonly [number, number]]>) {
    integerOption(out[name], `${field}.${name}`, min, max);
  }
  return out;
}

type AggregateKind = 'array' | 'set' | 'map' | 'push' | 'attribute';

interface Frame {
  kind: AggregateKind;
  /** Values still expected (maps and attributes: twice the entry count). */
  remaining: number;
  items: RespValue[];
}

interface PendingBulk {
  kind: 'bulk' | 'blob-error' | 'verbatim';
  bytes: Buffer;
  /** Payload bytes received, then the two of the CRLF after it. */
  filled: number;
}

/** Called once per complete top-level reply; `push` is true for RESP3 out-of-band data. */
export type RespReplyHandler = (value: RespValue, push: boolean) => void;

function protocolError(message: string): RingletError {
  return new RingletError('ERR_PROTOCOL', `RESP protocol error: ${message}`);
}

function typeName(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * An error reply's first word, if it is an upper-case code; otherwise `ERR`. The rest is
 * dropped on purpose: servers echo arguments in error texts ("unknown command 'HELLO',
 * with args beginning with: '3' 'AUTH' 'user' 'password'"), and a message must never
 * carry a password or token into a log line.
 */
export function errorCodeOf(text: string): string {
  return /^[A-Z][A-Z0-9_]{0,31}(?= |$)/.exec(text)?.[0] ?? 'ERR';
}

const DOUBLE_REGEXP = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const BIG_NUMBER_REGEXP = /^-?[0-9]+$/;

export class RespParser {
  readonly limits: RespParserLimits;
  readonly resp3: boolean;
  readonly #onReply: RespReplyHandler;
  /** An unfinished line, copied out of its chunk (so the chunk can be freed). */
  #partial: Buffer | undefined;
  #bulk: PendingBulk | undefined;
  readonly #stack: Frame[] = [];
  /** Bytes charged to the reply under construction (payloads + per-value overhead). */
  #replyBytes = 0;
  #failure: RingletError | undefined;
  /** A top-level attribute was read: the reply it describes has not come yet. */
  #attributeRead = false;
  /** The first exception thrown by the callback during one `feed`, rethrown at its end. */
  #callbackError: { error: unknown } | undefined;

  /**
   * @param onReply called synchronously from `feed` for each complete reply
   * @param options `resp3`: accept RESP3 types (after HELLO 3); `limits`: see the constants
   *
   * @example
   * const parser = new RespParser((value) => replies.push(value));
   * parser.feed(Buffer.from('+OK\r\n:4'));
   * parser.feed(Buffer.from('2\r\n')); // replies: ['OK', 42]
   */
  constructor(onReply: RespReplyHandler, options: { resp3?: boolean; limits?: Partial<RespParserLimits> } = {}) {
    this.#onReply = onReply;
    this.resp3 = options.resp3 === true;
    this.limits = resolveParserLimits(options.limits);
  }

  /** Bytes currently held: the unfinished line plus the reply under construction. */
  get bufferedBytes(): number {
    return (this.#partial?.length ?? 0) + this.#replyBytes;
  }

  /** True between replies: nothing is half-read. */
  get idle(): boolean {
    return this.#partial === undefined && this.#bulk === undefined && this.#stack.length === 0 && !this.#attributeRead && this.#failure === undefined;
  }

  /** The protocol error that stopped the parser, if any. */
  get failure(): RingletError | undefined {
    return this.#failure;
  }

  /** Forgets everything, including a failure: for a new connection. */
  reset(): void {
    this.#partial = undefined;
    this.#bulk = undefined;
    this.#stack.length = 0;
    this.#replyBytes = 0;
    this.#attributeRead = false;
    this.#failure = undefined;
  }

  /**
   * Consumes `chunk`, calling back for each reply it completes. Throws RingletError
   * `ERR_PROTOCOL` on malformed input or a limit exceeded, and again on every later call
   * until `reset()`. An exception thrown by the callback does not stop the chunk: the
   * rest is parsed, then the first such exception is rethrown.
   */
  feed(chunk: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      this.#consume(chunk);
    } catch (err) {
      this.#callbackError = undefined;
      this.reset();
      this.#failure = err instanceof RingletError ? err : protocolError('parser failure');
      throw this.#failure;
    }
    const thrown = this.#callbackError;
    if (thrown !== undefined) {
      this.#callbackError = undefined;
      throw thrown.error;
    }
  }

  #consume(chunk: Uint8Array): void {
    let buf = chunk;
    if (this.#partial !== undefined) {
      buf = Buffer.concat([this.#partial, chunk]);
      this.#partial = undefined;
    }
    let pos = 0;
    while (pos < buf.length) {
      if (this.#bulk !== undefined) {
        pos = this.#fillBulk(buf, pos);
        continue;
      }
      const cr = buf.indexOf(CR, pos);
      const lf = buf.indexOf(LF, pos);
      if (lf !== -1 && (cr === -1 || lf < cr)) throw protocolError('line feed without carriage return');
      if (cr === -1 || cr === buf.length - 1) {
        // An unfinished line: keep a copy of it, within the line limit.
        const sofar = (cr === -1 ? buf.length : cr) - pos - 1;
        if (sofar > this.limits.maxLineBytes) throw protocolError(`line longer than ${this.limits.maxLineBytes} bytes`);
        this.#partial = Buffer.from(buf.subarray(pos));
        this.#checkBudget();
        return;
      }
      if (buf[cr + 1] !== LF) throw protocolError('carriage return without line feed');
      if (cr - pos - 1 > this.limits.maxLineBytes) throw protocolError(`line longer than ${this.limits.maxLineBytes} bytes`);
      const type = buf[pos] as number;
      const start = pos + 1;
      pos = cr + 2;
      this.#line(type, buf, start, cr);
    }
  }

  #line(type: number, buf: Uint8Array, start: number, end: number): void {
    const text = (): string => Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
    switch (type) {
      case 0x2b: // '+' simple string
        return this.#complete(text(), end - start);
      case 0x2d: // '-' error
        return this.#complete(new RespErrorReply(errorCodeOf(text())), 0);
      case 0x3a: // ':' integer
        return this.#complete(parseInteger(text()), 0);
      case 0x24: // '$' bulk string
        return this.#startBulk('bulk', buf, start, end);
      case 0x2a: // '*' array
        return this.#startAggregate('array', buf, start, end);
      default:
        if (!this.resp3) throw protocolError(`unknown type byte ${typeName(type)}`);
        return this.#line3(type, buf, start, end, text);
    }
  }

  #line3(type: number, buf: Uint8Array, start: number, end: number, text: () => string): void {
    switch (type) {
      case 0x5f: // '_' null
        if (end !== start) throw protocolError('null with a payload');
        return this.#complete(null, 0);
      case 0x23: { // '#' boolean
        const t = text();
        if (t !== 't' && t !== 'f') throw protocolError('boolean other than t or f');
        return this.#complete(t === 't', 0);
      }
      case 0x2c: { // ',' double
        const t = text();
        const lower = t.toLowerCase();
        if (lower === 'inf' || lower === '+inf') return this.#complete(Infinity, 0);
        if (lower === '-inf') return this.#complete(-Infinity, 0);
        if (lower === 'nan') return this.#complete(Number.NaN, 0);
        if (!DOUBLE_REGEXP.test(t)) throw protocolError('malformed double');
        return this.#complete(Number(t), 0);
      }
      case 0x28: { // '(' big number
        const t = text();
        if (!BIG_NUMBER_REGEXP.test(t)) throw protocolError('malformed big number');
        return this.#complete(BigInt(t), end - start);
      }
      case 0x21: // '!' blob error
        return this.#startBulk('blob-error', buf, start, end);
      case 0x3d: // '=' verbatim string
        return this.#startBulk('verbatim', buf, start, end);
      case 0x25: // '%' map
        return this.#startAggregate('map', buf, start, end);
      case 0x7e: // '~' set
        return this.#startAggregate('set', buf, start, end);
      case 0x3e: // '>' push
        return this.#startAggregate('push', buf, start, end);
      case 0x7c: // '|' attribute
        return this.#startAggregate('attribute', buf, start, end);
      default:
        throw protocolError(`unknown type byte ${typeName(type)}`);
    }
  }

  #startBulk(kind: PendingBulk['kind'], buf: Uint8Array, start: number, end: number): void {
    const length = parseLength(buf, start, end, this.limits.maxBulkBytes, kind === 'bulk', 'bulk');
    if (length === -1) return this.#complete(null, 0);
    this.#charge(VALUE_OVERHEAD_BYTES + length);
    this.#bulk = { kind, bytes: Buffer.alloc(length), filled: 0 };
  }

  #fillBulk(buf: Uint8Array, pos: number): number {
    const bulk = this.#bulk as PendingBulk;
    const length = bulk.bytes.length;
    if (bulk.filled < length) {
      const n = Math.min(length - bulk.filled, buf.length - pos);
      bulk.bytes.set(buf.subarray(pos, pos + n), bulk.filled);
      bulk.filled += n;
      pos += n;
    }
    while (bulk.filled >= length && bulk.filled < length + 2 && pos < buf.length) {
      if (buf[pos] !== (bulk.filled === length ? CR : LF)) throw protocolError('bulk string not followed by CRLF');
      bulk.filled++;
      pos++;
    }
    if (bulk.filled === length + 2) {
      this.#bulk = undefined;
      this.#complete(bulkValue(bulk), 0, false);
    }
    return pos;
  }

  #startAggregate(kind: AggregateKind, buf: Uint8Array, start: number, end: number): void {
    const max = this.limits.maxAggregateLength;
    const count = parseLength(buf, start, end, max, kind === 'array', kind);
    if (count === -1) return this.#complete(null, 0);
    if (kind === 'push' && this.#stack.length > 0) throw protocolError('push data inside an aggregate');
    if (this.#stack.length >= this.limits.maxNestingDepth) throw protocolError(`nesting deeper than ${this.limits.maxNestingDepth}`);
    const remaining = kind === 'map' || kind === 'attribute' ? count * 2 : count;
    this.#charge(VALUE_OVERHEAD_BYTES);
    if (remaining > 0) {
      this.#stack.push({ kind, remaining, items: [] });
    } else if (kind === 'push') {
      this.#deliver([], true);
    } else if (kind !== 'attribute') {
      this.#complete(aggregateValue(kind, []), 0, false);
    } else if (this.#stack.length === 0) {
      this.#attributeRead = true;
    }
  }

  /** A value is complete: add it to the open aggregate, closing those it completes. */
  #complete(value: RespValue, payloadBytes: number, charge = true): void {
    if (charge) this.#charge(VALUE_OVERHEAD_BYTES + payloadBytes);
    let current = value;
    for (;;) {
      const top = this.#stack[this.#stack.length - 1];
      if (top === undefined) return this.#deliver(current, false);
      top.items.push(current);
      if (--top.remaining > 0) return;
      this.#stack.pop();
      // An attribute (RESP3 "|") describes the value after it; nobody here reads it, and
      // it is not an element of the aggregate it sits in.
      if (top.kind === 'attribute') {
        if (this.#stack.length === 0) this.#attributeRead = true;
        return;
      }
      if (top.kind === 'push') return this.#deliver(top.items, true);
      current = aggregateValue(top.kind, top.items);
    }
  }

  #deliver(value: RespValue, push: boolean): void {
    this.#replyBytes = 0;
    this.#attributeRead = false;
    try {
      this.#onReply(value, push);
    } catch (error) {
      this.#callbackError ??= { error };
    }
  }

  #charge(bytes: number): void {
    this.#replyBytes += bytes;
    this.#checkBudget();
  }

  #checkBudget(): void {
    if (this.bufferedBytes > this.limits.maxBufferedBytes) {
      throw protocolError(`reply larger than ${this.limits.maxBufferedBytes} buffered bytes`);
    }
  }
}

function bulkValue(bulk: PendingBulk): RespValue {
  if (bulk.kind === 'blob-error') return new RespErrorReply(errorCodeOf(bulk.bytes.toString('utf8')));
  if (bulk.kind === 'verbatim') {
    // "txt:..." / "mkd:...": a three-byte format, a colon, then the text.
    if (bulk.bytes.length < 4 || bulk.bytes[3] !== 0x3a) throw protocolError('verbatim string without its format prefix');
    return bulk.bytes.toString('utf8', 4);
  }
  return bulk.bytes.toString('utf8');
}

function aggregateValue(kind: AggregateKind, items: RespValue[]): RespValue {
  if (kind !== 'map') return items;
  const map = new Map<RespValue, RespValue>();
  for (let i = 0; i < items.length; i += 2) map.set(items[i] as RespValue, items[i + 1] as RespValue);
  return map;
}

/**
 * A length header: `-1` (null, where `nullable`), `0`, or digits without a leading zero, at
 * most `max`. Digits are read one by one and refused as soon as the value passes `max`, so
 * no length is ever converted from a string of unbounded size.
 */
function parseLength(buf: Uint8Array, start: number, end: number, max: number, nullable: boolean, what: string): number {
  if (end - start === 2 && buf[start] === MINUS && buf[start + 1] === DIGIT_0 + 1) {
    if (!nullable) throw protocolError(`negative ${what} length`);
    return -1;
  }
  if (start === end) throw protocolError(`empty ${what} length`);
  if (buf[start] === MINUS) throw protocolError(`negative ${what} length`);
  if (buf[start] === DIGIT_0 && end - start > 1) throw protocolError(`${what} length with a leading zero`);
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c < DIGIT_0 || c > DIGIT_9) throw protocolError(`malformed ${what} length`);
    value = value * 10 + (c - DIGIT_0);
    if (value > max) throw protocolError(`${what} length over the limit of ${max}`);
  }
  return value;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A RESP integer: a signed 64-bit decimal without a sign or zero in front. Numbers when safe, bigints beyond 2^53. */
function parseInteger(text: string): number | bigint {
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(text)) throw protocolError('malformed integer');
  if (text.length <= 15) return Number(text);
  const big = BigInt(text);
  if (big < INT64_MIN || big > INT64_MAX) throw protocolError('integer outside 64 bits');
  return Number.isSafeInteger(Number(big)) ? Number(big) : big;
}
