import t from 'tap';
import { ConfigError, RingletError } from '../src/index.js';

t.test('ConfigError names the field and is a TypeError', (t) => {
  const err = new ConfigError('capacity', 'must be an integer from 1 to 1048576');
  t.ok(err instanceof TypeError);
  t.equal(err.field, 'capacity');
  t.equal(err.code, 'ERR_CONFIG');
  t.equal(err.message, 'capacity: must be an integer from 1 to 1048576');
  t.end();
});

t.test('RingletError carries a stable code', (t) => {
  const err = new RingletError('ERR_MALFORMED', 'malformed token');
  t.equal(err.code, 'ERR_MALFORMED');
  t.equal(err.name, 'RingletError');
  t.end();
});
