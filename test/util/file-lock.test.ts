import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireFileLock, type LockOwner } from '../../src/util/file-lock.js';
import type { KernelClock } from '../../src/util/kernel-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'ringlet-lock-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A kernel clock the test moves: boot id and uptime. */
function kernel(boot = 'boot-a', uptimeMs = 1_000_000): KernelClock & { uptime: number } {
  const k = { uptime: uptimeMs, bootId: () => boot, uptimeMs: () => k.uptime };
  return k;
}

/** A pid that surely belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function owner(over: Partial<LockOwner> = {}): LockOwner {
  return { pid: process.pid, boot: 'boot-a', uptimeMs: 1_000_000, wallMs: Date.now(), token: 'someone-else', ...over };
}

let n = 0;
function fresh(): string {
  return join(dir, `file-${++n}.json`);
}

t.test('exclusive: a second writer waits for the first and then gets the lock', async (t) => {
  const path = fresh();
  const k = kernel();
  const first = await acquireFileLock(path, { kernel: k });
  t.ok(existsSync(`${path}.lock`), 'the lock file exists while held');
  t.equal(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid, process.pid, 'and names its owner');
  const order: string[] = [];
  const second = acquireFileLock(path, { kernel: k }).then((lock) => {
    order.push('second acquired');
    return lock;
  });
  await new Promise((resolve) => setTimeout(resolve, 30));
  order.push('first releases');
  t.equal(await first.release(), true, 'released its own lock');
  const lock = await second;
  t.same(order, ['first releases', 'second acquired']);
  await lock.release();
  t.notOk(existsSync(`${path}.lock`), 'no lock file left');
  t.notOk(existsSync(`${path}.lock.guard`), 'no guard file left');
});

t.test('bounded wait: a live holder makes the next writer give up with ERR_FILE_LOCKED naming its pid', async (t) => {
  const path = fresh();
  const held = await acquireFileLock(path, { kernel: kernel() });
  await t.rejects(acquireFileLock(path, { kernel: kernel(), maxWaitMs: 40 }), {
    code: 'ERR_FILE_LOCKED',
    message: new RegExp(`locked by process ${process.pid} \\(waited 40 ms\\)`),
  });
  t.ok(existsSync(`${path}.lock`), "the holder's lock is untouched");
  await held.release();
});

t.test('stale locks are removed; live ones are not', async (t) => {
  const dead = deadPid();
  const cases: Array<[string, (path: string) => void, KernelClock, boolean]> = [
    ['taken before a reboot', (p) => writeFileSync(`${p}.lock`, JSON.stringify(owner({ boot: 'boot-old' }))), kernel('boot-new'), true],
    ['its process is gone', (p) => writeFileSync(`${p}.lock`, JSON.stringify(owner({ pid: dead }))), kernel(), true],
    ['held too long (a reused pid)', (p) => writeFileSync(`${p}.lock`, JSON.stringify(owner({ uptimeMs: 1_000_000 - 30_001 }))), kernel(), true],
    ['held exactly the limit: still live', (p) => writeFileSync(`${p}.lock`, JSON.stringify(owner({ uptimeMs: 1_000_000 - 30_000 }))), kernel(), false],
    ['a live holder in this boot', (p) => writeFileSync(`${p}.lock`, JSON.stringify(owner())), kernel(), false],
    ['empty and old (creator died before writing)', (p) => {
      writeFileSync(`${p}.lock`, '');
      utimesSync(`${p}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    }, kernel(), true],
    ['empty and young (creator about to write)', (p) => writeFileSync(`${p}.lock`, ''), kernel(), false],
    ['empty and from the future (the clock jumped back)', (p) => {
      writeFileSync(`${p}.lock`, '');
      utimesSync(`${p}.lock`, new Date(Date.now() + 3_600_000), new Date(Date.now() + 3_600_000));
    }, kernel(), true],
    ['a symlink planted as the lock: never followed, judged by its own (young) mtime', (p) => {
      symlinkSync(join(dir, 'nowhere'), `${p}.lock`);
    }, kernel(), false],
    ['no kernel clock: judged by wall time', (p) => writeFileSync(`${p}.lock`, JSON.stringify(owner({ boot: '', uptimeMs: -1, wallMs: Date.now() - 60_000 }))), { bootId: () => undefined, uptimeMs: () => undefined }, true],
  ];
  for (const [title, plant, k, stale] of cases) {
    const path = fresh();
    plant(path);
    const removed: string[] = [];
    const attempt = acquireFileLock(path, { kernel: k, maxWaitMs: 40 }, (reason) => removed.push(reason));
    if (stale) {
      const lock = await attempt;
      t.equal(removed.length, 1, `${title}: removed`);
      await lock.release();
    } else {
      await t.rejects(attempt, { code: 'ERR_FILE_LOCKED' }, `${title}: waited, then gave up`);
      t.same(removed, [], `${title}: not removed`);
    }
  }
});

t.test('breaking a stale lock never removes a fresh lock taken in between', async (t) => {
  const path = fresh();
  const dead = deadPid();
  writeFileSync(`${path}.lock`, JSON.stringify(owner({ pid: dead, token: 'stale' })));
  // While this writer decides the lock is stale, another breaks it and takes a fresh one.
  const processAlive = (pid: number): boolean => {
    if (pid === dead) writeFileSync(`${path}.lock`, JSON.stringify(owner({ token: 'fresh' })));
    return pid !== dead;
  };
  await t.rejects(acquireFileLock(path, { kernel: kernel(), maxWaitMs: 40, processAlive }), { code: 'ERR_FILE_LOCKED' });
  t.equal(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).token, 'fresh', 'the fresh lock survived');
});

t.test("a holder whose lock was broken does not remove its successor's on release", async (t) => {
  const path = fresh();
  const lock = await acquireFileLock(path, { kernel: kernel() });
  writeFileSync(`${path}.lock`, JSON.stringify(owner({ token: 'successor' })));
  t.equal(await lock.release(), false, 'release says the lock was no longer ours');
  t.equal(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).token, 'successor');
});

t.test('a guard left by a crashed breaker is removed by the same rules', async (t) => {
  const path = fresh();
  writeFileSync(`${path}.lock`, JSON.stringify(owner({ pid: deadPid() })));
  writeFileSync(`${path}.lock.guard`, JSON.stringify(owner({ pid: deadPid() })));
  const lock = await acquireFileLock(path, { kernel: kernel(), maxWaitMs: 200 });
  t.notOk(existsSync(`${path}.lock.guard`), 'stale guard gone');
  await lock.release();
});

t.test('a directory that refuses the lock file is a configuration error naming it, not a wait', async (t) => {
  const path = join(dir, 'no-such-dir', 'users.json');
  await t.rejects(acquireFileLock(path), { name: 'ConfigError', field: `${path}.lock`, message: /cannot lock \(ENOENT\)/ });
});

t.test('lock files are readable by other users (a root CLI next to the service account)', async (t) => {
  const path = fresh();
  const lock = await acquireFileLock(path, { kernel: kernel() });
  t.equal(statSync(`${path}.lock`).mode & 0o777, 0o644);
  await lock.release();
});
