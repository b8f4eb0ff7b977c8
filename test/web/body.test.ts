import t from 'tap';
import { connect } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { ConfigError, RingletError } from '../../src/errors.js';
import { MAX_FORM_FIELDS, mediaType, parseForm, parseJsonObject, readBody, sendJson } from '../../src/web/index.js';
import { listen } from './serve.js';

interface Outcome {
  ok: boolean;
  code?: string;
  body?: string;
  ms: number;
}

/** A server whose every request is read with `readBody`; outcomes arrive in order. */
async function bodyServer(maxBytes: number, timeoutMs: number) {
  const outcomes: Array<(o: Outcome) => void> = [];
  const waiting: Outcome[] = [];
  const deliver = (o: Outcome) => {
    const next = outcomes.shift();
    if (next) next(o);
    else waiting.push(o);
  };
  const srv = await listen((req: IncomingMessage, res) => {
    const started = Date.now();
    readBody(req, { maxBytes, timeoutMs }).then(
      (buf) => {
        deliver({ ok: true, body: buf.toString('latin1'), ms: Date.now() - started });
        sendJson(res, 200, { bytes: buf.length });
      },
      (err: unknown) => {
        deliver({ ok: false, code: err instanceof RingletError ? err.code : String(err), ms: Date.now() - started });
        res.setHeader('Connection', 'close');
        sendJson(res, 413, { error: 'x' });
      },
    );
  });
  const next = () => new Promise<Outcome>((resolve) => {
    const o = waiting.shift();
    if (o) resolve(o);
    else outcomes.push(resolve);
  });
  return { ...srv, next };
}

/** Raw client: write `parts` with `gapMs` between them; optionally destroy at the end. */
function rawSend(port: number, parts: string[], { gapMs = 0, destroy = false } = {}): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.on('connect', async () => {
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (destroy) socket.destroy();
      else setTimeout(() => socket.destroy(), 300);
    });
  });
}

const head = (extra: string) => `POST / HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

t.test('readBody over a real socket', async (t) => {
  const s = await bodyServer(16, 150);
  t.teardown(s.close);

  // [name, parts to send, expected outcome]
  const cases: Array<[string, string[], { ok: boolean; code?: string; body?: string }, { destroy?: boolean }?]> = [
    ['fixed length within the limit', [head('Content-Length: 5\r\n') + 'hello'], { ok: true, body: 'hello' }],
    ['exactly maxBytes', [head('Content-Length: 16\r\n') + 'a'.repeat(16)], { ok: true, body: 'a'.repeat(16) }],
    ['empty body', [head('Content-Length: 0\r\n')], { ok: true, body: '' }],
    ['chunked within the limit', [head('Transfer-Encoding: chunked\r\n') + '3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n'], { ok: true, body: 'abcdefg' }],
    ['declared length above maxBytes: refused before reading', [head('Content-Length: 17\r\n')], { ok: false, code: 'ERR_BODY_TOO_LARGE' }],
    ['huge declared length', [head('Content-Length: 999999999999\r\n')], { ok: false, code: 'ERR_BODY_TOO_LARGE' }],
    ['chunked body passing maxBytes', [head('Transfer-Encoding: chunked\r\n') + 'a\r\n0123456789\r\n', 'a\r\n0123456789\r\n0\r\n\r\n'], { ok: false, code: 'ERR_BODY_TOO_LARGE' }],
    ['stalled body', [head('Content-Length: 10\r\n') + 'abcde'], { ok: false, code: 'ERR_BODY_TIMEOUT' }],
    ['stalled chunked body', [head('Transfer-Encoding: chunked\r\n') + '2\r\nab\r\n'], { ok: false, code: 'ERR_BODY_TIMEOUT' }],
    ['client leaves mid-body', [head('Content-Length: 10\r\n') + 'abcde'], { ok: false, code: 'ERR_BODY_ABORTED' }, { destroy: true }],
  ];
  for (const [name, parts, expected, opts] of cases) {
    const outcome = s.next();
    void rawSend(s.port, parts, { gapMs: 20, destroy: opts?.destroy ?? false });
    const o = await outcome;
    t.equal(o.ok, expected.ok, `${name}: ok`);
    if (expected.code) t.equal(o.code, expected.code, `${name}: code`);
    if (expected.body !== undefined) t.equal(o.body, expected.body, `${name}: body`);
    if (name.startsWith('declared length')) t.ok(o.ms < 100, `${name}: immediate (${o.ms} ms)`);
  }
});

t.test('readBody validates its options', async (t) => {
  const fakeReq = { headers: {} } as IncomingMessage;
  const bad: Array<[Record<string, number>, string]> = [
    [{ maxBytes: -1, timeoutMs: 10 }, 'maxBytes'],
    [{ maxBytes: 1.5, timeoutMs: 10 }, 'maxBytes'],
    [{ maxBytes: Number.NaN, timeoutMs: 10 }, 'maxBytes'],
    [{ maxBytes: 10, timeoutMs: 0 }, 'timeoutMs'],
    [{ maxBytes: 10, timeoutMs: 2 ** 31 }, 'timeoutMs'],
  ];
  for (const [options, field] of bad) {
    let thrown: unknown;
    try {
      void readBody(fakeReq, options as { maxBytes: number; timeoutMs: number });
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof ConfigError && thrown.field === field, `${JSON.stringify(options)} → ConfigError(${field})`);
  }
});

const malformed = (fn: () => unknown) => {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof RingletError ? err.code : `${(err as Error).name}`;
  }
};

t.test('parseForm', (t) => {
  const cases: Array<[string | Buffer, Record<string, string>]> = [
    ['', {}],
    ['a=1&b=2', { a: '1', b: '2' }],
    ['a=1&a=2', { a: '1' }],
    ['q=a+b%20c%2B', { q: 'a b c+' }],
    ['empty=&noeq&=v', { empty: '', noeq: '', '': 'v' }],
    ['&&a=1&&', { a: '1' }],
    ['u=%C3%BC%F0%9F%99%82', { u: 'ü🙂' }],
    ['__proto__=x&constructor=y', JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>],
    ['next=%2F%2Fevil', { next: '//evil' }],
    ['a=b=c', { a: 'b=c' }],
    [Buffer.from('n=ü'), { n: 'ü' }],
  ];
  for (const [input, expected] of cases) {
    const got = parseForm(Buffer.isBuffer(input) ? input : Buffer.from(input));
    t.equal(Object.getPrototypeOf(got), null, `${String(input)}: null prototype`);
    t.same(Object.entries(got), Object.entries(expected), String(input));
  }
  const bad: Array<[string | Buffer, string]> = [
    ['a=%', 'bad escape'],
    ['a=%zz', 'non-hex escape'],
    ['a=%4', 'short escape'],
    ['%=1', 'escape in name'],
    ['a=%C3', 'truncated UTF-8'],
    ['a=%FF', 'invalid UTF-8 byte'],
    ['a=%ED%A0%80', 'escaped surrogate'],
    [Buffer.from([0x61, 0x3d, 0xff]), 'raw invalid UTF-8'],
    [Array.from({ length: MAX_FORM_FIELDS + 1 }, (_, i) => `f${i}=1`).join('&'), 'too many fields'],
  ];
  for (const [input, name] of bad) {
    t.equal(malformed(() => parseForm(Buffer.isBuffer(input) ? input : Buffer.from(input))), 'ERR_BODY_MALFORMED', name);
  }
  t.end();
});

t.test('parseJsonObject', (t) => {
  const ok = parseJsonObject(Buffer.from('{"a":1,"b":{"c":[{"d":true}]},"constructor":"x"}'));
  t.equal(Object.getPrototypeOf(ok), null, 'top level null prototype');
  t.equal(Object.getPrototypeOf(ok['b']), null, 'nested objects null prototype');
  t.equal(Object.getPrototypeOf((ok['b'] as { c: object[] }).c[0]), null, 'objects in arrays null prototype');
  t.same(JSON.parse(JSON.stringify(ok)), { a: 1, b: { c: [{ d: true }] }, constructor: 'x' });
  t.same({ ...parseJsonObject(Buffer.from('\ufeff{"a":"ü"}')) }, { a: 'ü' }, 'BOM tolerated');

  const bad: Array<[string | Buffer, string]> = [
    ['', 'empty'],
    ['null', 'null'],
    ['[]', 'array'],
    ['[{"a":1}]', 'array of objects'],
    ['"str"', 'string'],
    ['42', 'number'],
    ['{"a":', 'truncated'],
    ['{a:1}', 'not JSON'],
    ['{"__proto__":{"admin":true}}', 'top-level __proto__'],
    ['{"x":{"__proto__":{"admin":true}}}', 'nested __proto__'],
    ['{"x":[{"__proto__":1}]}', '__proto__ in array'],
    [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'invalid UTF-8'],
    ['['.repeat(200_000) + ']'.repeat(200_000), 'deep nesting'],
  ];
  for (const [input, name] of bad) {
    t.equal(malformed(() => parseJsonObject(Buffer.isBuffer(input) ? input : Buffer.from(input))), 'ERR_BODY_MALFORMED', name);
  }
  t.equal(({} as Record<string, unknown>)['admin'], undefined, 'Object.prototype untouched');
  t.end();
});

t.test('mediaType', (t) => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, ''],
    ['', ''],
    ['application/json', 'application/json'],
    ['Application/JSON; charset=UTF-8', 'application/json'],
    ['  application/x-www-form-urlencoded ;charset=utf-8', 'application/x-www-form-urlencoded'],
    ['text/plain;', 'text/plain'],
    ['application/vnd.api+json', 'application/vnd.api+json'],
    ['application', ''],
    ['application/', ''],
    ['/json', ''],
    ['application/json garbage', ''],
    ['a/b/c', ''],
    [';application/json', ''],
  ];
  for (const [input, expected] of cases) t.equal(mediaType(input), expected, JSON.stringify(input) ?? 'undefined');
  t.end();
});
