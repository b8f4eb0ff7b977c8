/**
 * RAM store benchmark: `npm run bench:store` (node --expose-gc dist/bench/store.js).
 *
 * 1. Checks correctness first: the store and the Map baseline must agree on every hit,
 *    miss and eviction of a random sequence, and hostile ids must miss.
 * 2. Times phases at capacity 100 000 on three subjects, interleaved over several rounds:
 *    the store, the Map-based LRU baseline, and the harness alone (the same loops with no
 *    store, so the loops' own allocations, such as slicing ids out of Cookie headers, are
 *    known and subtracted).
 * 3. Prints a markdown table and writes bench/results/store-latest.json and .md.
 *
 * Ids are taken freshly per operation from a Cookie-like header string, as a server
 * sees them. Environment: RINGLET_BENCH_ROUNDS (default 5), RINGLET_BENCH_QUICK=1.
 */
import { createStore } from '../src/store/index.js';
import type { SessionStore } from '../src/store/index.js';
import { systemMonotonicClock } from '../src/util/clock.js';
import { SeededRandom } from '../test/support/seeded-random.js';
import { MapLru } from './baseline-map-lru.js';
import {
  environment, formatNumber, heapAfterGc, markdownTable, requireGc, runRounds, totalGc, writeResults,
} from './harness/index.js';
import type { PhaseEntry, PhaseSpec, PhaseSummary, Subject } from './harness/index.js';

const QUICK = process.env.RINGLET_BENCH_QUICK === '1';
const ROUNDS = Number(process.env.RINGLET_BENCH_ROUNDS ?? (QUICK ? 2 : 5));
const CAPACITY = 100_000;
const SLOT_BYTES = 256;
const IDLE_TIMEOUT_MS = 15 * 60_000;
const ABSOLUTE_TIMEOUT_MS = 12 * 3_600_000;
const USERS = Array.from({ length: 1_000 }, (_, i) => `user${i}`);
const DATA = { a: '192.168.1.10' };
const LOOKUP_OPS = QUICK ? 200_000 : 1_000_000;
const EVICT_OPS = QUICK ? 100_000 : 200_000;

const COOKIE_PREFIX = 'theme=dark; lang=en-US; ringlet=';
const COOKIE_SUFFIX = '; _ga=GA1.2.1234567890.1234567890';
const ID_AT = COOKIE_PREFIX.length;
const ID_END = ID_AT + 32;

const PHASES: PhaseSpec[] = [
  { name: 'fill', ops: CAPACITY },
  { name: 'get-hit', ops: LOOKUP_OPS },
  { name: 'get-miss', ops: LOOKUP_OPS },
  { name: 'get-malformed', ops: LOOKUP_OPS },
  { name: 'touch', ops: LOOKUP_OPS },
  { name: 'create-with-eviction', ops: EVICT_OPS },
];

/** Which session each lookup picks: the same sequence for every subject. */
const picks = new Uint32Array(LOOKUP_OPS);
{
  const rnd = new SeededRandom(7);
  for (let i = 0; i < picks.length; i++) picks[i] = rnd.int(CAPACITY);
}

/** A flat header string (slicing a cons string would flatten it inside the timed loop). */
function header(id: string): string {
  const text = COOKIE_PREFIX + id + COOKIE_SUFFIX;
  text.slice(ID_AT, ID_END).charCodeAt(0);
  return text;
}

/** Same slot and generation, wrong secret: the lookup reaches the constant-time compare. */
function missId(id: string): string {
  return id.slice(0, 31) + (id[31] === 'A' ? 'B' : 'A');
}

const BAD_CHARS = [' ', '=', '+', '/', 'é', ';', '"', '\u0000'];
function malformedId(id: string, i: number): string {
  const at = i % 32;
  return id.slice(0, at) + BAD_CHARS[i % BAD_CHARS.length] + id.slice(at + 1);
}

interface Headers {
  hit: string[];
  miss: string[];
  malformed: string[];
}

function headersFor(ids: readonly string[]): Headers {
  return {
    hit: ids.map(header),
    miss: ids.map((id) => header(missId(id))),
    malformed: ids.map((id, i) => header(malformedId(id, i))),
  };
}

function newStore(): SessionStore {
  return createStore({
    capacity: CAPACITY, slotBytes: SLOT_BYTES, idleTimeoutMs: IDLE_TIMEOUT_MS, absoluteTimeoutMs: ABSOLUTE_TIMEOUT_MS,
    maxSessionsPerUser: CAPACITY, clock: systemMonotonicClock,
  });
}

function newBaseline(): MapLru {
  return new MapLru(CAPACITY, IDLE_TIMEOUT_MS, ABSOLUTE_TIMEOUT_MS, systemMonotonicClock);
}

// Each subject has its own loop functions (not one shared loop taking a callback), so
// every call site stays monomorphic and no subject pays for another's types.

const storeSubject: Subject = {
  name: 'store',
  round(): Record<string, PhaseEntry> {
    const store = newStore();
    const ids: string[] = new Array<string>(CAPACITY).fill('');
    let h: Headers = { hit: [], miss: [], malformed: [] };
    const prepare = () => {
      if (h.hit.length === 0) h = headersFor(ids);
    };
    return {
      fill: (ops) => {
        let sum = 0;
        for (let i = 0; i < ops; i++) {
          const created = store.create(USERS[i % USERS.length]!, 'viewer', DATA);
          ids[i] = created.id;
          sum += created.id.length;
        }
        return sum;
      },
      'get-hit': { prepare, loop: (ops) => {
        let sum = 0;
        const hit = h.hit;
        for (let i = 0; i < ops; i++) {
          const view = store.get(hit[picks[i]!]!.slice(ID_AT, ID_END));
          if (view !== undefined) sum += view.user.length;
        }
        return sum;
      } },
      'get-miss': { prepare, loop: (ops) => {
        let sum = 0;
        const miss = h.miss;
        for (let i = 0; i < ops; i++) if (store.get(miss[picks[i]!]!.slice(ID_AT, ID_END)) === undefined) sum++;
        return sum;
      } },
      'get-malformed': { prepare, loop: (ops) => {
        let sum = 0;
        const bad = h.malformed;
        for (let i = 0; i < ops; i++) if (store.get(bad[picks[i]!]!.slice(ID_AT, ID_END)) === undefined) sum++;
        return sum;
      } },
      touch: { prepare, loop: (ops) => {
        let sum = 0;
        const hit = h.hit;
        for (let i = 0; i < ops; i++) if (store.touch(hit[picks[i]!]!.slice(ID_AT, ID_END))) sum++;
        return sum;
      } },
      'create-with-eviction': (ops) => {
        let sum = 0;
        for (let i = 0; i < ops; i++) {
          const created = store.create(USERS[i % USERS.length]!, 'viewer', DATA);
          if (created.evicted !== undefined) sum++;
        }
        return sum;
      },
    };
  },
};

const baselineSubject: Subject = {
  name: 'map-lru',
  round(): Record<string, PhaseEntry> {
    const lru = newBaseline();
    const ids: string[] = new Array<string>(CAPACITY).fill('');
    let h: Headers = { hit: [], miss: [], malformed: [] };
    const prepare = () => {
      if (h.hit.length === 0) h = headersFor(ids);
    };
    return {
      fill: (ops) => {
        let sum = 0;
        for (let i = 0; i < ops; i++) {
          const created = lru.create(USERS[i % USERS.length]!, 'viewer', DATA);
          ids[i] = created.id;
          sum += created.id.length;
        }
        return sum;
      },
      'get-hit': { prepare, loop: (ops) => {
        let sum = 0;
        const hit = h.hit;
        for (let i = 0; i < ops; i++) {
          const entry = lru.get(hit[picks[i]!]!.slice(ID_AT, ID_END));
          if (entry !== undefined) sum += entry.user.length;
        }
        return sum;
      } },
      'get-miss': { prepare, loop: (ops) => {
        let sum = 0;
        const miss = h.miss;
        for (let i = 0; i < ops; i++) if (lru.get(miss[picks[i]!]!.slice(ID_AT, ID_END)) === undefined) sum++;
        return sum;
      } },
      'get-malformed': { prepare, loop: (ops) => {
        let sum = 0;
        const bad = h.malformed;
        for (let i = 0; i < ops; i++) if (lru.get(bad[picks[i]!]!.slice(ID_AT, ID_END)) === undefined) sum++;
        return sum;
      } },
      touch: { prepare, loop: (ops) => {
        let sum = 0;
        const hit = h.hit;
        for (let i = 0; i < ops; i++) if (lru.touch(hit[picks[i]!]!.slice(ID_AT, ID_END))) sum++;
        return sum;
      } },
      'create-with-eviction': (ops) => {
        let sum = 0;
        for (let i = 0; i < ops; i++) if (lru.create(USERS[i % USERS.length]!, 'viewer', DATA).evictedUser !== undefined) sum++;
        return sum;
      },
    };
  },
};

/** The same loops with no store: what slicing ids and looping costs by itself. */
const harnessSubject: Subject = {
  name: 'harness',
  round(): Record<string, PhaseEntry> {
    const rnd = new SeededRandom(99);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const ids = Array.from({ length: CAPACITY }, () => Array.from({ length: 32 }, () => rnd.pick([...alphabet])).join(''));
    const h = headersFor(ids);
    // Storing the slice makes it a real string, as it is when passed to a store; without
    // this, the JIT can skip the allocation and the harness would under-count.
    const escape: string[] = new Array<string>(16).fill('');
    const lookup = (list: string[]) => (ops: number) => {
      let sum = 0;
      for (let i = 0; i < ops; i++) {
        const id = list[picks[i]!]!.slice(ID_AT, ID_END);
        escape[i & 15] = id;
        sum += id.charCodeAt(31);
      }
      return sum;
    };
    return {
      fill: (ops) => {
        let sum = 0;
        for (let i = 0; i < ops; i++) sum += USERS[i % USERS.length]!.length;
        return sum;
      },
      'get-hit': lookup(h.hit),
      'get-miss': lookup(h.miss),
      'get-malformed': lookup(h.malformed),
      touch: lookup(h.hit),
      'create-with-eviction': (ops) => {
        let sum = 0;
        for (let i = 0; i < ops; i++) sum += USERS[i % USERS.length]!.length;
        return sum;
      },
    };
  },
};

/** Store and baseline must agree on every hit, miss and eviction before anything is timed. */
function checkCorrectness(): void {
  const capacity = 1_000;
  const store = createStore({ capacity, slotBytes: SLOT_BYTES, maxSessionsPerUser: capacity, clock: systemMonotonicClock });
  const lru = new MapLru(capacity, IDLE_TIMEOUT_MS, ABSOLUTE_TIMEOUT_MS, systemMonotonicClock);
  const rnd = new SeededRandom(1);
  const pairs: Array<[string, string]> = [];
  let n = 0;
  const fail = (what: string): never => {
    throw new Error(`correctness check failed: ${what}`);
  };
  for (let step = 0; step < 50_000; step++) {
    const r = rnd.next();
    if (r < 0.3 || pairs.length === 0) {
      const user = `s${n++}`; // one user per session: the evicted user names the session
      const a = store.create(user, 'viewer', DATA);
      const b = lru.create(user, 'viewer', DATA);
      if (a.evicted?.user !== b.evictedUser) fail(`step ${step}: evicted ${a.evicted?.user} vs ${b.evictedUser}`);
      pairs.push([a.id, b.id]);
    } else {
      const [sid, bid] = rnd.pick(pairs);
      const touch = r < 0.8;
      const hitA = store.get(touch ? sid : missId(sid), { touch }) !== undefined;
      const hitB = lru.get(touch ? bid : missId(bid), touch) !== undefined;
      if (hitA !== hitB) fail(`step ${step}: store ${hitA ? 'hit' : 'missed'}, baseline ${hitB ? 'hit' : 'missed'}`);
    }
  }
  if (store.stats().active !== lru.size) fail('sizes differ');
  const hostile = ['', ';'.repeat(100_000), 'A'.repeat(10_240), 'é'.repeat(32), '\u0000'.repeat(32), malformedId(pairs[0]![0], 3)];
  for (const id of hostile) if (store.get(id) !== undefined) fail('a hostile id resolved');
}

function perRound(summary: PhaseSummary | undefined, pick: (s: PhaseSummary) => number): number {
  return summary ? pick(summary) / summary.rounds : NaN;
}

function gcText(summary: PhaseSummary | undefined): string {
  if (!summary) return '-';
  const g = summary.gcTotal;
  const r = summary.rounds;
  return `${formatNumber(g.minor / r, 1)} / ${formatNumber((g.major + g.incremental) / r, 1)}`;
}

async function main(): Promise<void> {
  requireGc();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log('checking correctness against the Map baseline...');
  checkCorrectness();
  log(`ok. ${ROUNDS} rounds, capacity ${CAPACITY}, ${LOOKUP_OPS} lookups and ${EVICT_OPS} evicting creates per phase.`);

  const heapBefore = heapAfterGc();
  const results = await runRounds(PHASES, [storeSubject, baselineSubject, harnessSubject], ROUNDS, log);
  const find = (phase: string, subject: string) => results.find((r) => r.phase === phase && r.subject === subject);

  const rows = PHASES.map(({ name }) => {
    const s = find(name, 'store');
    const b = find(name, 'map-lru');
    const h = find(name, 'harness');
    const extraGc = perRound(s, (x) => totalGc(x.gcTotal)) - perRound(h, (x) => totalGc(x.gcTotal));
    const growth = (s?.medianHeapGrowthBytes ?? NaN) - (h?.medianHeapGrowthBytes ?? NaN);
    return {
      phase: name,
      opsPerRound: s?.ops ?? 0,
      storeOpsPerSec: s?.medianOpsPerSec ?? NaN,
      baselineOpsPerSec: b?.medianOpsPerSec ?? NaN,
      harnessOpsPerSec: h?.medianOpsPerSec ?? NaN,
      ratioToBaseline: (s?.medianOpsPerSec ?? NaN) / (b?.medianOpsPerSec ?? NaN),
      storeGc: s?.gcTotal, baselineGc: b?.gcTotal, harnessGc: h?.gcTotal, rounds: s?.rounds ?? 0,
      extraGcPerRound: extraGc,
      extraMinorPer100k: ((perRound(s, (x) => x.gcTotal.minor) - perRound(h, (x) => x.gcTotal.minor)) * 100_000) / (s?.ops ?? 1),
      heapGrowthBeyondHarnessBytes: growth,
      baselineHeapGrowthBytes: (b?.medianHeapGrowthBytes ?? NaN) - (h?.medianHeapGrowthBytes ?? NaN),
    };
  });

  const probe = newStore();
  const storeBytes = probe.stats().bytes;
  const fill = rows.find((r) => r.phase === 'fill')!;
  const bytesPerSession = storeBytes / CAPACITY;
  const lookups = rows.filter((r) => ['get-hit', 'get-miss', 'get-malformed', 'touch'].includes(r.phase));
  const evict = rows.find((r) => r.phase === 'create-with-eviction')!;
  const hit = rows.find((r) => r.phase === 'get-hit')!;
  const targets = [
    { target: 'no GC events beyond the harness alone (get/touch/miss, per round)',
      value: lookups.map((r) => `${r.phase} ${formatNumber(r.extraGcPerRound, 1)}`).join(', '),
      met: lookups.every((r) => r.extraGcPerRound <= 0) },
    { target: '< 64 KiB heap growth beyond the harness (get/touch/miss, median)',
      value: lookups.map((r) => `${r.phase} ${formatNumber(r.heapGrowthBeyondHarnessBytes)} B`).join(', '),
      met: lookups.every((r) => r.heapGrowthBeyondHarnessBytes < 64 * 1024) },
    { target: '≤ 1 extra scavenge per 100k create-with-eviction',
      value: formatNumber(evict.extraMinorPer100k, 2), met: evict.extraMinorPer100k <= 1 },
    { target: 'get-hit ≥ 1.5× the Map baseline', value: `${formatNumber(hit.ratioToBaseline, 2)}×`, met: hit.ratioToBaseline >= 1.5 },
    { target: `store bytes / capacity ≤ slotBytes + 64 (${SLOT_BYTES + 64})`, value: formatNumber(bytesPerSession, 1),
      met: bytesPerSession <= SLOT_BYTES + 64 },
  ];

  const table = markdownTable(
    ['phase', 'ops/round', 'store ops/s', 'Map LRU ops/s', 'store / Map', 'harness ops/s',
      'store GC minor / major per round', 'Map GC', 'harness GC', 'extra GC / round', 'heap growth beyond harness'],
    rows.map((r) => [
      r.phase, formatNumber(r.opsPerRound), formatNumber(r.storeOpsPerSec), formatNumber(r.baselineOpsPerSec),
      `${formatNumber(r.ratioToBaseline, 2)}×`, formatNumber(r.harnessOpsPerSec),
      gcText(find(r.phase, 'store')), gcText(find(r.phase, 'map-lru')), gcText(find(r.phase, 'harness')),
      formatNumber(r.extraGcPerRound, 1), `${formatNumber(r.heapGrowthBeyondHarnessBytes)} B`,
    ]));
  const memory = markdownTable(['memory per session', 'bytes'], [
    ['store buffer (stats().bytes / capacity)', formatNumber(bytesPerSession, 1)],
    ['  of which the data area (slotBytes)', SLOT_BYTES],
    ['  of which bookkeeping', formatNumber(bytesPerSession - SLOT_BYTES, 1)],
    ['store JS heap after fill (id strings the bench keeps)', formatNumber(fill.heapGrowthBeyondHarnessBytes / CAPACITY, 1)],
    ['Map LRU JS heap after fill (entries + id strings the bench keeps)', formatNumber(fill.baselineHeapGrowthBytes / CAPACITY, 1)],
  ]);
  const targetTable = markdownTable(['target (reported, not asserted)', 'measured', 'met'],
    targets.map((t) => [t.target, t.value, t.met ? 'yes' : '**no**']));
  const env = environment();
  const md = [
    `## Store benchmark (${env.node}, ${env.arch}, ${ROUNDS} rounds, medians; capacity ${CAPACITY}, slotBytes ${SLOT_BYTES})`,
    '', table, '', memory, '', targetTable, '',
    'GC columns: collections per round (minor = scavenge; major includes incremental marking). Extra GC and heap growth',
    'are the store minus the harness alone (the same loops, slicing ids out of Cookie headers, with no store).',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  const files = writeResults('store', {
    env, config: { capacity: CAPACITY, slotBytes: SLOT_BYTES, rounds: ROUNDS, lookupOps: LOOKUP_OPS, evictOps: EVICT_OPS, users: USERS.length },
    storeBytes, bytesPerSession, rows, targets,
    samples: results.map((r) => ({ phase: r.phase, subject: r.subject, opsPerSec: r.samples.map((s) => Math.round(s.opsPerSec)),
      gc: r.samples.map((s) => s.gc), heapGrowthBytes: r.samples.map((s) => s.heapGrowthBytes) })),
    heapGrowthWholeRunBytes: heapAfterGc() - heapBefore,
  }, md);
  log(`wrote ${files.join(', ')}`);
}

await main();
