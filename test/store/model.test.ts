/**
 * Reference-model test: long random operation sequences run against the store and the
 * Map-based model in model.ts; every observable result must agree, including which
 * session each create() evicts. A failure prints the seed and the step to replay.
 */
import t from 'tap';
import type { Test } from 'tap';
import { createStore } from '../../src/store/index.js';
import type { SessionStore, SessionView } from '../../src/store/index.js';
import { ManualClock } from '../support/clock.js';
import { SeededRandom } from '../support/seeded-random.js';
import { RingletError } from '../../src/errors.js';
import { ModelStore } from './model.js';
import type { ModelOptions, ModelSession } from './model.js';

interface Scenario extends ModelOptions {
  seed: number;
  ops: number;
  users: number;
  roles: number;
  /** Largest ordinary clock step, and the chance of a jump past the idle timeout. */
  stepMs: number;
  jumpChance: number;
  /** Share of operations that are create(); larger stores need more to fill up. */
  createShare: number;
}

const scenarios: Scenario[] = [
  { seed: 1, ops: 10_000, capacity: 1, slotBytes: 16, idleTimeoutMs: 50, absoluteTimeoutMs: 200, maxSessionsPerUser: 1, maxUsers: 1, users: 3, roles: 2, stepMs: 12, jumpChance: 0.01, createShare: 0.28 },
  { seed: 2, ops: 10_000, capacity: 2, slotBytes: 24, idleTimeoutMs: 80, absoluteTimeoutMs: 300, maxSessionsPerUser: 2, maxUsers: 2, users: 3, roles: 2, stepMs: 20, jumpChance: 0.01, createShare: 0.28 },
  { seed: 3, ops: 15_000, capacity: 3, slotBytes: 32, idleTimeoutMs: 100, absoluteTimeoutMs: 250, maxSessionsPerUser: 2, maxUsers: 3, users: 4, roles: 3, stepMs: 25, jumpChance: 0.01, createShare: 0.28 },
  { seed: 4, ops: 25_000, capacity: 17, slotBytes: 40, idleTimeoutMs: 200, absoluteTimeoutMs: 600, maxSessionsPerUser: 4, maxUsers: 17, users: 9, roles: 3, stepMs: 20, jumpChance: 0.005, createShare: 0.28 },
  { seed: 5, ops: 20_000, capacity: 64, slotBytes: 0, idleTimeoutMs: 400, absoluteTimeoutMs: 1_000, maxSessionsPerUser: 64, maxUsers: 64, users: 12, roles: 2, stepMs: 3, jumpChance: 0.0005, createShare: 0.6 },
  { seed: 6, ops: 15_000, capacity: 257, slotBytes: 48, idleTimeoutMs: 1_000, absoluteTimeoutMs: 3_000, maxSessionsPerUser: 40, maxUsers: 257, users: 30, roles: 4, stepMs: 2, jumpChance: 0.0003, createShare: 0.6 },
  // maxUsers below capacity: the user table can fill (ERR_STORE_FULL) and must agree too.
  { seed: 7, ops: 10_000, capacity: 12, slotBytes: 32, idleTimeoutMs: 150, absoluteTimeoutMs: 500, maxSessionsPerUser: 5, maxUsers: 3, users: 6, roles: 2, stepMs: 20, jumpChance: 0.005, createShare: 0.28 },
];

const MALFORMED: unknown[] = ['', 'x', 'A'.repeat(31), 'A'.repeat(33), 'A'.repeat(31) + '=', 'é'.repeat(32), 'A'.repeat(10_240), undefined, null, 42, {}];

function same(t: Test, step: string, view: SessionView | undefined, m: ModelSession | undefined, o: ModelOptions): boolean {
  if (view === undefined || m === undefined) return view === m || (t.fail(`${step}: store ${view ? 'has' : 'lacks'} a session the model ${m ? 'has' : 'lacks'}`), false);
  const got = [view.ref, view.user, view.role, view.createdMs, view.lastSeenMs, view.dataJson, view.idleExpiresMs, view.absoluteExpiresMs];
  const want = [m.ref, m.user, m.role, m.createdMs, m.lastSeenMs, m.data, m.lastSeenMs + o.idleTimeoutMs, m.createdMs + o.absoluteTimeoutMs];
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return (t.same(got, want, `${step}: session fields`), false);
  return true;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof RingletError) return error.code;
    throw error;
  }
}

function run(t: Test, sc: Scenario): void {
  const rnd = new SeededRandom(sc.seed);
  const clock = new ManualClock(1_000);
  const { seed, ops, users, roles, stepMs, jumpChance, createShare, ...options } = sc;
  let store: SessionStore = createStore({ ...options, clock });
  const model = new ModelStore(options);
  const userNames = Array.from({ length: users }, (_, i) => `user${i}`);
  const roleNames = Array.from({ length: roles }, (_, i) => `role${i}`);
  const dead: string[] = [];
  const deadRefs: string[] = [];
  let mismatches = 0;
  const check = (ok: boolean): void => {
    if (!ok) mismatches++;
  };
  const liveIds = (): string[] => [...model.sessions.keys()];
  const anyId = (): string => {
    const live = liveIds();
    const r = rnd.next();
    if (live.length > 0 && r < 0.7) return rnd.pick(live);
    if (dead.length > 0 && r < 0.85) return rnd.pick(dead);
    if (live.length > 0 && r < 0.92) {
      // Right slot and generation, wrong secret.
      const id = rnd.pick(live);
      return id.slice(0, 31) + (id[31] === 'A' ? 'B' : 'A');
    }
    return rnd.pick(MALFORMED) as string;
  };
  const anyData = (): unknown => {
    const r = rnd.next();
    if (r < 0.3) return undefined;
    if (r < 0.9) return { n: rnd.int(1000), s: 'é'.repeat(rnd.int(8)) };
    return { big: 'x'.repeat(sc.slotBytes + rnd.int(4)) };
  };

  for (let step = 0; step < ops && mismatches === 0; step++) {
    const where = `seed ${seed} step ${step}`;
    const a = rnd.next();
    if (a < 0.3) clock.advance(rnd.int(sc.stepMs + 1));
    else if (a < 0.3 + sc.jumpChance) clock.advance(sc.idleTimeoutMs + rnd.int(sc.absoluteTimeoutMs));
    const now = clock.now();
    const draw = rnd.next();
    // Creates take `createShare`; the rest is spread over the other operations below.
    const op = draw < sc.createShare ? 0 : 0.28 + ((draw - sc.createShare) * 0.72) / (1 - sc.createShare);

    if (op < 0.28) {
      const user = rnd.pick(userNames);
      const role = rnd.pick(roleNames);
      const data = anyData();
      let plan: ReturnType<ModelStore['planCreate']> | undefined;
      const modelCode = codeOf(() => {
        plan = model.planCreate(user, role, data, now);
      });
      let created: ReturnType<SessionStore['create']> | undefined;
      const storeCode = codeOf(() => {
        created = store.create(user, role, data);
      });
      if (modelCode !== storeCode) {
        t.equal(storeCode, modelCode, `${where}: create error code`);
        mismatches++;
        continue;
      }
      if (!created || !plan) continue;
      const ev = created.evicted;
      const want = plan.victim ? { ref: plan.victim.ref, user: plan.victim.user, reason: plan.reason } : undefined;
      const got = ev ? { ref: ev.ref, user: ev.user, reason: ev.reason } : undefined;
      if (JSON.stringify(got) !== JSON.stringify(want) || created.reclaimedExpired !== plan.reclaimed) {
        t.same({ got, reclaimed: created.reclaimedExpired }, { got: want, reclaimed: plan.reclaimed }, `${where}: create evicted`);
        mismatches++;
      }
      if (plan.victim) {
        dead.push(plan.victim.id);
        deadRefs.push(plan.victim.ref);
      }
      model.commitCreate(plan, user, role, now, created.id, created.ref);
    } else if (op < 0.55) {
      const id = anyId();
      const touch = rnd.next() < 0.7;
      const view = store.get(id, { touch });
      check(same(t, `${where}: get`, view, model.get(id, touch, now), options));
    } else if (op < 0.63) {
      const id = anyId();
      const got = store.touch(id);
      const want = model.touch(id, now);
      if (got !== want) check((t.equal(got, want, `${where}: touch`), false));
    } else if (op < 0.7) {
      const id = anyId();
      const data = anyData();
      let got: boolean | undefined;
      let want: boolean | undefined;
      const storeCode = codeOf(() => (got = store.update(id, data)));
      const modelCode = codeOf(() => (want = model.update(id, data, now)));
      if (storeCode !== modelCode || got !== want) check((t.same([storeCode, got], [modelCode, want], `${where}: update`), false));
    } else if (op < 0.76) {
      const id = anyId();
      const got = store.destroy(id);
      const want = model.destroy(id, now);
      if (got !== want) check((t.equal(got, want, `${where}: destroy`), false));
      if (want) dead.push(id);
    } else if (op < 0.78) {
      const user = rnd.pick(userNames);
      const ids = liveIds().filter((id) => model.sessions.get(id)!.user === user);
      const got = store.destroyUser(user);
      const want = model.destroyUser(user, now);
      if (got !== want) check((t.equal(got, want, `${where}: destroyUser`), false));
      dead.push(...ids);
    } else if (op < 0.84) {
      const live = [...model.sessions.values()].map((m) => m.ref);
      const ref = live.length > 0 && rnd.next() < 0.7 ? rnd.pick(live) : deadRefs.length > 0 && rnd.next() < 0.8 ? rnd.pick(deadRefs) : 'zz';
      if (rnd.next() < 0.7) {
        check(same(t, `${where}: getByRef`, store.getByRef(ref), model.getByRef(ref, now), options));
      } else {
        const got = store.destroyByRef(ref);
        const want = model.destroyByRef(ref, now);
        if (got !== want) check((t.equal(got, want, `${where}: destroyByRef`), false));
      }
    } else if (op < 0.9) {
      const user = rnd.next() < 0.5 ? undefined : rnd.pick(userNames);
      const got = store.list(user).map((e) => [e.ref, e.user, e.role, e.createdMs, e.lastSeenMs, e.data, e.dataBytes]);
      const want = model.list(user, now).map((m) => [m.ref, m.user, m.role, m.createdMs, m.lastSeenMs, m.data, m.data ? Buffer.byteLength(m.data) : 0]);
      if (JSON.stringify(got) !== JSON.stringify(want)) check((t.same(got, want, `${where}: list order`), false));
    } else if (op < 0.96) {
      const s = store.stats();
      model.sweep(now);
      const got = { active: s.active, users: s.users, created: s.created, evictedLru: s.evictedLru, evictedUserCap: s.evictedUserCap,
        expiredIdle: s.expiredIdle, expiredAbsolute: s.expiredAbsolute, destroyed: s.destroyed };
      if (JSON.stringify(got) !== JSON.stringify(model.stats)) check((t.same(got, model.stats, `${where}: stats`), false));
      if (s.evicted !== s.evictedLru + s.evictedUserCap) check((t.fail(`${where}: evicted sum`), false));
    } else if (op < 0.965) {
      // Restart: snapshot, downtime, restore into a fresh store on the same clock.
      model.beforeSnapshot(now);
      const snapshot = store.writeSnapshot();
      const elapsedMs = rnd.int(sc.idleTimeoutMs);
      store = createStore({ ...options, clock, restoreFrom: { snapshot, elapsedMs } });
      model.shiftTimes(-elapsedMs);
    } else {
      const id = rnd.pick(MALFORMED);
      if (store.get(id) !== undefined || store.touch(id) || store.destroy(id)) check((t.fail(`${where}: malformed id resolved`), false));
    }
  }
  t.comment(JSON.stringify(model.stats));
  t.equal(mismatches, 0, `seed ${seed}: ${ops} operations agree with the model (capacity ${sc.capacity})`);
  t.ok(model.stats.created > 0 && (model.stats.evictedLru + model.stats.evictedUserCap) > 0, `seed ${seed}: evictions happened`);
  t.ok(model.stats.expiredIdle + model.stats.expiredAbsolute > 0, `seed ${seed}: expiries happened`);
}

t.test('random sequences agree with the Map model', async (t) => {
  let total = 0;
  for (const sc of scenarios) {
    t.test(`capacity ${sc.capacity}, seed ${sc.seed}`, async (t) => run(t, sc));
    total += sc.ops;
  }
  t.ok(total >= 100_000, `${total} operations in total`);
});
