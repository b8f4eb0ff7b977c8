/** Last sign-ins: monotonic, bounded, forgotten with their user. */
import t from 'tap';
import { LastSignIns } from '../../src/server/sign-ins.js';

t.test('ago on the monotonic clock; a wall-clock jump cannot touch it', (t) => {
  let mono = 1_000;
  const signIns = new LastSignIns({ now: () => mono }, 3);
  t.equal(signIns.agoMs('alice'), undefined, 'not since start');
  signIns.record('alice');
  mono += 5 * 60_000;
  t.equal(signIns.agoMs('alice'), 5 * 60_000);
  signIns.record('alice');
  t.equal(signIns.agoMs('alice'), 0, 'the latest sign-in counts');
  signIns.forget('alice');
  t.equal(signIns.agoMs('alice'), undefined, 'gone with the user');
  t.end();
});

t.test('at most one entry per possible user: the oldest sign-in goes first', (t) => {
  let mono = 0;
  const signIns = new LastSignIns({ now: () => mono }, 3);
  for (const user of ['a', 'b', 'c']) {
    signIns.record(user);
    mono += 1;
  }
  signIns.record('a');
  signIns.record('d');
  t.equal(signIns.size, 3);
  t.equal(signIns.agoMs('b'), undefined, 'b signed in longest ago');
  t.same(['a', 'c', 'd'].map((u) => signIns.agoMs(u) !== undefined), [true, true, true]);
  t.end();
});
