/**
 * The RESP reply parser: the protocol's own examples as a table, every limit at and one
 * past its edge, the command encoder's known answers, then seeded fuzzing like every other
 * parser here: valid replies truncated at every byte and split at every boundary, streams
 * of replies cut anywhere, and 20 000 hostile inputs per protocol version (oversized,
 * negative and huge lengths, wrong types, deep nesting, garbage). Expected: the right
 * value or RingletError ERR_PROTOCOL, never another exception, never more than
 * maxBufferedBytes held, and a flat heap under --expose-gc.
 */
import t, { type Test } from 'tap';
import { inspect } from 'node:util';
import { RingletError } from '../../src/errors.js';
import {
  DEFAULT_PARSER_LIMITS, RespErrorReply, RespParser, VALUE_OVERHEAD_BYTES, type RespParserLimits, type RespValue,
} from '../../src/engine/resp-parser.js';
import { encodeCommand, MAX_COMMAND_BYTES } from '../../src/engine/resp-command.js';
import { SeededRandom } from '../support/seeded-random.js';
import { hostileResp, respReply, type RespSample } from '../support/fuzz.js';

interface Got {
  value: RespValue;
  push: boolean;
}

function collector(options: { resp3?: boolean; limits?: Partial<RespParserLimits> } = {}): { parser: RespParser; got: Got[] } {
  const got: Got[] = [];
  const parser = new RespParser((value, push) => got.push({ value, push }), options);
  return { parser, got };
}

/** Errors become `{ error: CODE }`, so expected values can be written as data. */
function plain(value: RespValue): unknown {
  if (value instanceof RespErrorReply) return { error: value.code };
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [plain(k), plain(v)]));
  return value;
}

function parseAll(input: string | Buffer, options: { resp3?: boolean; limits?: Partial<RespParserLimits> } = {}): unknown[] {
  const { parser, got } = collector(options);
  parser.feed(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  return got.map((g) => plain(g.value));
}

const VALID: Array<[string, string, unknown, boolean?]> = [
  ['simple string', '+OK\r\n', 'OK'],
  ['empty simple string', '+\r\n', ''],
  ['error: only the code is kept', '-ERR unknown command\r\n', { error: 'ERR' }],
  ['error code WRONGPASS', '-WRONGPASS invalid username-password pair or user is disabled.\r\n', { error: 'WRONGPASS' }],
  ['error without a code', '-oops lower case\r\n', { error: 'ERR' }],
  ['integer 0', ':0\r\n', 0],
  ['integer -1', ':-1\r\n', -1],
  ['integer 2^53-1 stays a number', ':9007199254740991\r\n', 9007199254740991],
  ['integer 2^53 becomes a bigint', ':9007199254740992\r\n', 9007199254740992n],
  ['integer int64 max', ':9223372036854775807\r\n', 9223372036854775807n],
  ['integer int64 min', ':-9223372036854775808\r\n', -9223372036854775808n],
  ['bulk string', '$5\r\nhello\r\n', 'hello'],
  ['bulk string with CR LF inside', '$6\r\na\r\nb\r\n\r\n', 'a\r\nb\r\n'],
  ['empty bulk string', '$0\r\n\r\n', ''],
  ['null bulk string', '$-1\r\n', null],
  ['UTF-8 bulk string', '$7\r\nh\u00e9\u4e2dx\r\n', 'h\u00e9\u4e2dx'],
  ['empty array', '*0\r\n', []],
  ['null array', '*-1\r\n', null],
  ['array of mixed types', '*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n', [1, 2, 3, 4, 'hello']],
  ['nested arrays (RESP spec)', '*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n', [[1, 2, 3], ['Hello', { error: 'ERR' }]]],
  ['array with a null element', '*3\r\n$3\r\nfoo\r\n$-1\r\n$3\r\nbar\r\n', ['foo', null, 'bar']],
  ['EXEC with an error inside', '*2\r\n:1\r\n-WRONGTYPE Operation against a key\r\n', [1, { error: 'WRONGTYPE' }]],
];

const VALID3: Array<[string, string, unknown, boolean?]> = [
  ['null', '_\r\n', null],
  ['boolean true', '#t\r\n', true],
  ['boolean false', '#f\r\n', false],
  ['double', ',3.14\r\n', 3.14],
  ['double exponent', ',1.5e-3\r\n', 0.0015],
  ['double inf', ',inf\r\n', Infinity],
  ['double -inf', ',-inf\r\n', -Infinity],
  ['big number', '(3492890328409238509324850943850943825024385\r\n', 3492890328409238509324850943850943825024385n],
  ['blob error', '!21\r\nSYNTAX invalid syntax\r\n', { error: 'SYNTAX' }],
  ['verbatim string', '=15\r\ntxt:Some string\r\n', 'Some string'],
  ['map', '%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n', new Map<unknown, unknown>([['first', 1], ['second', 2]])],
  ['empty map', '%0\r\n', new Map()],
  ['map with __proto__ key stays a Map', '%1\r\n+__proto__\r\n+x\r\n', new Map([['__proto__', 'x']])],
  ['set', '~3\r\n+a\r\n:1\r\n#f\r\n', ['a', 1, false]],
  ['push', '>3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n', ['message', 'ch', 'hi'], true],
  ['empty push', '>0\r\n', [], true],
  ['attribute before a reply (RESP3 spec) is dropped',
    '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n', [2039123, 9543892]],
  ['attribute inside an array is not an element', '*2\r\n|1\r\n+ttl\r\n:3\r\n:1\r\n:2\r\n', [1, 2]],
  ['HELLO 3 reply shape', '%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n', new Map<unknown, unknown>([['server', 'redis'], ['proto', 3]])],
];

t.test('RESP2 replies from the protocol description', (t) => {
  for (const [title, input, expected] of VALID) {
    const { parser, got } = collector();
    parser.feed(Buffer.from(input, 'utf8'));
    t.same(got.map((g) => plain(g.value)), [expected], title);
    t.ok(parser.idle, `${title}: idle after the reply`);
    t.equal(parser.bufferedBytes, 0, `${title}: nothing held`);
  }
  t.end();
});

t.test('RESP3 replies (with resp3: true)', (t) => {
  for (const [title, input, expected, push] of [...VALID3, ...VALID]) {
    const { parser, got } = collector({ resp3: true });
    parser.feed(Buffer.from(input, 'utf8'));
    t.same(got.map((g) => plain(g.value)), [expected], title);
    t.same(got.map((g) => g.push), [push === true], `${title}: push flag`);
    t.ok(parser.idle, `${title}: idle`);
  }
  t.end();
});

t.test('several replies in one chunk, one reply over many', (t) => {
  t.same(parseAll('+OK\r\n:1\r\n$1\r\nx\r\n*0\r\n'), ['OK', 1, 'x', []]);
  const { parser, got } = collector();
  for (const byte of Buffer.from('*2\r\n$3\r\nfoo\r\n:42\r\n')) parser.feed(Buffer.from([byte]));
  t.same(got.map((g) => g.value), [['foo', 42]], 'byte by byte');
  t.end();
});

const REFUSED: Array<[string, string, RegExp, boolean?]> = [
  ['unknown type byte', '?1\r\n', /unknown type byte 0x3f/],
  ['RESP3 type on a RESP2 connection', '%1\r\n+a\r\n+b\r\n', /unknown type byte 0x25/],
  ['line feed without carriage return', '+OK\n', /line feed without carriage return/],
  ['carriage return without line feed', '+OK\rX\n', /carriage return without line feed/],
  ['bulk not followed by CRLF', '$3\r\nabcd\r\n', /bulk string not followed by CRLF/],
  ['bulk shorter than said', '$5\r\nabc\r\n+OK\r\n', /bulk string not followed by CRLF/],
  ['negative bulk length', '$-2\r\n', /negative bulk length/],
  ['-0 bulk length', '$-0\r\n', /negative bulk length/],
  ['leading zero', '$05\r\nhello\r\n', /leading zero/],
  ['plus sign', '*+1\r\n', /malformed array length/],
  ['space in a length', '$ 1\r\nx\r\n', /malformed bulk length/],
  ['empty length', '*\r\n', /empty array length/],
  ['length beyond 2^64', '$99999999999999999999999\r\n', /bulk length over the limit of 524288/],
  ['integer beyond int64', ':9223372036854775808\r\n', /integer outside 64 bits/],
  ['integer with 20 digits', ':12345678901234567890\r\n', /malformed integer/],
  ['integer with a leading zero', ':01\r\n', /malformed integer/],
  ['integer -0', ':-0\r\n', /malformed integer/],
  ['integer with a plus', ':+1\r\n', /malformed integer/],
  ['decimal integer', ':1.5\r\n', /malformed integer/],
  ['streamed string (RESP3 "$?")', '$?\r\n;4\r\nHell\r\n;0\r\n', /malformed bulk length/, true],
  ['streamed aggregate', '*?\r\n:1\r\n.\r\n', /malformed array length/, true],
  ['null with payload', '_x\r\n', /null with a payload/, true],
  ['boolean other than t/f', '#true\r\n', /boolean other than t or f/, true],
  ['malformed double', ',1.2.3\r\n', /malformed double/, true],
  ['malformed big number', '(12a\r\n', /malformed big number/, true],
  ['verbatim without format', '=3\r\nabc\r\n', /verbatim string without its format prefix/, true],
  ['null map (-1)', '%-1\r\n', /negative map length/, true],
  ['push inside an array', '*1\r\n>1\r\n+x\r\n', /push data inside an aggregate/, true],
];

t.test('malformed replies are refused with ERR_PROTOCOL and a message that names the rule', (t) => {
  for (const [title, input, message, resp3] of REFUSED) {
    const { parser, got } = collector({ resp3: resp3 === true });
    const err = (() => {
      try {
        parser.feed(Buffer.from(input, 'latin1'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(err instanceof RingletError && err.code === 'ERR_PROTOCOL', `${title}: ERR_PROTOCOL`);
    t.match((err as Error | undefined)?.message, message, `${title}: message`);
    t.same(got, [], `${title}: no value`);
    t.throws(() => parser.feed(Buffer.from('+OK\r\n')), { code: 'ERR_PROTOCOL' }, `${title}: refuses further input until reset`);
    parser.reset();
    parser.feed(Buffer.from('+OK\r\n'));
    t.same(got.map((g) => g.value), ['OK'], `${title}: usable after reset`);
  }
  t.end();
});

t.test('error replies keep only their code: arguments echoed by the engine never reach a message', (t) => {
  const secret = 'hunter2-engine-password';
  const [reply] = parseAll(`-ERR unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'user' '${secret}'\r\n`);
  t.same(reply, { error: 'ERR' });
  const { parser, got } = collector({ resp3: true });
  const text = `NOPERM this user has no permissions to run '${secret}'`;
  parser.feed(Buffer.from(`!${Buffer.byteLength(text)}\r\n${text}\r\n`));
  const value = got[0]?.value;
  t.ok(value instanceof RespErrorReply);
  t.notMatch(JSON.stringify(value) + inspect(value), secret, 'nothing of the text is kept');
  t.end();
});

t.test('every limit: at the limit accepted, one past refused', (t) => {
  const limits: RespParserLimits = { maxBulkBytes: 100, maxAggregateLength: 10, maxNestingDepth: 3, maxLineBytes: 64, maxBufferedBytes: 2048 };
  const ok = (title: string, input: string, resp3 = false) => t.doesNotThrow(() => parseAll(input, { limits, resp3 }), title);
  const no = (title: string, input: string, message: RegExp) => t.throws(() => parseAll(input, { limits }), { code: 'ERR_PROTOCOL', message }, title);
  ok('bulk of maxBulkBytes', `$100\r\n${'x'.repeat(100)}\r\n`);
  no('bulk of maxBulkBytes + 1', '$101\r\n', /bulk length over the limit of 100/);
  ok('array of maxAggregateLength', `*10\r\n${':1\r\n'.repeat(10)}`);
  no('array of maxAggregateLength + 1', '*11\r\n', /array length over the limit of 10/);
  ok('map of maxAggregateLength entries', `%10\r\n${':1\r\n'.repeat(20)}`, true);
  ok('nesting of maxNestingDepth', `${'*1\r\n'.repeat(3)}:1\r\n`);
  no('nesting of maxNestingDepth + 1', `${'*1\r\n'.repeat(4)}:1\r\n`, /nesting deeper than 3/);
  no('nesting of 100000', `${'*1\r\n'.repeat(100_000)}:1\r\n`, /nesting deeper than 3/);
  ok('line of maxLineBytes', `+${'a'.repeat(64)}\r\n`);
  no('line of maxLineBytes + 1', `+${'a'.repeat(65)}\r\n`, /line longer than 64 bytes/);
  no('unfinished line of maxLineBytes + 1', `+${'a'.repeat(65)}`, /line longer than 64 bytes/);
  // 10 bulks of 100 B cost 10 × (100 + 16) + 16: within 2048. 2 levels of 10 × 10 × ... are not.
  ok('an aggregate within the budget', `*10\r\n${`$100\r\n${'x'.repeat(100)}\r\n`.repeat(10)}`);
  no('an aggregate over the budget', `*10\r\n${`*10\r\n${`$100\r\n${'x'.repeat(100)}\r\n`.repeat(10)}`.repeat(10)}`, /reply larger than 2048 buffered bytes/);
  t.equal(VALUE_OVERHEAD_BYTES, 16);
  t.throws(() => new RespParser(() => {}, { limits: { maxNestingDepth: 0 } }), { code: 'ERR_CONFIG', message: /^limits\.maxNestingDepth: must be an integer from 1 to 64/ });
  t.throws(() => new RespParser(() => {}, { limits: { maxBufferedBytes: 2 ** 40 } }), { code: 'ERR_CONFIG', message: /^limits\.maxBufferedBytes/ });
  t.ok(DEFAULT_PARSER_LIMITS.maxBulkBytes < DEFAULT_PARSER_LIMITS.maxBufferedBytes, 'the default bulk fits the default budget');
  t.end();
});

t.test('the budget counts the unfinished line and the reply being built, and is released after each reply', (t) => {
  const { parser } = collector({ limits: { maxBufferedBytes: 4096 } });
  parser.feed(Buffer.from('*3\r\n$10\r\nabc'));
  t.equal(parser.bufferedBytes, 16 + 16 + 10, 'array + bulk charged when declared');
  t.notOk(parser.idle);
  parser.feed(Buffer.from('defghij\r\n:1\r\n+O'));
  t.equal(parser.bufferedBytes, 16 + 26 + 16 + 2, 'plus the integer and the unfinished line');
  parser.feed(Buffer.from('K\r\n'));
  t.equal(parser.bufferedBytes, 0);
  t.ok(parser.idle);
  t.end();
});

t.test('a callback that throws does not lose the rest of the chunk', (t) => {
  const got: RespValue[] = [];
  const parser = new RespParser((value) => {
    got.push(value);
    if (value === 'boom') throw new Error('listener failed');
  });
  t.throws(() => parser.feed(Buffer.from('+a\r\n+boom\r\n+b\r\n')), /listener failed/);
  t.same(got, ['a', 'boom', 'b']);
  parser.feed(Buffer.from('+c\r\n'));
  t.same(got, ['a', 'boom', 'b', 'c'], 'still usable: it was not a protocol error');
  t.end();
});

t.test('command encoding: known answers, binary arguments, bounds', (t) => {
  t.equal(encodeCommand(['SET', 'ringlet:x', '1', 'PX', 60000]).toString('latin1'), '*5\r\n$3\r\nSET\r\n$9\r\nringlet:x\r\n$1\r\n1\r\n$2\r\nPX\r\n$5\r\n60000\r\n');
  t.equal(encodeCommand(['PING']).toString('latin1'), '*1\r\n$4\r\nPING\r\n');
  t.equal(encodeCommand(['SET', 'k', '']).toString('latin1'), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n');
  t.same([...encodeCommand(['SET', 'k', 'h\u00e9\r\n'])], [...Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nh\u00e9\r\n\r\n', 'utf8')], 'UTF-8 length in bytes; CR LF inside is safe');
  t.same([...encodeCommand(['SET', 'k', Buffer.from([0, 13, 10, 255])])], [...Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n'), 0, 13, 10, 255, 13, 10]);
  t.equal(encodeCommand(['X', -1.5]).toString('latin1'), '*2\r\n$1\r\nX\r\n$4\r\n-1.5\r\n');
  t.throws(() => encodeCommand([]), { code: 'ERR_CONFIG', message: /^args: a command needs at least its name/ });
  t.throws(() => encodeCommand(['SET', Number.NaN]), { code: 'ERR_CONFIG', message: /^args\[1\]: must be a finite number/ });
  t.throws(() => encodeCommand(['SET', {} as never]), { code: 'ERR_CONFIG', message: /^args\[1\]: must be a string/ });
  t.throws(() => encodeCommand(['SET', 'k', 'x'.repeat(MAX_COMMAND_BYTES)]), { code: 'ERR_COMMAND_TOO_LARGE' });
  t.doesNotThrow(() => encodeCommand(['SET', 'k', 'x'.repeat(MAX_COMMAND_BYTES - 40)]));
  // What the encoder writes, the parser reads back (as an array of bulk strings).
  const rng = new SeededRandom(11);
  for (let i = 0; i < 500; i++) {
    const args = Array.from({ length: 1 + rng.int(6) }, () => rng.bytes(rng.int(40)).toString('utf8'));
    t.same(parseAll(encodeCommand(args)), [args.map((a) => Buffer.from(a, 'utf8').toString('utf8'))], `round trip ${i}`);
  }
  t.end();
});

/** Feeds `chunks`, returning the replies, or the error (which must be ERR_PROTOCOL). */
function feedChunks(parser: RespParser, got: Got[], chunks: Buffer[], limit: number, t: Test, label: string): RingletError | undefined {
  for (const chunk of chunks) {
    try {
      parser.feed(chunk);
    } catch (err) {
      if (!(err instanceof RingletError) || err.code !== 'ERR_PROTOCOL') {
        t.fail(`${label}: threw ${(err as Error).name}: ${(err as Error).message}`);
        return undefined;
      }
      return err;
    }
    if (parser.bufferedBytes > limit) t.fail(`${label}: ${parser.bufferedBytes} bytes held, over ${limit}`);
  }
  void got;
  return undefined;
}

function randomSplit(rng: SeededRandom, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = 1 + rng.int(rng.int(4) === 0 ? 3 : 64);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

for (const resp3 of [false, true]) {
  const version = resp3 ? 'RESP3' : 'RESP2';

  t.test(`${version}: 1500 valid replies, truncated at every byte and split at every boundary`, (t) => {
    const rng = new SeededRandom(resp3 ? 3003 : 2002);
    let checked = 0;
    let wrong = 0;
    for (let i = 0; i < 1500; i++) {
      const sample: RespSample = respReply(rng, { resp3, maxDepth: 3, maxItems: 4 });
      const { bytes } = sample;
      const expect = (got: Got[], label: string): void => {
        checked++;
        if (got.length !== 1 || got[0]!.push !== sample.push || !sameValue(plain(got[0]!.value), sample.value)) {
          if (wrong++ < 5) t.fail(`${version} #${i} ${label}: got ${inspect(got.map((g) => plain(g.value)))}, want ${inspect(sample.value)}`);
        }
      };
      // Whole.
      {
        const { parser, got } = collector({ resp3 });
        parser.feed(bytes);
        expect(got, 'whole');
        if (!parser.idle) t.fail(`#${i}: not idle after a whole reply`);
      }
      // Every strict prefix: nothing yet, no exception, not idle; the rest completes it.
      const exhaustive = bytes.length <= 400;
      const cuts = exhaustive ? Array.from({ length: bytes.length - 1 }, (_, k) => k + 1) : Array.from({ length: 40 }, () => 1 + rng.int(bytes.length - 1));
      for (const cut of cuts) {
        const { parser, got } = collector({ resp3 });
        parser.feed(bytes.subarray(0, cut));
        if (got.length !== 0 || parser.idle) {
          if (wrong++ < 5) t.fail(`#${i}: truncated at ${cut}/${bytes.length}: ${got.length} values, idle ${parser.idle}`);
          continue;
        }
        parser.feed(bytes.subarray(cut));
        expect(got, `split at ${cut}`);
      }
      // Random chunks, and byte by byte.
      {
        const { parser, got } = collector({ resp3 });
        for (const chunk of randomSplit(rng, bytes)) parser.feed(chunk);
        expect(got, 'random chunks');
      }
      if (i % 10 === 0) {
        const { parser, got } = collector({ resp3 });
        for (let k = 0; k < bytes.length; k++) parser.feed(bytes.subarray(k, k + 1));
        expect(got, 'byte by byte');
      }
    }
    t.equal(wrong, 0, `${checked} parses of 1500 replies, all as expected`);
    t.end();
  });

  t.test(`${version}: a stream of 300 replies cut into random chunks arrives whole and in order`, (t) => {
    const rng = new SeededRandom(resp3 ? 77 : 66);
    const samples = Array.from({ length: 300 }, () => respReply(rng, { resp3, maxDepth: 2 }));
    const stream = Buffer.concat(samples.map((s) => s.bytes));
    for (let round = 0; round < 20; round++) {
      const { parser, got } = collector({ resp3 });
      for (const chunk of randomSplit(rng, stream)) parser.feed(chunk);
      const same = got.length === samples.length && got.every((g, i) => sameValue(plain(g.value), samples[i]!.value) && g.push === samples[i]!.push);
      t.ok(same, `round ${round}: ${got.length} of ${samples.length} replies, in order`);
    }
    t.end();
  });

  t.test(`${version}: 20 000 hostile inputs: ERR_PROTOCOL or a value, never another exception, never over budget`, (t) => {
    const limits: RespParserLimits = { maxBulkBytes: 256, maxAggregateLength: 32, maxNestingDepth: 4, maxLineBytes: 128, maxBufferedBytes: 8 * 1024 };
    const rng = new SeededRandom(resp3 ? 9090 : 8080);
    const mustRefuse = /over the limit|negative length|nesting depth|line over|bare CR|unknown type|malformed RESP3|huge or malformed|over the buffered budget: true/;
    let refused = 0;
    let missed = 0;
    const messages = new Set<string>();
    const { parser, got } = collector({ resp3, limits });
    for (let i = 0; i < 20_000; i++) {
      const valid = respReply(rng, { resp3, maxDepth: 2, maxItems: 3 }).bytes;
      const { bytes, kind } = hostileResp(rng, valid, limits);
      const label = `${version} #${i} (${kind})`;
      parser.reset();
      got.length = 0;
      const chunks = rng.int(2) === 0 ? [bytes] : randomSplit(rng, bytes);
      const err = feedChunks(parser, got, chunks, limits.maxBufferedBytes, t, label);
      if (err !== undefined) {
        refused++;
        messages.add(err.message.replace(/\d+/g, 'N'));
        if (!/^RESP protocol error: [a-z0-9 ,()"'/-]+$/i.test(err.message)) t.fail(`${label}: message ${JSON.stringify(err.message)}`);
        try {
          parser.feed(Buffer.from('+OK\r\n'));
          t.fail(`${label}: accepted input after a protocol error`);
        } catch (again) {
          if (again !== err) t.fail(`${label}: a different error after the first`);
        }
      } else if (mustRefuse.test(kind) || (kind.startsWith('RESP3 type') && !resp3)) {
        if (missed++ < 5) t.fail(`${label}: accepted ${inspect(bytes.toString('latin1').slice(0, 80))}`);
      }
    }
    t.equal(missed, 0, 'every input that breaks a rule or a limit was refused');
    t.ok(refused > 10_000, `${refused} of 20 000 refused; ${messages.size} distinct messages`);
    t.end();
  });
}

t.test('hostile input does not grow the heap (200 000 feeds, one parser)', { skip: (globalThis as { gc?: unknown }).gc ? false : 'needs --expose-gc' }, (t) => {
  const gc = (globalThis as unknown as { gc: () => void }).gc;
  const limits: RespParserLimits = { maxBulkBytes: 256, maxAggregateLength: 32, maxNestingDepth: 4, maxLineBytes: 128, maxBufferedBytes: 8 * 1024 };
  const rng = new SeededRandom(4242);
  const inputs = Array.from({ length: 2000 }, () => hostileResp(rng, respReply(rng, { maxDepth: 2 }).bytes, limits).bytes);
  let values = 0;
  const parser = new RespParser(() => { values++; }, { limits });
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      try {
        parser.feed(inputs[i % inputs.length]!);
      } catch {
        parser.reset();
      }
    }
  };
  run(20_000);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  run(200_000);
  gc();
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  t.ok(growth < 1024 * 1024, `heap growth ${growth} B over 200 000 hostile feeds (${values} values)`);
  t.ok(parser.bufferedBytes <= limits.maxBufferedBytes);
  t.end();
});

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a === 'bigint' || typeof b === 'bigint') return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of b) if (!a.has(k) || !sameValue(a.get(k), v)) return false;
    return true;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}
