/**
 * Codec benchmark: JWE seal/open, JWT sign/verify and Cookie parsing, each against a
 * floor measured in the same run, interleaved round by round, median reported.
 *
 * Floors ("the physical floor"): the same claims object, JSON.stringify'd, through raw
 * node:crypto AES-256-GCM (fixed IV, no base64url, no header) or raw HMAC-SHA-256 (no
 * header, no base64url); the open/verify floors include JSON.parse. The cookie floor is a
 * naive split-based parser. Correctness is checked before anything is timed. Tokens are
 * opened/verified as flat strings, the form they have when read from a request.
 *
 * Run: npm run bench:codecs (or, after a build, node dist/bench/codecs.js).
 * Targets (reported, not asserted): JWE ≥ 0.9× the AES-GCM floor, JWT ≥ 0.9× the HMAC
 * floor, a typical admin session cookie ≤ 300 characters.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import {
  generateJwks,
  getCookieValues,
  loadKeyRing,
  openJwe,
  parseCookieHeader,
  sealJwe,
  serializeSetCookie,
  signJwt,
  verifyJwt,
} from '../src/codec/index.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
/** Each timed batch runs about this long, so timer resolution does not matter. */
const BATCH_MS = Number(process.env['BENCH_BATCH_MS'] ?? 60);

const ring = loadKeyRing(generateJwks());
const nowSeconds = Math.floor(Date.now() / 1000);
/** A typical admin session: user, role, CSRF token, times (README, "Cookie mode, bearer tokens and keys"). */
const claims = { sub: 'admin', role: 'admin', csrf: 'q1w2e3r4t5y6u7i8o9p0aZ', iat: nowSeconds, exp: nowSeconds + 3600 };
const json = JSON.stringify(claims);

// Raw floors use their own copies of the same key kinds.
const aesKey = createSecretKey(Buffer.alloc(32, 1));
const hmacKey = createSecretKey(Buffer.alloc(32, 2));
const floorIv = Buffer.alloc(12, 3);
const floorSealed = rawSeal();
const floorMac = createHmac('sha256', hmacKey).update(json).digest();

function rawSeal(): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', aesKey, floorIv, { authTagLength: 16 });
  const ciphertext = cipher.update(JSON.stringify(claims), 'utf8');
  cipher.final();
  return { ciphertext, tag: cipher.getAuthTag() };
}

function rawOpen(): unknown {
  const decipher = createDecipheriv('aes-256-gcm', aesKey, floorIv, { authTagLength: 16 });
  decipher.setAuthTag(floorSealed.tag);
  const plaintext = decipher.update(floorSealed.ciphertext);
  decipher.final();
  return JSON.parse(plaintext.toString('utf8'));
}

function rawSign(): Buffer {
  return createHmac('sha256', hmacKey).update(JSON.stringify(claims)).digest();
}

function rawVerify(): unknown {
  const mac = createHmac('sha256', hmacKey).update(json).digest();
  if (!timingSafeEqual(mac, floorMac)) throw new Error('floor MAC mismatch');
  return JSON.parse(json);
}

/**
 * Tokens as a server receives them: flat strings decoded from request bytes (what the
 * HTTP parser hands over), not the concatenation (cons) strings seal/sign return.
 */
const asReceived = (token: string): string => Buffer.from(token, 'latin1').toString('latin1');
const sealed = asReceived(sealJwe(claims, ring));
const signed = asReceived(signJwt(claims, ring));
const cookieName = '__Host-ringlet';
/** What a browser sends to an admin UI: analytics cookies, a preference, our session. */
const cookieHeader = [
  '_ga=GA1.1.1234567890.1700000000',
  '_ga_ABCDEF1234=GS1.1.1700000000.3.1.1700000500.0.0.0',
  'theme=dark',
  'lang=en-GB',
  `${cookieName}=${sealed}`,
  'sidebar=collapsed',
].join('; ');
const hostileSemicolons = `${';'.repeat(100_000)}${cookieName}=x`;
const hostileBig = `big=${'x'.repeat(64 * 1024)}; ${cookieName}=x`;

function naiveParse(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (out[name] === undefined) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

interface Case {
  name: string;
  floor?: string;
  encodedLength?: number;
  run: () => unknown;
}

const cases: Case[] = [
  { name: 'floor: raw AES-256-GCM seal (JSON.stringify + GCM)', run: rawSeal },
  { name: 'JWE seal (sealJwe)', floor: 'floor: raw AES-256-GCM seal (JSON.stringify + GCM)', encodedLength: sealed.length, run: () => sealJwe(claims, ring) },
  { name: 'floor: raw AES-256-GCM open (GCM + JSON.parse)', run: rawOpen },
  { name: 'JWE open (openJwe)', floor: 'floor: raw AES-256-GCM open (GCM + JSON.parse)', encodedLength: sealed.length, run: () => openJwe(sealed, ring) },
  { name: 'floor: raw HMAC-SHA256 sign (JSON.stringify + HMAC)', run: rawSign },
  { name: 'JWT sign (signJwt)', floor: 'floor: raw HMAC-SHA256 sign (JSON.stringify + HMAC)', encodedLength: signed.length, run: () => signJwt(claims, ring) },
  { name: 'floor: raw HMAC-SHA256 verify (HMAC + compare + JSON.parse)', run: rawVerify },
  { name: 'JWT verify (verifyJwt)', floor: 'floor: raw HMAC-SHA256 verify (HMAC + compare + JSON.parse)', encodedLength: signed.length, run: () => verifyJwt(signed, ring) },
  { name: 'floor: naive split Cookie parse', encodedLength: cookieHeader.length, run: () => naiveParse(cookieHeader) },
  { name: 'Cookie parse (parseCookieHeader)', floor: 'floor: naive split Cookie parse', encodedLength: cookieHeader.length, run: () => parseCookieHeader(cookieHeader) },
  { name: 'Cookie values (getCookieValues)', floor: 'floor: naive split Cookie parse', encodedLength: cookieHeader.length, run: () => getCookieValues(cookieHeader, cookieName) },
  { name: 'hostile: 100k semicolons (getCookieValues, cap raised)', encodedLength: hostileSemicolons.length, run: () => getCookieValues(hostileSemicolons, cookieName, { maxBytes: 200_000 }) },
  { name: 'hostile: 64 kB header (default 16 KiB cap)', encodedLength: hostileBig.length, run: () => getCookieValues(hostileBig, cookieName) },
  { name: 'hostile: 64 kB header (cap raised, parsed)', encodedLength: hostileBig.length, run: () => parseCookieHeader(hostileBig, { maxBytes: 70_000 }) },
];

function checkCorrectness(): void {
  const fail = (what: string): never => {
    throw new Error(`correctness check failed: ${what}`);
  };
  if (JSON.stringify(openJwe(sealJwe(claims, ring), ring).claims) !== json) fail('JWE round trip');
  if (JSON.stringify(verifyJwt(signJwt(claims, ring), ring).claims) !== json) fail('JWT round trip');
  if (JSON.stringify(rawOpen()) !== json) fail('AES-GCM floor');
  if (JSON.stringify(rawVerify()) !== json) fail('HMAC floor');
  const parsed = parseCookieHeader(cookieHeader);
  if (parsed[cookieName] !== sealed || parsed['theme'] !== 'dark') fail('cookie parse');
  if (naiveParse(cookieHeader)[cookieName] !== sealed) fail('naive cookie parse');
  const values = getCookieValues(cookieHeader, cookieName);
  if (values.length !== 1 || values[0] !== sealed) fail('getCookieValues');
  if (getCookieValues(hostileSemicolons, cookieName, { maxBytes: 200_000 })[0] !== 'x') fail('hostile semicolons');
  if (getCookieValues(hostileBig, cookieName).length !== 0) fail('64 kB header over the cap');
  if (parseCookieHeader(hostileBig, { maxBytes: 70_000 })[cookieName] !== 'x') fail('64 kB header parsed');
  for (const c of cases) c.run();
}

/** Ops per second of one batch lasting about BATCH_MS. */
function measure(run: () => unknown, iterations: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  const elapsedNs = Number(process.hrtime.bigint() - started);
  return (iterations * 1e9) / elapsedNs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

checkCorrectness();

// Warm up and size each batch to about BATCH_MS.
const iterations = new Map<string, number>();
for (const c of cases) {
  let n = 16;
  for (;;) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) c.run();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ms >= BATCH_MS / 4) {
      iterations.set(c.name, Math.max(1, Math.round((n * BATCH_MS) / ms)));
      break;
    }
    n *= 2;
  }
}

const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved: every case once per round, so drift (thermal, GC, neighbours) hits all alike.
  for (const c of cases) samples.get(c.name)?.push(measure(c.run, iterations.get(c.name) ?? 1));
}

const medians = new Map(cases.map((c) => [c.name, median(samples.get(c.name) ?? [])]));
const rows = cases.map((c) => {
  const opsPerSecond = medians.get(c.name) ?? 0;
  const floorOps = c.floor === undefined ? undefined : medians.get(c.floor);
  return {
    case: c.name,
    opsPerSecond: Math.round(opsPerSecond),
    usPerOp: Number((1e6 / opsPerSecond).toFixed(3)),
    floor: c.floor ?? null,
    ratioToFloor: floorOps === undefined ? null : Number((opsPerSecond / floorOps).toFixed(3)),
    encodedLength: c.encodedLength ?? null,
  };
});

const sessionSetCookie = serializeSetCookie(cookieName, sealed, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
const ratio = (name: string): number => rows.find((r) => r.case === name)?.ratioToFloor ?? 0;
const targets = [
  { target: 'JWE seal ≥ 0.9× AES-GCM floor', value: ratio('JWE seal (sealJwe)'), met: ratio('JWE seal (sealJwe)') >= 0.9 },
  { target: 'JWE open ≥ 0.9× AES-GCM floor', value: ratio('JWE open (openJwe)'), met: ratio('JWE open (openJwe)') >= 0.9 },
  { target: 'JWT sign ≥ 0.9× HMAC floor', value: ratio('JWT sign (signJwt)'), met: ratio('JWT sign (signJwt)') >= 0.9 },
  { target: 'JWT verify ≥ 0.9× HMAC floor', value: ratio('JWT verify (verifyJwt)'), met: ratio('JWT verify (verifyJwt)') >= 0.9 },
  { target: 'admin session cookie (name=value) ≤ 300 chars', value: `${cookieName}=${sealed}`.length, met: `${cookieName}=${sealed}`.length <= 300 },
];

const env = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, rounds: ROUNDS, batchMs: BATCH_MS, date: new Date().toISOString() };
const table = [
  '| case | ops/s (median) | µs/op | ratio to floor | encoded length |',
  '|---|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.case} | ${r.opsPerSecond.toLocaleString('en-US')} | ${r.usPerOp} | ${r.ratioToFloor === null ? '' : `${r.ratioToFloor}×`} | ${r.encodedLength ?? ''} |`),
].join('\n');
const targetTable = [
  '| target | value | met |',
  '|---|---:|---|',
  ...targets.map((x) => `| ${x.target} | ${x.value} | ${x.met ? 'yes' : 'NO'} |`),
].join('\n');
const markdown = [
  `Codec benchmark — Node ${env.node}, ${env.cpu} (${env.cpus} CPUs), ${env.rounds} interleaved rounds of ~${env.batchMs} ms, median.`,
  '',
  table,
  '',
  `Claims: \`${json}\` (${json.length} bytes). JWE ${sealed.length} chars, JWT ${signed.length} chars, session Set-Cookie ${sessionSetCookie.length} chars.`,
  '',
  targetTable,
  '',
].join('\n');

process.stdout.write(markdown);
const resultsDir = new URL('../../bench/results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(new URL('codecs-latest.md', resultsDir), markdown);
writeFileSync(
  new URL('codecs-latest.json', resultsDir),
  `${JSON.stringify({ env, claims: json, lengths: { jwe: sealed.length, jwt: signed.length, sessionCookie: `${cookieName}=${sealed}`.length, sessionSetCookie: sessionSetCookie.length }, rows, targets }, null, 2)}\n`,
);
