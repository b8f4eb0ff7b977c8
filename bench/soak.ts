/**
 * Soak: one ringlet server (a child process through the CLI, a temp users file) under a
 * fixed-time mix of valid traffic, churning logins and logouts, failed-login floods from
 * many addresses, bogus credentials and malformed bodies (seeded, test/support/fuzz.ts).
 * Reports requests served, answers by status, 5xx (goal 0), answers that broke the rules
 * (a session granted to a bogus credential: goal 0), RSS min/max from /proc, and "keeper"
 * sessions lost (goal 0: eight signed-in users touched every second must all be valid at
 * the end). Not run in CI.
 *
 * Run: npm run build && node dist/bench/soak.js --seconds 120 [--profile NAME] [--mode ram|cookie]
 * Writes bench/results/soak-latest.json and .md. Exit 1 when a goal is missed (a 5xx other
 * than 503 busy, a broken rule, a keeper lost, an internal error, peak RSS over the budget).
 */
import { Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadProfile } from '../src/config/profile.js';
import { generateJwks } from '../src/codec/index.js';
import { UsersDb, hashPasswordSync, saveUsersFile } from '../src/users/index.js';
import { writeSecretFileAtomic } from '../src/util/secret-file.js';
import { SeededRandom } from '../test/support/seeded-random.js';
import { sendRequest, SESSION_COOKIE, setCookieLine, type Reply } from '../test/support/http.js';
import { hostileCookieHeader, hostileFormBody, hostileJsonBody, mutateCompactToken, mutateSessionId } from '../test/support/fuzz.js';
import { environment, formatNumber, markdownTable, runBench, writeResults } from './harness/index.js';
import { LAUNCH_MMAP_THRESHOLD, readRss, spawnServer } from './load/processes.js';

/** scrypt N=2^10 r=8 p=1 (1 MiB): bench-only, so logins churn at a useful rate; reported. */
const SOAK_SCRYPT = { logN: 10, r: 8, p: 1 };
const KEEPERS = 8;
const WORKERS = 8;
const PASSWORD = 'soak horse battery staple';
const SAMPLE_EVERY_MS = 1_000;
/** The documented launch environment, unless the caller's MALLOC_MMAP_THRESHOLD_ says otherwise. */
const MMAP_THRESHOLD = process.env['MALLOC_MMAP_THRESHOLD_'] ?? LAUNCH_MMAP_THRESHOLD;

type Action = 'valid' | 'login' | 'failed_login' | 'bogus_credential' | 'malformed_body';
/** Share of requests per action (sums to 100). */
const MIX: ReadonlyArray<[Action, number]> = [['valid', 35], ['login', 5], ['failed_login', 20], ['bogus_credential', 30], ['malformed_body', 10]];
/** The statuses each action may get; anything else is a rule broken. */
const ALLOWED: Readonly<Record<Action, readonly number[]>> = {
  valid: [200],
  login: [200, 503],
  failed_login: [401, 429, 503],
  bogus_credential: [401],
  malformed_body: [400, 401, 403, 413, 415, 429, 503],
};

const agent = new Agent({ keepAlive: true, maxSockets: WORKERS + 2 });

/** One request over the soak's keep-alive connections; no answer at all is status 0. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Reply> {
  return sendRequest(port, method, path, { headers, body, agent, settle: true });
}

/** The session cookie a reply sets, as `name=value`, or undefined. */
function sessionCookie(r: Reply): string | undefined {
  return setCookieLine(r, SESSION_COOKIE)?.split(';')[0];
}

async function signIn(port: number, user: string, address: string): Promise<string> {
  const r = await send(port, 'POST', '/login', { 'content-type': 'application/json', 'x-forwarded-for': address }, JSON.stringify({ username: user, password: PASSWORD }));
  const cookie = sessionCookie(r);
  if (r.status !== 200 || cookie === undefined) throw new Error(`sign-in of ${user} failed: ${r.status} ${r.text}`);
  return cookie;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '120' }, profile: { type: 'string', default: 'embedded-default' }, mode: { type: 'string', default: 'ram' }, seed: { type: 'string', default: '1' } } });
  const seconds = Number(values.seconds);
  const mode = values.mode === 'cookie' ? 'cookie' : 'ram';
  if (!Number.isFinite(seconds) || seconds < 5) throw new Error('--seconds must be at least 5');
  const profile = loadProfile(values.profile!);
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-soak-'));
  const hash = hashPasswordSync(PASSWORD, SOAK_SCRYPT);
  const keeperNames = Array.from({ length: KEEPERS }, (_, i) => `keeper-${i}`);
  saveUsersFile(join(dir, 'users.json'), new UsersDb([
    { name: 'admin', role: 'admin', hash, mustChangePassword: false },
    { name: 'churn', role: 'viewer', hash, mustChangePassword: false },
    ...keeperNames.map((name) => ({ name, role: 'viewer' as const, hash, mustChangePassword: false })),
  ]));
  writeSecretFileAtomic(join(dir, 'keys.json'), JSON.stringify(generateJwks()));
  const server = await spawnServer({
    kind: 'ringlet',
    nodeFlags: profile.nodeFlags,
    dir,
    // The bench-only cost is the server's own too (loudly labelled): otherwise a login would
    // upgrade the users' hashes to the profile's cost and the soak would measure hashing.
    args: ['--profile', values.profile!, '--mode', mode, '--users', join(dir, 'users.json'), '--keys', join(dir, 'keys.json'), '--trusted-proxy', '127.0.0.1', '--log-level', 'error',
      '--scrypt-log-n', String(SOAK_SCRYPT.logN), '--scrypt-r', String(SOAK_SCRYPT.r), '--scrypt-p', String(SOAK_SCRYPT.p), '--insecure-scrypt-below-owasp'],
    // The launch environment the README documents (npm start, systemd): glibc returns freed scrypt blocks.
    env: { MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD },
  });
  try {
    await server.waitReady();
    const port = server.port;
    const admin = await signIn(port, 'admin', '10.250.0.1');
    const token = (await send(port, 'POST', '/token', { 'content-type': 'application/json', 'x-forwarded-for': '10.250.0.1' }, JSON.stringify({ username: 'admin', password: PASSWORD }))).json.access_token as string;
    const keepers = new Map<string, string>();
    for (const [i, name] of keeperNames.entries()) keepers.set(name, await signIn(port, name, `10.251.0.${i + 1}`));
    const adminValue = admin.slice(admin.indexOf('=') + 1);

    const byStatus = new Map<number, number>();
    const byAction = new Map<Action, number>();
    const broken: string[] = [];
    let brokenCount = 0;
    let requests = 0;
    const rssSamples: number[] = [];
    let keeperFailures = 0;
    const deadline = performance.now() + seconds * 1000;
    const record = (action: Action, status: number, kind: string) => {
      requests++;
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      byAction.set(action, (byAction.get(action) ?? 0) + 1);
      if (!ALLOWED[action].includes(status)) {
        brokenCount++;
        if (broken.length < 20) broken.push(`${action} (${kind}): ${status}`);
      }
    };

    const worker = async (seed: number) => {
      const rng = new SeededRandom(seed);
      const total = MIX.reduce((n, [, w]) => n + w, 0);
      while (performance.now() < deadline) {
        let roll = rng.int(total);
        const action = MIX.find(([, w]) => (roll -= w) < 0)![0];
        if (action === 'valid') {
          const path = rng.pick(['/session', '/auth', '/auth?role=admin', '/metrics']);
          const headers: Record<string, string> = rng.int(4) === 0 ? { authorization: `Bearer ${token}` } : { cookie: admin, 'x-ringlet-no-touch': rng.int(2) === 0 ? '1' : '0' };
          record(action, (await send(port, 'GET', path, headers)).status, path);
        } else if (action === 'login') {
          const r = await send(port, 'POST', '/login', { 'content-type': 'application/json', 'x-forwarded-for': '10.252.0.1' }, JSON.stringify({ username: 'churn', password: PASSWORD }));
          record(action, r.status, 'churn');
          const cookie = sessionCookie(r);
          if (cookie !== undefined && rng.int(2) === 0) {
            const csrf = JSON.parse(r.text).csrfToken as string;
            record('valid', (await send(port, 'POST', '/logout', { cookie, 'x-csrf-token': csrf, origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' }, '{}')).status === 200 ? 200 : 599, 'logout');
          }
        } else if (action === 'failed_login') {
          const address = `10.${rng.int(200)}.${rng.int(256)}.${rng.int(256)}`;
          const user = rng.pick(['admin', 'root', 'ubnt', 'pi', `u${rng.int(1e6)}`, ...keeperNames]);
          record(action, (await send(port, 'POST', '/login', { 'content-type': 'application/json', 'x-forwarded-for': address }, JSON.stringify({ username: user, password: `guess ${rng.int(1e9)}` }))).status, user);
        } else if (action === 'bogus_credential') {
          const pick = rng.int(3);
          const headers: Record<string, string> = pick === 0 ? { cookie: hostileCookieHeader(rng, 'ringlet', 4000).value }
            : pick === 1 ? { authorization: `Bearer ${mutateCompactToken(rng, token).value}` }
            : { cookie: `ringlet=${mode === 'ram' ? mutateSessionId(rng, adminValue).value : mutateCompactToken(rng, adminValue).value}` };
          record(action, (await send(port, 'GET', rng.pick(['/session', '/auth']), { ...headers, accept: 'application/json' })).status, Object.keys(headers)[0]!);
        } else {
          const json = rng.int(2) === 0;
          const { body, kind } = json ? hostileJsonBody(rng) : hostileFormBody(rng);
          const address = `10.253.${rng.int(256)}.${rng.int(256)}`;
          record(action, (await send(port, 'POST', json ? '/login' : '/token', { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded', 'x-forwarded-for': address }, body)).status, kind);
        }
      }
    };

    const sampler = (async () => {
      while (performance.now() < deadline) {
        const rss = readRss(server.pid);
        if (rss !== undefined) rssSamples.push(rss.rssBytes);
        for (const [name, cookie] of keepers) {
          const r = await send(port, 'GET', '/session', { cookie });
          if (r.status !== 200) keeperFailures++;
          const next = sessionCookie(r);
          if (next !== undefined) keepers.set(name, next); // cookie mode re-issues
        }
        if (process.stderr.isTTY) process.stderr.write(`\r${Math.ceil((deadline - performance.now()) / 1000)} s left, ${requests} requests   `);
        await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
      }
    })();
    const started = performance.now();
    await Promise.all([...Array.from({ length: WORKERS }, (_, i) => worker(Number(values.seed) * 1000 + i)), sampler]);
    const elapsedS = (performance.now() - started) / 1000;
    if (process.stderr.isTTY) process.stderr.write('\n');

    let keepersLost = 0;
    for (const cookie of keepers.values()) if ((await send(port, 'GET', '/session', { cookie })).status !== 200) keepersLost++;
    const adminAlive = (await send(port, 'GET', '/session', { cookie: admin })).status === 200;
    const final = readRss(server.pid);
    const fiveXx = [...byStatus].filter(([s]) => s >= 500 && s !== 503).reduce((n, [, c]) => n + c, 0);
    const internalErrors = (server.stderr.match(/"internal_error"/g) ?? []).length;
    const env = environment();
    const peakRss = final?.peakRssBytes ?? Number.NaN;
    const withinBudget = peakRss <= profile.memoryBudgetBytes;
    const result = {
      ...env,
      profile: profile.name, mode, seconds: Math.round(elapsedS), workers: WORKERS, scrypt: `bench-only N=2^${SOAK_SCRYPT.logN} r=${SOAK_SCRYPT.r} p=${SOAK_SCRYPT.p}`,
      requests, requestsPerSecond: Math.round(requests / elapsedS),
      byStatus: Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])),
      byAction: Object.fromEntries(byAction),
      fiveXxExcluding503: fiveXx, busy503: byStatus.get(503) ?? 0, connectionErrors: byStatus.get(0) ?? 0,
      rulesBroken: brokenCount, rulesBrokenExamples: broken, internalErrors,
      rssMinBytes: Math.min(...rssSamples), rssMaxBytes: Math.max(...rssSamples), peakRssBytes: peakRss, budgetBytes: profile.memoryBudgetBytes, withinBudget,
      keepers: KEEPERS, keeperCheckFailures: keeperFailures, keepersLost, adminAlive,
    };
    const MiB = (n: number) => formatNumber(n / 1024 / 1024, 1);
    const md = [
      `## Soak: ${profile.name}, ${mode} mode, ${result.seconds} s (${String(env['date']).slice(0, 10)}, Node ${String(env['node'])})`,
      '',
      markdownTable(['measure', 'value', 'goal'], [
        ['requests served', `${formatNumber(requests)} (${formatNumber(result.requestsPerSecond)}/s, ${WORKERS} clients)`, ''],
        ['answers by status', Object.entries(result.byStatus).map(([s, c]) => `${s}: ${formatNumber(c)}`).join(', '), ''],
        ['5xx other than 503 busy', String(fiveXx), '0'],
        ['503 busy (hashing bound, with Retry-After)', formatNumber(result.busy503), 'bounded'],
        ['connection errors', String(result.connectionErrors), '0'],
        ['answers breaking the rules (e.g. a session for a bogus credential)', String(brokenCount), '0'],
        ['internal_error log lines', String(internalErrors), '0'],
        ['RSS min / max (sampled each second)', `${MiB(result.rssMinBytes)} / ${MiB(result.rssMaxBytes)} MiB`, ''],
        ['peak RSS (VmHWM)', `${MiB(result.peakRssBytes)} MiB${withinBudget ? '' : ' — OVER BUDGET'}`, `<= ${MiB(profile.memoryBudgetBytes)} MiB (profile budget)`],
        ['keeper sessions lost', `${keepersLost} of ${KEEPERS} (${keeperFailures} failed checks)`, '0'],
      ]),
      '',
      `Mix: ${MIX.map(([a, w]) => `${a} ${w}%`).join(', ')}. Users hashed at scrypt ${result.scrypt}, which the server also runs as its own cost (--insecure-scrypt-below-owasp, instead of the profile's N=2^${profile.scryptLogN} p=${profile.scryptP}), so no hash is upgraded; unknown names cost what a wrong password costs, as in production. The server runs with MALLOC_MMAP_THRESHOLD_=${MMAP_THRESHOLD}${MMAP_THRESHOLD === LAUNCH_MMAP_THRESHOLD ? ', the launch environment the README documents' : ' (not the documented launch environment)'}.`,
      broken.length > 0 ? `\nRules broken (first ${broken.length}): ${broken.join('; ')}` : '',
    ].join('\n');
    process.stdout.write(`${md}\n`);
    writeResults('soak', result, md);
    const ok = fiveXx === 0 && brokenCount === 0 && keepersLost === 0 && keeperFailures === 0 && internalErrors === 0 && adminAlive && result.connectionErrors === 0 && withinBudget;
    return ok ? 0 : 1;
  } finally {
    agent.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench('soak', main);
