import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { createStore, storeFootprintBytes, MAX_CAPACITY } from '../../src/store/index.js';
import type { StoreOptions } from '../../src/store/index.js';

const DAY = 86_400_000;

// One row per refusal: the options, then the exact message (field, range, what was given).
const refused: Array<[string, unknown, string]> = [
  ['no options', undefined, 'options: must be an object with at least { capacity }'],
  ['capacity missing', {}, 'capacity: must be an integer from 1 to 1048576, got undefined'],
  ['capacity 0', { capacity: 0 }, 'capacity: must be an integer from 1 to 1048576, got 0'],
  ['capacity fractional', { capacity: 1.5 }, 'capacity: must be an integer from 1 to 1048576, got 1.5'],
  ['capacity too large', { capacity: MAX_CAPACITY + 1 }, 'capacity: must be an integer from 1 to 1048576, got 1048577'],
  ['capacity Infinity', { capacity: Infinity }, 'capacity: must be an integer from 1 to 1048576, got Infinity'],
  ['capacity string', { capacity: '10' }, 'capacity: must be an integer from 1 to 1048576, got string'],
  ['slotBytes negative', { capacity: 1, slotBytes: -1 }, 'slotBytes: must be an integer from 0 to 65536, got -1'],
  ['slotBytes too large', { capacity: 1, slotBytes: 65_537 }, 'slotBytes: must be an integer from 0 to 65536, got 65537'],
  ['idle 0', { capacity: 1, idleTimeoutMs: 0 }, 'idleTimeoutMs: must be an integer from 1 to 34560000000, got 0'],
  ['idle NaN', { capacity: 1, idleTimeoutMs: NaN }, 'idleTimeoutMs: must be an integer from 1 to 34560000000, got NaN'],
  ['absolute beyond 400 days', { capacity: 1, absoluteTimeoutMs: 401 * DAY }, 'absoluteTimeoutMs: must be an integer from 1 to 34560000000, got 34646400000'],
  ['per-user cap above capacity', { capacity: 4, maxSessionsPerUser: 5 }, 'maxSessionsPerUser: must be an integer from 1 to 4, got 5'],
  ['per-user cap 0', { capacity: 4, maxSessionsPerUser: 0 }, 'maxSessionsPerUser: must be an integer from 1 to 4, got 0'],
  ['maxUsers above capacity', { capacity: 4, maxUsers: 5 }, 'maxUsers: must be an integer from 1 to 4, got 5'],
  ['clock without now', { capacity: 1, clock: {} }, 'clock: must be an object with a now() method returning monotonic milliseconds'],
  ['store above 1 GiB', { capacity: 1_048_576, slotBytes: 65_536 },
    'slotBytes: capacity × slotBytes must be at most 1073741824 bytes (got 68719476736); lower capacity or slotBytes'],
  ['restoreFrom not a buffer', { capacity: 1, restoreFrom: { snapshot: 'x', elapsedMs: 0 } }, 'restoreFrom: must be { snapshot: Uint8Array, elapsedMs: number }'],
  ['restore elapsed negative', { capacity: 1, restoreFrom: { snapshot: new Uint8Array(0), elapsedMs: -1 } },
    'restoreFrom.elapsedMs: must be a finite number of milliseconds from 0 to 3456000000000, got -1'],
];

t.test('bad options are refused with a ConfigError naming field and range', async (t) => {
  for (const [name, options, message] of refused) {
    t.throws(() => createStore(options as StoreOptions), new ConfigError('x', 'x').constructor, name);
    t.throws(() => createStore(options as StoreOptions), { message }, `${name}: message`);
    t.throws(() => storeFootprintBytes(options as StoreOptions), { message }, `${name}: footprint refuses too`);
  }
});

t.test('accepted edges', async (t) => {
  const ok: StoreOptions[] = [
    { capacity: 1, slotBytes: 0, idleTimeoutMs: 1, absoluteTimeoutMs: 1, maxSessionsPerUser: 1, maxUsers: 1 },
    { capacity: 16_384, slotBytes: 65_536 },
    { capacity: 255 }, { capacity: 256 }, { capacity: 65_535 }, { capacity: 65_536 },
  ];
  for (const options of ok) {
    const store = createStore(options);
    t.equal(store.stats().bytes, storeFootprintBytes(options), `stats().bytes equals the footprint for ${JSON.stringify(options)}`);
    t.equal(store.stats().capacity, options.capacity);
  }
});

t.test('footprint is exact and grows with slotBytes byte for byte', async (t) => {
  // Regions are 8-aligned, so compare slot sizes that keep the alignment.
  const base = storeFootprintBytes({ capacity: 100, slotBytes: 64 });
  t.equal(storeFootprintBytes({ capacity: 100, slotBytes: 128 }) - base, 100 * 64, 'data area is capacity × slotBytes');
  // Narrow link types: a 255-slot store uses Uint8 links, 256 slots needs Uint16.
  const small = storeFootprintBytes({ capacity: 255, slotBytes: 0 }) / 255;
  const wide = storeFootprintBytes({ capacity: 65_536, slotBytes: 0 }) / 65_536;
  t.ok(small < wide, `per-slot overhead ${small.toFixed(1)} B (u8 links) < ${wide.toFixed(1)} B (u32 links)`);
  const perSession = storeFootprintBytes({ capacity: 100_000, slotBytes: 256 }) / 100_000 - 256;
  t.ok(perSession > 64 && perSession < 100, `overhead per session at 100k: ${perSession.toFixed(1)} B`);
});
