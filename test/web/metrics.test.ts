import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { formatSampleValue, METRICS_CONTENT_TYPE, MetricsRegistry } from '../../src/web/index.js';

function registry(): MetricsRegistry {
  let active = 3;
  return new MetricsRegistry()
    .counter({ name: 'logins_total', help: 'Login attempts by result.', labels: { result: ['success', 'failure', 'throttled', 'busy'] } })
    .counter({ name: 'http_requests_total', help: 'Requests by route and status class.', labels: { route: ['login', 'auth'], class: ['2xx', '4xx'] } })
    .gauge({ name: 'sessions_active', help: 'Live sessions.', collect: () => active++ })
    .gauge({ name: 'store_bytes', help: 'Bytes held by the session store.' })
    .gauge({ name: 'memory_bytes', help: 'Process memory.', labels: { kind: ['rss', 'heap_used'] }, collect: (l) => (l['kind'] === 'rss' ? 1000 : 500) });
}

t.test('render: exact exposition text', (t) => {
  const m = registry();
  m.inc('logins_total', { result: 'success' });
  m.inc('logins_total', { result: 'failure' }, 2);
  m.inc('logins_total', { result: 'failure' });
  m.inc('http_requests_total', { route: 'auth', class: '4xx' }, 5);
  m.set('store_bytes', 1048576);
  t.equal(m.render(), [
    '# HELP ringlet_logins_total Login attempts by result.',
    '# TYPE ringlet_logins_total counter',
    'ringlet_logins_total{result="success"} 1',
    'ringlet_logins_total{result="failure"} 3',
    'ringlet_logins_total{result="throttled"} 0',
    'ringlet_logins_total{result="busy"} 0',
    '# HELP ringlet_http_requests_total Requests by route and status class.',
    '# TYPE ringlet_http_requests_total counter',
    'ringlet_http_requests_total{route="login",class="2xx"} 0',
    'ringlet_http_requests_total{route="login",class="4xx"} 0',
    'ringlet_http_requests_total{route="auth",class="2xx"} 0',
    'ringlet_http_requests_total{route="auth",class="4xx"} 5',
    '# HELP ringlet_sessions_active Live sessions.',
    '# TYPE ringlet_sessions_active gauge',
    'ringlet_sessions_active 3',
    '# HELP ringlet_store_bytes Bytes held by the session store.',
    '# TYPE ringlet_store_bytes gauge',
    'ringlet_store_bytes 1048576',
    '# HELP ringlet_memory_bytes Process memory.',
    '# TYPE ringlet_memory_bytes gauge',
    'ringlet_memory_bytes{kind="rss"} 1000',
    'ringlet_memory_bytes{kind="heap_used"} 500',
    '',
  ].join('\n'));
  t.match(m.render(), /ringlet_sessions_active 4\n/, 'collect runs at every render');
  t.equal(METRICS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  t.end();
});

t.test('escaping of label values and help text', (t) => {
  const m = new MetricsRegistry({ prefix: 'x_' })
    .counter({ name: 'c', help: 'back\\slash and\nnewline', labels: { v: ['a"b', 'c\\d', 'e\nf'] } });
  t.equal(m.render(), [
    '# HELP x_c back\\\\slash and\\nnewline',
    '# TYPE x_c counter',
    'x_c{v="a\\"b"} 0',
    'x_c{v="c\\\\d"} 0',
    'x_c{v="e\\nf"} 0',
    '',
  ].join('\n'));
  t.end();
});

t.test('collected counters', (t) => {
  let created = 7;
  const m = new MetricsRegistry()
    .counter({ name: 'sessions_created_total', help: 'Sessions created.', collect: () => created })
    .counter({ name: 'expired_total', help: 'Expired.', labels: { reason: ['idle', 'absolute'] }, collect: (l) => (l['reason'] === 'idle' ? 2 : 1) });
  created = 9;
  t.equal(m.render(), [
    '# HELP ringlet_sessions_created_total Sessions created.',
    '# TYPE ringlet_sessions_created_total counter',
    'ringlet_sessions_created_total 9',
    '# HELP ringlet_expired_total Expired.',
    '# TYPE ringlet_expired_total counter',
    'ringlet_expired_total{reason="idle"} 2',
    'ringlet_expired_total{reason="absolute"} 1',
    '',
  ].join('\n'));
  t.throws(() => m.inc('sessions_created_total'), TypeError, 'a collected counter is not incremented');
  t.equal(m.value('expired_total', { reason: 'idle' }), 2);
  t.end();
});

t.test('sample values', (t) => {
  const cases: Array<[number, string]> = [[0, '0'], [-0, '0'], [1.5, '1.5'], [1e21, '1e+21'], [Number.NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf']];
  for (const [v, s] of cases) t.equal(formatSampleValue(v), s, s);
  const m = new MetricsRegistry().gauge({ name: 'g', help: 'h', collect: () => { throw new Error('boom'); } });
  t.equal(m.render(), '# HELP ringlet_g h\n# TYPE ringlet_g gauge\nringlet_g NaN\n', 'a throwing collector reads NaN');
  t.end();
});

t.test('request data can never create a series', (t) => {
  const m = registry();
  const before = m.render().split('\n').length;
  const misuse: Array<[string, () => void]> = [
    ['unknown label value', () => m.inc('logins_total', { result: 'pwned' })],
    ['prototype key as value', () => m.inc('logins_total', { result: '__proto__' })],
    ['missing label', () => m.inc('logins_total')],
    ['extra label', () => m.inc('logins_total', { result: 'success', user: 'x' })],
    ['unknown metric', () => m.inc('nope_total')],
    ['prototype name', () => m.inc('constructor')],
    ['negative counter increment', () => m.inc('logins_total', { result: 'success' }, -1)],
    ['NaN increment', () => m.inc('logins_total', { result: 'success' }, Number.NaN)],
    ['set on a counter', () => m.set('logins_total', 1, { result: 'success' })],
    ['set on a collected gauge', () => m.set('sessions_active', 1)],
    ['inc on a collected gauge', () => m.inc('sessions_active')],
  ];
  for (const [name, fn] of misuse) t.throws(fn, TypeError, name);
  t.equal(m.render().split('\n').length, before, 'no new lines');
  t.equal(m.value('logins_total', { result: 'success' }), 0, 'nothing counted');
  m.inc('store_bytes', undefined, -5);
  t.equal(m.value('store_bytes'), -5, 'gauges may go down');
  t.end();
});

t.test('declarations are validated', (t) => {
  const bad: Array<[string, () => unknown, string]> = [
    ['bad name', () => new MetricsRegistry().counter({ name: 'a-b', help: 'h' }), 'metrics.a-b'],
    ['twice', () => new MetricsRegistry().counter({ name: 'a', help: 'h' }).gauge({ name: 'a', help: 'h' }), 'metrics.a'],
    ['no help', () => new MetricsRegistry().counter({ name: 'a', help: '' }), 'metrics.a.help'],
    ['bad label name', () => new MetricsRegistry().counter({ name: 'a', help: 'h', labels: { 'x-y': ['1'] } }), 'metrics.a.labels.x-y'],
    ['reserved label name', () => new MetricsRegistry().counter({ name: 'a', help: 'h', labels: { __name__: ['1'] } }), 'metrics.a.labels.__name__'],
    ['empty allow-list', () => new MetricsRegistry().counter({ name: 'a', help: 'h', labels: { x: [] } }), 'metrics.a.labels.x'],
    ['duplicate values', () => new MetricsRegistry().counter({ name: 'a', help: 'h', labels: { x: ['1', '1'] } }), 'metrics.a.labels.x'],
    ['too many series', () => new MetricsRegistry({ maxSeriesPerMetric: 10 }).counter({ name: 'a', help: 'h', labels: { x: ['1', '2', '3', '4'], y: ['1', '2', '3'] } }), 'metrics.a.labels'],
    ['bad prefix', () => new MetricsRegistry({ prefix: '1x' }), 'prefix'],
    ['bad maxSeries', () => new MetricsRegistry({ maxSeriesPerMetric: 0 }), 'maxSeriesPerMetric'],
    ['collect not a function', () => new MetricsRegistry().counter({ name: 'a', help: 'h', collect: 5 as unknown as () => number }), 'metrics.a.collect'],
  ];
  for (const [name, fn, field] of bad) {
    let thrown: unknown;
    try {
      fn();
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof ConfigError && thrown.field === field, `${name} → ConfigError(${field}) got ${String(thrown)}`);
  }
  t.end();
});
