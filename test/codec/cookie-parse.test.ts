import t from 'tap';
import { getCookieValues, parseCookieHeader } from '../../src/codec/index.js';
import { cookieCases } from './fixtures.js';

t.test('cookie-parse-cases.json: all 48 cases (jshttp/cookie tests and top-site headers)', async (t) => {
  t.equal(cookieCases.length, 48, 'the fixture holds 48 cases');
  for (const c of cookieCases) {
    const parsed = parseCookieHeader(c.header);
    t.equal(Object.getPrototypeOf(parsed), null, `${c.name}: null prototype`);
    t.strictSame({ ...parsed }, c.expected, `${c.name} (${c.source})`);
    // Every name's first value is also what getCookieValues returns first.
    for (const [name, value] of Object.entries(c.expected)) {
      t.equal(getCookieValues(c.header, name)[0], value, `${c.name}: getCookieValues(${JSON.stringify(name)})[0]`);
    }
  }
});

t.test('no prototype pollution from __proto__ / constructor names', async (t) => {
  const parsed = parseCookieHeader('__proto__=x; constructor=y; hasOwnProperty=z');
  t.equal(parsed['__proto__'], 'x');
  t.ok(Object.hasOwn(parsed, '__proto__'), '__proto__ is an own key');
  t.equal(({} as Record<string, unknown>)['x'], undefined, 'Object.prototype untouched');
  t.equal(parseCookieHeader('a=1')['toString'], undefined, 'no inherited toString');
});

t.test('getCookieValues: every value of one name, in order, bounded', async (t) => {
  const cases: { header: string; name: string; options?: { maxValues?: number; maxBytes?: number }; expected: string[] }[] = [
    { header: 'sid=a; x=1; sid=b', name: 'sid', expected: ['a', 'b'] },
    { header: 'sid=attacker; sid=victim', name: 'sid', expected: ['attacker', 'victim'] },
    { header: 'sidx=1; xsid=2; sid=3', name: 'sid', expected: ['3'] },
    { header: ' sid = a ;sid=;  sid=%41', name: 'sid', expected: ['a', '', 'A'] },
    { header: 'sid;sid=x', name: 'sid', expected: ['x'] },
    { header: 'a=1', name: 'sid', expected: [] },
    { header: '', name: 'sid', expected: [] },
    { header: 'sid=1;sid=2;sid=3;sid=4;sid=5', name: 'sid', options: { maxValues: 2 }, expected: ['1', '2'] },
    { header: 'sid=123456789', name: 'sid', options: { maxBytes: 8 }, expected: [] },
    { header: '=x; =y', name: '', expected: ['x', 'y'] },
  ];
  for (const c of cases) {
    t.strictSame(getCookieValues(c.header, c.name, c.options), c.expected, `${JSON.stringify(c.header)} ${JSON.stringify(c.options ?? {})}`);
  }
});

t.test('lenient: odd input never throws', async (t) => {
  const odd: [unknown, Record<string, string>][] = [
    [undefined, {}],
    [42, {}],
    ['=', {}],
    ['a', {}],
    ['a=%', { a: '%' }],
    ['a=%zz%41', { a: '%zz%41' }],
    ['a=%E0%A4%A', { a: '%E0%A4%A' }],
    ['a=%C3%A9', { a: 'é' }],
    ['a="', { a: '"' }],
    ['\u0000=\u0001', { '\u0000': '\u0001' }],
    ['a=b=c=d', { a: 'b=c=d' }],
    [';;a=1;;;b=2;;', { a: '1', b: '2' }],
    ['a=1;b;c=3', { a: '1', c: '3' }],
  ];
  for (const [header, expected] of odd) {
    t.strictSame({ ...parseCookieHeader(header as string) }, expected, `${JSON.stringify(header)}`);
  }
});

t.test('hostile input: bounded size and linear time', async (t) => {
  const semicolons = ';'.repeat(100_000);
  t.strictSame({ ...parseCookieHeader(semicolons) }, {}, '100k semicolons over the default cap: nothing');
  t.strictSame({ ...parseCookieHeader(`${semicolons}a=1`, { maxBytes: 200_000 }) }, { a: '1' }, '100k semicolons parsed with a raised cap');
  t.strictSame(getCookieValues(`${semicolons}sid=1`, 'sid', { maxBytes: 200_000 }), ['1']);

  const noEquals = `${'a;'.repeat(50_000)}b=1`;
  t.strictSame({ ...parseCookieHeader(noEquals, { maxBytes: 200_000 }) }, { b: '1' }, '50k pairs without "=" then one pair');

  const big = `big=${'x'.repeat(64 * 1024)}`;
  t.strictSame({ ...parseCookieHeader(big) }, {}, '64 kB header over the default 16 KiB cap: nothing');
  t.equal(parseCookieHeader(big, { maxBytes: 70_000 })['big']?.length, 64 * 1024, '64 kB header parsed with a raised cap');

  const manyPairs = Array.from({ length: 5000 }, (_, i) => `n${i}=${i}`).join('; ');
  const parsed = parseCookieHeader(manyPairs, { maxBytes: 100_000 });
  t.equal(Object.keys(parsed).length, 5000, '5000 distinct pairs');
  t.equal(getCookieValues(`${'sid=x;'.repeat(10_000)}`, 'sid', { maxBytes: 100_000 }).length, 8, 'duplicates capped at the default 8');
});

t.test('options are validated (ConfigError naming the field)', async (t) => {
  t.throws(() => parseCookieHeader('a=1', { maxBytes: 0 }), { name: 'ConfigError', field: 'maxBytes' });
  t.throws(() => parseCookieHeader('a=1', { maxBytes: 1.5 }), { name: 'ConfigError', field: 'maxBytes' });
  t.throws(() => getCookieValues('a=1', 'a', { maxValues: 0 }), { name: 'ConfigError', field: 'maxValues' });
});
