import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { integerFromText, integerOption, integerProblem, isIntegerIn } from '../../src/util/options.js';

/**
 * The one integer-option rule every layer uses (store, throttle, hash limiter, codecs,
 * profile, engine client, server options): one row per case, the exact message pinned.
 */
const REFUSED: Array<[string, unknown, number, number, string | undefined, string]> = [
  ['below the range', 0, 1, 64, undefined, 'must be an integer from 1 to 64, got 0'],
  ['above the range', 65, 1, 64, undefined, 'must be an integer from 1 to 64, got 65'],
  ['a fraction', 1.5, 1, 64, undefined, 'must be an integer from 1 to 64, got 1.5'],
  ['NaN', Number.NaN, 1, 64, undefined, 'must be an integer from 1 to 64, got NaN'],
  ['Infinity', Infinity, 1, Number.MAX_SAFE_INTEGER, undefined, 'must be an integer of at least 1, got Infinity'],
  ['beyond safe integers', 2 ** 53, 1, Number.MAX_SAFE_INTEGER, undefined, 'must be an integer of at least 1, got 9007199254740992'],
  ['no bound either way', 0.5, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'seconds', 'must be an integer (seconds), got 0.5'],
  ['a unit', 0, 1, 1_048_576, 'sessions', 'must be an integer from 1 to 1048576 (sessions), got 0'],
  // Anything but a number is named by its type: a secret given in the wrong place stays out of the message.
  ['a string', 'hunter2', 1, 64, undefined, 'must be an integer from 1 to 64, got string'],
  ['a numeric string', '10', 1, 64, undefined, 'must be an integer from 1 to 64, got string'],
  ['undefined', undefined, 1, 64, undefined, 'must be an integer from 1 to 64, got undefined'],
  ['null', null, 1, 64, undefined, 'must be an integer from 1 to 64, got object'],
  ['a bigint', 5n, 1, 64, undefined, 'must be an integer from 1 to 64, got bigint'],
];

t.test('a value outside the rule is a ConfigError naming the field, the range and what was given', async (t) => {
  for (const [title, value, min, max, unit, message] of REFUSED) {
    t.equal(integerProblem(value, min, max, unit), message, `${title}: problem`);
    t.notOk(isIntegerIn(value, min, max), `${title}: not in range`);
    const extras = unit === undefined ? undefined : { unit };
    t.throws(() => integerOption(value, 'field', min, max, extras), new ConfigError('field', message), `${title}: thrown`);
  }
});

t.test('a value inside the rule comes back as it is; both ends are inside', async (t) => {
  const accepted: Array<[number, number, number]> = [[1, 1, 64], [64, 1, 64], [0, 0, 0], [-5, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]];
  for (const [value, min, max] of accepted) {
    t.equal(integerOption(value, 'field', min, max), value, `${value} in ${min}..${max}`);
    t.equal(integerProblem(value, min, max), undefined);
  }
});

t.test('a fallback stands in for undefined only, and is not checked', async (t) => {
  t.equal(integerOption(undefined, 'maxBytes', 1, 10, { fallback: 4096 }), 4096, 'undefined takes the fallback');
  t.throws(() => integerOption(null, 'maxBytes', 1, 10, { fallback: 4096 }), { field: 'maxBytes', message: /got object$/ }, 'null does not');
  t.throws(() => integerOption(0, 'maxBytes', 1, 10, { fallback: 4096 }), { name: 'ConfigError', field: 'maxBytes' }, 'a given value is still checked');
});

t.test('text from a flag or variable: decimal digits, then the range; the text is quoted back', async (t) => {
  const cases: Array<[string, number | string]> = [
    ['8080', 8080],
    ['0', 0],
    ['0080', 80],
    ['70000', '--port: must be an integer from 0 to 65535, got 70000'],
    ['80a', '--port: must be an integer from 0 to 65535, got "80a"'],
    ['-1', '--port: must be an integer from 0 to 65535, got "-1"'],
    ['-0', '--port: must be an integer from 0 to 65535, got "-0"'],
    ['0x50', '--port: must be an integer from 0 to 65535, got "0x50"'],
    ['8e1', '--port: must be an integer from 0 to 65535, got "8e1"'],
    [' 80', '--port: must be an integer from 0 to 65535, got " 80"'],
    ['', '--port: must be an integer from 0 to 65535, got ""'],
    ['1'.repeat(17), '--port: must be an integer from 0 to 65535, got "11111111111111111"'],
    ['x'.repeat(40), `--port: must be an integer from 0 to 65535, got "${'x'.repeat(32)}..."`],
  ];
  for (const [text, expected] of cases) {
    if (typeof expected === 'number') t.equal(integerFromText(text, '--port', 0, 65_535), expected, JSON.stringify(text));
    else t.throws(() => integerFromText(text, '--port', 0, 65_535), { name: 'ConfigError', field: '--port', message: expected }, JSON.stringify(text));
  }
  t.throws(() => integerFromText('0', 'RINGLET_CAPACITY', 1, 1_048_576, 'sessions'), { message: 'RINGLET_CAPACITY: must be an integer from 1 to 1048576 (sessions), got 0' }, 'with a unit');
});
