import t from 'tap';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../support/clock.js';
import { adminWithPassword, startTestServer } from '../support/server.js';

const MINUTE = 60_000;

function kernelAt(state: { boot: string; uptime: number }) {
  return { bootId: () => state.boot, uptimeMs: () => state.uptime };
}

t.test('a RAM-mode snapshot survives a restart with expiry still correct', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-snap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kernel = { boot: 'boot-1', uptime: 1_000_000 };
  const options = { keysPath: join(dir, 'keys.json'), snapshotPath: join(dir, 'snapshot.bin') };
  const a = await startTestServer({ dir, options, kernel: kernelAt(kernel), monotonic: new ManualClock(0) });
  const admin = await adminWithPassword(a);
  await a.close();
  t.ok(existsSync(options.snapshotPath), 'written on shutdown');
  t.equal(statSync(options.snapshotPath).mode & 0o777, 0o600, 'mode 0600');

  kernel.uptime += 10 * MINUTE; // 10 minutes of downtime, measured by the kernel
  const b = await startTestServer({ dir, options, kernel: kernelAt(kernel), monotonic: new ManualClock(0) });
  t.ok(b.logEvents('snapshot_restored').length === 1, 'restored');
  t.notOk(existsSync(options.snapshotPath), 'deleted after restore: a crash cannot resurrect ended sessions');
  const me = await b.request('GET', '/session', { headers: { cookie: admin.cookie } });
  t.equal(me.status, 200, 'the session survived the restart');
  await b.close();

  kernel.uptime += 16 * MINUTE; // beyond the 15-minute idle timeout while down
  const c = await startTestServer({ dir, options, kernel: kernelAt(kernel), monotonic: new ManualClock(0) });
  t.equal((await c.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 401, 'downtime counts towards idle expiry');
  await c.close();
});

t.test('snapshots under other keys, from an untimeable reboot, or corrupted are ignored with a warning', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-snap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kernel = { boot: 'boot-1', uptime: 5_000 };
  const snapshotPath = join(dir, 'snapshot.bin');
  const a = await startTestServer({ dir, options: { keysPath: join(dir, 'keys.json'), snapshotPath }, kernel: kernelAt(kernel) });
  const admin = await adminWithPassword(a);
  await a.close();
  const b = await startTestServer({ dir, options: { keysPath: join(dir, 'other-keys.json'), snapshotPath }, kernel: kernelAt(kernel) });
  t.match(b.logEvents('snapshot_ignored')[0], { reason: /other keys/ });
  t.equal((await b.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 401);
  await b.close();

  const c0 = await startTestServer({ dir, options: { keysPath: join(dir, 'keys.json'), snapshotPath }, kernel: kernelAt(kernel) });
  await c0.close();
  const rebooted = { boot: 'boot-2', uptime: 10 };
  const c = await startTestServer({ dir, options: { keysPath: join(dir, 'keys.json'), snapshotPath }, kernel: kernelAt(rebooted), wall: new ManualClock(0) });
  t.match(c.logEvents('snapshot_ignored')[0], { reason: /cannot be measured/ }, 'rebooted at 1970: refused');
  await c.close();

  writeFileSync(snapshotPath, Buffer.from('RINGLETW garbage that is long enough to have a header and a mac in it, yes'));
  const d = await startTestServer({ dir, options: { keysPath: join(dir, 'keys.json'), snapshotPath }, kernel: kernelAt(kernel) });
  t.ok(d.logEvents('snapshot_ignored').length === 1, 'corrupted file: warning, empty store, server up');
  t.equal((await d.request('GET', '/healthz')).status, 200);
  await d.close();
});

t.test('snapshot configuration mistakes are refused at start', async (t) => {
  await t.rejects(startTestServer({ options: { snapshotPath: '/tmp/x.bin' } }), /snapshotPath: needs --keys/);
  await t.rejects(startTestServer({ mode: 'cookie', options: { snapshotPath: '/tmp/x.bin', keysPath: '/tmp/ringlet-k.json' } }), /snapshotPath: snapshots are for RAM mode/);
});
