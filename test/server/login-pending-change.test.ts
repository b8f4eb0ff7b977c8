/**
 * With --shared-state, a password set on another instance revokes the old password's
 * credentials there (and, through the engine, here) before it reaches this users file. A
 * login here with the old password in that gap must not be issued after the revocation:
 * it waits for the change to be applied and is then judged against it, or answers busy.
 */
import t from 'tap';
import { LoginService, type LoginOutcome } from '../../src/server/login-service.js';
import { HashLimiter, hashPasswordSync, LoginThrottle, UsersDb, type UserRecord, type UsersStore } from '../../src/users/index.js';
import { ManualClock } from '../support/clock.js';

const CHEAP = { logN: 10, r: 8, p: 1 };
const OLD = 'the leaked old passphrase';
const NEW = 'the owner\'s new passphrase';
const WAIT_MS = 100;

function setup() {
  let db = new UsersDb([{ name: 'ann', role: 'viewer', hash: hashPasswordSync(OLD, CHEAP), mustChangePassword: false }]);
  const store: UsersStore = { current: () => db, update: async () => db, onChange: () => () => {} };
  let pending = false;
  let wake: (() => void) | undefined;
  const login = new LoginService({
    users: store,
    limiter: new HashLimiter({ maxConcurrent: 2, maxQueued: 4, maxWaitMs: 1000 }),
    throttle: new LoginThrottle({ entries: 64, freeAttempts: 100, baseDelayMs: 1, maxDelayMs: 1, forgetAfterMs: 1000 }),
    cost: CHEAP,
    clock: new ManualClock(),
    busyRetryAfterMs: WAIT_MS,
    userChangePending: () => pending,
    userChangeApplied: () => new Promise<void>((resolve) => {
      wake = resolve;
    }),
  });
  return {
    login,
    /** Another instance's change arrives: pending until `apply`. */
    arrives: () => {
      pending = true;
    },
    apply: (hash: string) => {
      db = db.upsert({ ...(db.get('ann') as UserRecord), hash });
      pending = false;
      wake?.();
    },
    attempt: async (password: string): Promise<LoginOutcome['result']> => login.confirm(await login.authenticate('ann', password, '192.0.2.1')).result,
  };
}

t.test('a new password from another instance: the old one, tried in the gap, gets nothing', async (t) => {
  const s = setup();
  s.arrives();
  const attempt = s.attempt(OLD);
  setTimeout(() => s.apply(hashPasswordSync(NEW, CHEAP)), 20);
  t.equal(await attempt, 'failure', 'judged against the applied change: the old password is refused');
  t.equal(await s.attempt(NEW), 'success', 'the new one signs in');
});

t.test('the same password re-hashed on another instance (a hash upgrade): the login stands', async (t) => {
  const s = setup();
  s.arrives();
  const attempt = s.attempt(OLD);
  setTimeout(() => s.apply(hashPasswordSync(OLD, CHEAP)), 20);
  t.equal(await attempt, 'success');
});

t.test('a change that cannot be applied (the users file locked): busy after a bounded wait, never success', async (t) => {
  const s = setup();
  s.arrives();
  const started = Date.now();
  t.equal(await s.attempt(OLD), 'busy', 'busy, with Retry-After');
  t.ok(Date.now() - started >= WAIT_MS - 5, 'after waiting for it');
  t.equal(await s.attempt('a wrong passphrase'), 'failure', 'a wrong password is still just wrong');
});

t.test('no change on its way: no wait, and an ordinary login', async (t) => {
  const s = setup();
  t.equal(await s.attempt(OLD), 'success');
});
