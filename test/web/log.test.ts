import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { createLogger, LogRateLimit, type LogLevel } from '../../src/web/index.js';
import { ManualClock } from '../support/clock.js';

function capture(level: LogLevel = 'debug') {
  const lines: string[] = [];
  const clock = new ManualClock(Date.UTC(2024, 4, 1, 10, 0, 0));
  const log = createLogger({ level, write: (line) => lines.push(line), clock });
  return { lines, log, clock };
}

t.test('one JSON line per event', (t) => {
  const { lines, log } = capture();
  log.info('login', { result: 'success', user: 'ann', durationMs: 12.5 });
  t.equal(lines.length, 1);
  t.equal(lines[0], '{"time":"2024-05-01T10:00:00.000Z","level":"info","event":"login","result":"success","user":"ann","durationMs":12.5}');
  log.warn('plain');
  t.equal(lines[1], '{"time":"2024-05-01T10:00:00.000Z","level":"warn","event":"plain"}');
  t.end();
});

t.test('levels filter', (t) => {
  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  for (const [i, min] of levels.entries()) {
    const { lines, log } = capture(min);
    for (const l of levels) log[l]('e');
    t.same(lines.map((line) => JSON.parse(line).level), levels.slice(i), `level ${min}`);
  }
  let thrown: unknown;
  try {
    createLogger({ level: 'verbose' as LogLevel });
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof ConfigError && thrown.field === 'level', 'unknown level refused');
  t.end();
});

t.test('secret-looking fields are redacted', (t) => {
  const keys = [
    'password', 'newPassword', 'current_password', 'passwd', 'Cookie', 'set-cookie', 'token', 'access_token',
    'csrfToken', 'csrf', 'secret', 'clientSecret', 'Authorization', 'id', 'ID', 'sessionId', 'session_id', 'SessionID',
  ];
  const kept = ['user', 'ref', 'client', 'route', 'identity', 'kid', 'sid_count', 'idle'];
  const { lines, log } = capture();
  const fields: Record<string, unknown> = {};
  for (const k of [...keys, ...kept]) fields[k] = `value-of-${k}`;
  fields['nested'] = { deeper: { token: 'abc', ok: 1 }, list: [{ password: 'p' }] };
  log.info('e', fields);
  const out = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  for (const k of keys) t.equal(out[k], '[redacted]', `${k} redacted`);
  for (const k of kept) t.equal(out[k], `value-of-${k}`, `${k} kept`);
  t.same(out['nested'], { deeper: { token: '[redacted]', ok: 1 }, list: [{ password: '[redacted]' }] }, 'at any depth');
  t.notMatch(lines[0], /value-of-(password|token|csrf|secret|id\b)/i);
  t.end();
});

t.test('never throws, whatever the fields', (t) => {
  const { lines, log, clock } = capture();
  const circular: Record<string, unknown> = { a: 1 };
  circular['self'] = circular;
  const getter = Object.defineProperty({}, 'boom', { enumerable: true, get() { throw new Error('x'); } });
  const deep = { a: { b: { c: { d: { e: { f: 1 } } } } } };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['circular', { circular }],
    ['throwing getter', { getter }],
    ['bigint', { n: 10n }],
    ['symbol and function', { s: Symbol('x'), f: () => 1, u: undefined }],
    ['NaN and Infinity', { a: Number.NaN, b: Infinity }],
    ['error', { err: Object.assign(new Error('bad thing'), { code: 'ERR_X' }) }],
    ['deep', { deep }],
    ['long string', { s: 'x'.repeat(10_000) }],
    ['buffer', { b: Buffer.alloc(64) }],
    ['reserved names', { time: 'fake', level: 'fake', event: 'fake' }],
    ['newline injection', { user: 'ann\n{"level":"error"}' }],
    ['proxy', { p: new Proxy({}, { ownKeys() { throw new Error('trap'); } }) }],
  ];
  for (const [name, fields] of cases) {
    t.doesNotThrow(() => log.info(name, fields), name);
  }
  t.equal(lines.length, cases.length, 'one line each');
  for (const line of lines) {
    t.notOk(line.includes('\n'), 'single line');
    t.doesNotThrow(() => JSON.parse(line), 'valid JSON');
  }
  const byEvent = new Map(lines.map((l) => [JSON.parse(l).event as string, JSON.parse(l) as Record<string, unknown>]));
  t.same(byEvent.get('circular')?.['circular'], { a: 1, self: '[circular]' });
  t.equal(byEvent.get('bigint')?.['n'], '10');
  t.same(byEvent.get('error')?.['err'], { name: 'Error', message: 'bad thing', code: 'ERR_X' });
  t.ok(String(byEvent.get('long string')?.['s']).length < 1100, 'long strings cut');
  t.equal(byEvent.get('reserved names')?.['level'], 'info', 'fields cannot overwrite the envelope');
  t.equal(byEvent.get('reserved names')?.['field_level'], 'fake');
  t.match(JSON.stringify(byEvent.get('deep')), /\[nested\]/);

  clock.set(Number.NaN);
  t.doesNotThrow(() => log.info('bad clock'));
  t.match(lines.at(-1), /"time":"invalid-time"/);

  const throwing = createLogger({ level: 'info', write: () => { throw new Error('EPIPE'); } });
  t.doesNotThrow(() => throwing.error('e', { a: 1 }), 'a failing sink is swallowed');
  t.end();
});

t.test('rate-limited lines: the first of a kind at once, then one per interval with the count left out', (t) => {
  const { lines, log } = capture();
  const mono = new ManualClock(5_000);
  const gate = new LogRateLimit(60_000, mono);
  const fields = (i: number) => ({ reason: 'per_address', address: `10.0.0.${i}` });
  t.equal(gate.write(log.warn, 'connection_refused', 'refused:per_address', fields(1)), true, 'the first is written');
  for (let i = 2; i <= 500; i++) gate.write(log.warn, 'connection_refused', 'refused:per_address', fields(i));
  t.equal(gate.write(log.warn, 'connection_shed', 'shed:idle', { state: 'idle' }), true, 'another kind has its own interval');
  mono.advance(59_999);
  t.equal(gate.write(log.warn, 'connection_refused', 'refused:per_address', fields(501)), false, 'still within the interval');
  t.equal(gate.pending('refused:per_address'), 500);
  mono.advance(1);
  t.equal(gate.write(log.warn, 'connection_refused', 'refused:per_address', fields(502)), true, 'a minute after the last line');
  t.same(lines.map((l) => JSON.parse(l)).map((l) => [l.event, l.address ?? l.state, l.suppressed]), [
    ['connection_refused', '10.0.0.1', 0],
    ['connection_shed', 'idle', 0],
    ['connection_refused', '10.0.0.502', 500],
  ], '502 events, 3 lines; the third says how many were left out');
  t.equal(gate.pending('refused:per_address'), 0);
  t.end();
});
