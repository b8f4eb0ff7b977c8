/**
 * A damaged RAM-mode snapshot. Policy (src/server/start.ts, unlike the users, keys and
 * profile files): a snapshot that fails its checks is ignored with a `snapshot_ignored`
 * warning and the server starts with an empty store — sessions are lost as in a restart
 * without a snapshot, never resurrected from a damaged file. test/server/snapshot.test.ts
 * covers other keys, an untimeable reboot and a garbage file; here, 2 000 seeded
 * corruptions of a real snapshot go through the decoder, and one through a real start.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKeyRing } from '../../src/codec/index.js';
import { decodeSnapshotFile } from '../../src/server/snapshot-file.js';
import { SeededRandom } from '../support/seeded-random.js';
import { adminWithPassword, startTestServer } from '../support/server.js';
import { assertNoSecrets, cookieValue } from './client.js';

const PASSWORD = 'snapshot fault passphrase';
const kernel = { bootId: () => 'boot-1', uptimeMs: () => 60_000 };

t.test('2 000 corruptions of a real snapshot are all refused; a start with one warns and serves an empty store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-hostile-snap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const options = { keysPath: join(dir, 'keys.json'), snapshotPath: join(dir, 'snapshot.bin') };
  const a = await startTestServer({ dir, options, kernel });
  const admin = await adminWithPassword(a, PASSWORD);
  await a.close();
  const good = readFileSync(options.snapshotPath);
  const key = loadKeyRing(readFileSync(options.keysPath, 'utf8')).deriveSecret('ringlet snapshot');
  const decode = (file: Buffer) => decodeSnapshotFile(file, key, Date.now(), true, kernel);
  t.equal(decode(good).ok, true, 'control: the intact snapshot decodes');

  const rng = new SeededRandom(909);
  const reasons = new Map<string, number>();
  let accepted = 0;
  for (let i = 0; i < 2_000; i++) {
    const bad = Buffer.from(good);
    let file: Buffer;
    switch (rng.int(4)) {
      case 0: bad[rng.int(bad.length)]! ^= 1 << rng.int(8); file = bad; break;
      case 1: file = bad.subarray(0, rng.int(bad.length)); break;
      case 2: file = Buffer.concat([bad, rng.bytes(1 + rng.int(64))]); break;
      default: for (let k = 0; k < 8; k++) bad[rng.int(bad.length)] = rng.int(256); file = bad;
    }
    if (file.equals(good)) continue;
    let verdict;
    try {
      verdict = decode(file);
    } catch (err) {
      t.fail(`corruption ${i} threw ${(err as Error).message}`);
      continue;
    }
    if (verdict.ok) accepted++;
    else reasons.set(verdict.reason, (reasons.get(verdict.reason) ?? 0) + 1);
  }
  t.equal(accepted, 0, `none accepted; refused as ${JSON.stringify(Object.fromEntries(reasons))}`);

  const flipped = Buffer.from(good);
  flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
  writeFileSync(options.snapshotPath, flipped, { mode: 0o600 });
  const b = await startTestServer({ dir, options, kernel });
  t.teardown(() => b.close());
  t.same(b.logEvents('snapshot_ignored').map((e) => e['reason']), ['written under other keys, or corrupted'], 'warned, with the reason');
  t.equal(b.logEvents('listening').length, 1, 'and started');
  t.equal((await b.request('GET', '/session', { headers: { cookie: admin.cookie } })).status, 401, 'no session came back from a damaged file');
  t.equal((await b.request('POST', '/login', { json: { username: 'admin', password: PASSWORD } })).status, 200, 'signing in works');
  assertNoSecrets(t, b, [PASSWORD, cookieValue(admin.cookie)]);
});
