import t from 'tap';
import { RetryTimer } from '../../src/engine/retry-timer.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('back-off doubles per failure up to the maximum; one retry waits at a time', async (t) => {
  const retry = new RetryTimer(1, 5);
  let runs = 0;
  const delays: Array<number | undefined> = [];
  for (let i = 0; i < 5; i++) {
    delays.push(retry.schedule(() => runs++));
    t.ok(retry.pending, `retry ${i + 1} waits`);
    t.equal(retry.schedule(() => runs++), undefined, 'a second one is not scheduled while one waits');
    await tick(10);
    t.notOk(retry.pending, `retry ${i + 1} ran`);
  }
  t.same(delays, [1, 2, 4, 5, 5], 'base, doubled, capped');
  t.equal(runs, 5, 'each scheduled retry ran once');
});

t.test('success, cancel and reset', async (t) => {
  const retry = new RetryTimer(1, 1000);
  retry.schedule(() => undefined);
  retry.schedule(() => undefined); // waiting: ignored
  await tick(5);
  t.equal(retry.schedule(() => undefined), 2, 'the second failure waits twice as long');
  retry.cancel();
  t.notOk(retry.pending, 'cancel drops the waiting retry');
  let ran = false;
  t.equal(retry.schedule(() => { ran = true; }), 4, 'cancel keeps the back-off');
  retry.reset();
  await tick(10);
  t.notOk(ran, 'reset drops the waiting retry');
  t.equal(retry.schedule(() => undefined), 1, 'reset forgets the back-off');
  retry.cancel();
  retry.succeeded();
  t.equal(retry.schedule(() => undefined), 1, 'after a success the base delay again');
  retry.cancel();
});

t.test('the delays are validated once', async (t) => {
  t.throws(() => new RetryTimer(0, 10), { name: 'ConfigError', field: 'baseDelayMs' });
  t.throws(() => new RetryTimer(10, 5), { name: 'ConfigError', field: 'maxDelayMs' });
});
