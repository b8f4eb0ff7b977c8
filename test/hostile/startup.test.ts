/**
 * Corrupted files at start-up: `ringlet serve` must exit with code 2 and a message naming
 * the file and the problem, and never listen (no half-started server). Spawns the built
 * CLI (dist/ringlet.js, the package's `bin`).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateJwks } from '../../src/codec/index.js';
import { createFirstStartUsers, saveUsersFile } from '../../src/users/index.js';

/** The shipped bundle (the package's `bin`): dist/ringlet.js. */
const CLI = fileURLToPath(new URL('../../ringlet.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function serve(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    // A server that did start would run forever: give up after 10 s and report it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => { socket.destroy(); resolve(false); });
    socket.on('error', () => resolve(true));
  });
}

t.test('corrupted users, keys and profile files: exit 2, the file and the problem named, nothing listening', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringlet-hostile-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const goodUsers = join(dir, 'good-users.json');
  saveUsersFile(goodUsers, createFirstStartUsers({ logN: 10, r: 8, p: 1 }).db);
  const goodKeys = join(dir, 'good-keys.json');
  writeFileSync(goodKeys, JSON.stringify(generateJwks()), { mode: 0o600 });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const shortKey = generateJwks();
  shortKey.keys[0]!.k = Buffer.alloc(16, 1).toString('base64url');

  const cases: Array<{ title: string; args: string[]; stderr: RegExp[] }> = [
    { title: 'users file: truncated JSON', args: ['--users', file('users-truncated.json', '{"version":1,"users":[{"name":"admin"'), '--keys', goodKeys],
      stderr: [/users-truncated\.json/, /invalid JSON at line 1 column \d+/] },
    { title: 'users file: wrong version', args: ['--users', file('users-v2.json', '{"version":2,"users":[]}'), '--keys', goodKeys],
      stderr: [/users-v2\.json/, /version: unsupported \(expected 1\)/] },
    { title: 'users file: binary garbage', args: ['--users', file('users-binary.json', '\u0000\u00ff\u0001garbage'), '--keys', goodKeys],
      stderr: [/users-binary\.json/, /invalid JSON/] },
    { title: 'keys file: not JSON', args: ['--users', goodUsers, '--keys', file('keys-broken.json', '{"keys":[')],
      stderr: [/keys-broken\.json/, /not valid JSON/] },
    { title: 'keys file: a key of the wrong length', args: ['--users', goodUsers, '--keys', file('keys-short.json', JSON.stringify(shortKey))],
      stderr: [/keys-short\.json/, /keys\[0\]\.k/, /exactly 32 bytes, got 16/] },
    { title: 'keys file: no keys', args: ['--users', goodUsers, '--keys', file('keys-empty.json', '{"keys":[]}')],
      stderr: [/keys-empty\.json/, /non-empty array/] },
    { title: 'profile: not JSON', args: ['--users', goodUsers, '--keys', goodKeys, '--profile', file('profile-broken.json', '{"name":"x",')],
      stderr: [/profile-broken\.json/, /not valid JSON/] },
    { title: 'profile: a field out of range', args: ['--users', goodUsers, '--keys', goodKeys, '--profile', file('profile-range.json', JSON.stringify({ name: 'bad', capacity: 0 }))],
      stderr: [/profile-range\.json/, /capacity/] },
  ];
  // All at once: each child fails (or would hang) on its own port.
  const runs = await Promise.all(cases.map(async (c) => {
    const port = await freePort();
    return { c, port, result: await serve([...c.args, '--port', String(port)]) };
  }));
  for (const { c, port, result } of runs) {
    t.equal(result.code, 2, `${c.title}: exit code 2`);
    for (const re of c.stderr) t.match(result.stderr, re, `${c.title}: stderr says ${re}`);
    t.match(result.stderr, /^ringlet: configuration error: /m, `${c.title}: one clear error line`);
    t.notMatch(result.stderr, /"event":"listening"/, `${c.title}: never announced listening`);
    t.notMatch(result.stderr, /\n\s+at /, `${c.title}: no stack trace`);
    t.ok(await refused(port), `${c.title}: nothing listens on the port`);
  }
});
