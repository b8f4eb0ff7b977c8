/**
 * Login cost per device profile: what a person waits for at the login page, and how many
 * logins a second the hashing bound lets through.
 *
 * For every profile, a ringlet server runs as a child process with the profile's Node flags
 * in the documented launch environment, with a users file whose hashes have the profile's
 * own scrypt cost. In the same run, interleaved round by round:
 * - one `POST /login` (JSON, right password), timed end to end over loopback;
 * - one bare `crypto.scrypt` with the same N, r, p, output length and maxmem, in this
 *   process (the floor: a login cannot be cheaper than its hash); the ratio is login / bare;
 * - one wrong password and one unknown name, which must cost the same as each other (the
 *   unknown-user oracle is closed by construction; this shows it from outside).
 * Then throughput: twice `hashConcurrency` clients sign in back to back for a fixed number
 * of logins; logins/s is set against the bound `min(hashConcurrency, cores) / bare scrypt`.
 * Last, one mixed-cost row (embedded-default's cost next to a legacy p=1 hash): wrong
 * password for either user and an unknown name must again cost the same.
 *
 * Correctness first: right password 200, wrong 401, unknown 401 before anything is timed.
 * The throttle is widened (`--throttle-free-attempts 100`) so the wrong-password rounds
 * measure hashing, not back-off.
 *
 * Run: npm run bench:login. Environment: BENCH_LOGIN_ROUNDS (7), BENCH_LOGIN_THROUGHPUT (24),
 * BENCH_PROFILES (comma-separated; default every profile).
 */
import { scrypt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile } from '../src/config/profile.js';
import type { DeviceProfile } from '../src/config/profile-schema.js';
import { hashPasswordSync, saveUsersFile, scryptMaxmemBytes, UsersDb, HASH_BYTES, type ScryptCost } from '../src/users/index.js';
import { benchProfiles, formatNumber, markdownTable, median, runBench, writeResults } from './harness/index.js';
import { sendRequest } from '../test/support/http.js';
import { LAUNCH_ENV, LAUNCH_MMAP_THRESHOLD, type ServerProcess, spawnServer } from './load/processes.js';
import { describeMachine, machine } from './report/machine.js';
import { progress } from './report/progress.js';

const ROUNDS = Number(process.env['BENCH_LOGIN_ROUNDS'] ?? 7);
const THROUGHPUT_LOGINS = Number(process.env['BENCH_LOGIN_THROUGHPUT'] ?? 24);
const PASSWORD = 'bench login horse battery';

function costOf(p: DeviceProfile): ScryptCost {
  return { logN: p.scryptLogN, r: p.scryptR, p: p.scryptP };
}

/** One bare scrypt of this cost, as a login computes it (thread pool, 32-byte output, exact maxmem). */
function bareScryptMs(cost: ScryptCost): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    scrypt(PASSWORD, 'sixteen byte salt', HASH_BYTES, { N: 2 ** cost.logN, r: cost.r, p: cost.p, maxmem: scryptMaxmemBytes(cost) }, (err) => {
      if (err !== null) reject(err);
      else resolve(performance.now() - started);
    });
  });
}

async function loginMs(server: ServerProcess, username: string, password: string, expect: number): Promise<number> {
  const started = performance.now();
  const reply = await sendRequest(server.port, 'POST', '/login', { json: { username, password } });
  const ms = performance.now() - started;
  if (reply.status !== expect) throw new Error(`login ${username}: expected ${expect}, got ${reply.status} ${reply.text.slice(0, 200)}`);
  return ms;
}

async function startServer(name: string, profile: DeviceProfile, users: UsersDb): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-bench-login-'));
  saveUsersFile(join(dir, 'users.json'), users);
  const server = await spawnServer({
    kind: 'ringlet',
    nodeFlags: profile.nodeFlags,
    // One load address stands for many clients: its per-address connection cap is lifted.
    args: ['--profile', name, '--users', 'users.json', '--log-level', 'warn', '--throttle-free-attempts', '100', '--max-connections-per-address', String(profile.maxConnections)],
    env: LAUNCH_ENV,
    dir,
  });
  await server.waitReady('/healthz');
  return server;
}

interface ProfileRow {
  profile: string;
  cost: string;
  memoryMiB: number;
  hashConcurrency: number;
  bareMs: number;
  loginMs: number;
  ratio: number;
  wrongMs: number;
  unknownMs: number;
  unknownOverWrong: number;
  throughput: number;
  bound: number;
  throughputOverBound: number;
  refused: number;
}

async function measureProfile(name: string): Promise<ProfileRow> {
  const profile = loadProfile(name);
  const cost = costOf(profile);
  const hash = hashPasswordSync(PASSWORD, cost);
  const users = new UsersDb([
    { name: 'admin', role: 'admin', hash, mustChangePassword: false },
    { name: 'bench', role: 'viewer', hash, mustChangePassword: false },
  ]);
  const server = await startServer(name, profile, users);
  try {
    // Correctness first.
    await loginMs(server, 'bench', PASSWORD, 200);
    await loginMs(server, 'bench', 'a wrong password here', 401);
    await loginMs(server, 'nobody-at-all', PASSWORD, 401);
    await bareScryptMs(cost);
    const bare: number[] = [];
    const login: number[] = [];
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so drift and warm-up hit every measurement alike.
      const steps: Array<() => Promise<void>> = [
        async () => void bare.push(await bareScryptMs(cost)),
        async () => void login.push(await loginMs(server, 'bench', PASSWORD, 200)),
        async () => void wrong.push(await loginMs(server, 'bench', `wrong ${round} password`, 401)),
        async () => void unknown.push(await loginMs(server, `nobody-${round}`, PASSWORD, 401)),
      ];
      for (let i = 0; i < steps.length; i++) await (steps[(i + round) % steps.length] as () => Promise<void>)();
      progress(`${name} round ${round + 1}/${ROUNDS}: login ${login.at(-1)?.toFixed(1)} ms, bare scrypt ${bare.at(-1)?.toFixed(1)} ms`);
    }
    // Throughput with the hashing bound: 2 x hashConcurrency clients back to back.
    const clients = 2 * profile.hashConcurrency;
    let next = 0;
    let ok = 0;
    let refused = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (next < THROUGHPUT_LOGINS) {
        next++;
        const reply = await sendRequest(server.port, 'POST', '/login', { json: { username: 'bench', password: PASSWORD } });
        if (reply.status === 200) ok++;
        else if (reply.status === 503) refused++;
        else throw new Error(`throughput login: ${reply.status}`);
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const bareMs = median(bare);
    const loginMedian = median(login);
    const throughput = ok / seconds;
    const bound = Math.min(profile.hashConcurrency, cpus().length) / (bareMs / 1000);
    return {
      profile: name,
      cost: `N=2^${cost.logN} r=${cost.r} p=${cost.p}`,
      memoryMiB: (128 * 2 ** cost.logN * cost.r) / 2 ** 20,
      hashConcurrency: profile.hashConcurrency,
      bareMs,
      loginMs: loginMedian,
      ratio: loginMedian / bareMs,
      wrongMs: median(wrong),
      unknownMs: median(unknown),
      unknownOverWrong: median(unknown) / median(wrong),
      throughput,
      bound,
      throughputOverBound: throughput / bound,
      refused,
    };
  } finally {
    await server.stop();
    rmSync(server.dir, { recursive: true, force: true });
  }
}

interface MixedRow {
  storedCosts: string;
  wrongProfileUserMs: number;
  wrongLegacyUserMs: number;
  unknownMs: number;
  bareSumMs: number;
}

/** A users file mid-upgrade: one hash at the profile's cost, one legacy p=1 hash. */
async function measureMixed(name: string): Promise<MixedRow> {
  const profile = loadProfile(name);
  const cost = costOf(profile);
  const legacy: ScryptCost = { ...cost, p: 1 };
  const users = new UsersDb([
    { name: 'admin', role: 'admin', hash: hashPasswordSync(PASSWORD, cost), mustChangePassword: false },
    { name: 'legacy', role: 'viewer', hash: hashPasswordSync(PASSWORD, legacy), mustChangePassword: false },
  ]);
  const server = await startServer(name, profile, users);
  try {
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      a.push(await loginMs(server, 'admin', `wrong ${round} password`, 401));
      b.push(await loginMs(server, 'legacy', `wrong ${round} password`, 401));
      c.push(await loginMs(server, `nobody-${round}`, PASSWORD, 401));
      bare.push((await bareScryptMs(cost)) + (await bareScryptMs(legacy)));
      progress(`${name} mixed round ${round + 1}/${ROUNDS}`);
    }
    return {
      storedCosts: `N=2^${cost.logN} r=${cost.r} p=${cost.p} and p=1`,
      wrongProfileUserMs: median(a),
      wrongLegacyUserMs: median(b),
      unknownMs: median(c),
      bareSumMs: median(bare),
    };
  } finally {
    await server.stop();
    rmSync(server.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const rows: ProfileRow[] = [];
  for (const name of benchProfiles()) rows.push(await measureProfile(name));
  const mixed = await measureMixed('embedded-default');
  const m = machine();
  const ms = (v: number) => formatNumber(v, 1);
  const markdown = [
    '### Login: one login at the profile\'s scrypt cost, against a bare scrypt of the same cost',
    '',
    `${describeMachine(m)}. Median of ${ROUNDS} interleaved rounds per profile; each server runs with the profile's Node flags and MALLOC_MMAP_THRESHOLD_=${LAUNCH_MMAP_THRESHOLD}; bare scrypt runs in the bench process (libuv pool, same N, r, p, 32-byte output, exact maxmem). Throughput: ${THROUGHPUT_LOGINS} logins by 2 × hashConcurrency clients; the bound is min(hashConcurrency, ${cpus().length} cores) / bare scrypt time.`,
    '',
    markdownTable(
      ['profile', 'scrypt (memory)', 'bare scrypt ms', 'login ms', 'login / bare', 'wrong password ms', 'unknown user ms', 'unknown / wrong', 'logins/s', 'bound logins/s', 'of bound', '503s'],
      rows.map((r) => [
        r.profile, `${r.cost} (${r.memoryMiB} MiB)`, ms(r.bareMs), ms(r.loginMs), `${r.ratio.toFixed(2)}×`, ms(r.wrongMs), ms(r.unknownMs),
        `${r.unknownOverWrong.toFixed(2)}×`, ms(r.throughput), ms(r.bound), `${(100 * r.throughputOverBound).toFixed(0)} %`, r.refused,
      ]),
    ),
    '',
    `Mixed stored costs (embedded-default, ${mixed.storedCosts}): every attempt hashes both costs. Wrong password for the profile-cost user ${ms(mixed.wrongProfileUserMs)} ms, for the legacy user ${ms(mixed.wrongLegacyUserMs)} ms, unknown name ${ms(mixed.unknownMs)} ms; bare scrypt of both costs ${ms(mixed.bareSumMs)} ms.`,
  ].join('\n');
  const paths = writeResults('login', { machine: m, rounds: ROUNDS, throughputLogins: THROUGHPUT_LOGINS, rows, mixed }, markdown);
  process.stdout.write(`${markdown}\n\nwrote ${paths.join(', ')}\n`);
  return 0;
}

runBench('login', main);
