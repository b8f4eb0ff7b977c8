/**
 * The README's container recipe. Always: the Dockerfile and `docker run` line against the
 * container-64mb profile (Node flags, launch environment, memory limit), a non-root user, a
 * read-only root with the snapshot on a tmpfs, and the image's ENTRYPOINT + CMD and
 * healthcheck command run against an install made by the install recipe. Where a container
 * engine and the base image are available: the image is built and run, and must become
 * healthy; otherwise that part is skipped with the reason.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadProfile } from '../../src/config/profile.js';
import { adapt, commandsStartingWith, readmeRecipe } from '../support/readme.js';
import { npmInstallFromRecipe, packThisCheckout, recipeEnv, startCliServer, TARBALL } from '../support/install.js';
import { sendRequest } from '../support/http.js';

const MiB = 1024 * 1024;
/** The `node` user of the official node images. */
const NODE_IMAGE_UID = '1000';

interface Dockerfile {
  from: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck: { options: string; cmd: string[] };
}

/** The instructions this recipe uses (continuations joined; exec-form arrays parsed as JSON). */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const one = (name: string): string => {
    const found = lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
    if (found.length !== 1) throw new Error(`Dockerfile: expected one ${name}, found ${found.length}`);
    return found[0] as string;
  };
  const env: Record<string, string> = {};
  for (const l of lines.filter((x) => x.startsWith('ENV '))) {
    for (const assignment of l.slice(4).split(/\s+/)) env[assignment.slice(0, assignment.indexOf('='))] = assignment.slice(assignment.indexOf('=') + 1);
  }
  const health = /^(.*?)\s*CMD (\[.*\])$/.exec(one('HEALTHCHECK'));
  if (health === null) throw new Error('Dockerfile: HEALTHCHECK without an exec-form CMD');
  return {
    from: one('FROM'),
    env,
    user: one('USER'),
    entrypoint: JSON.parse(one('ENTRYPOINT')) as string[],
    cmd: JSON.parse(one('CMD')) as string[],
    healthcheck: { options: health[1] as string, cmd: JSON.parse(health[2] as string) as string[] },
  };
}

function argAfter(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at === -1 ? undefined : argv[at + 1];
}

const dockerfileText = readmeRecipe('dockerfile');
const dockerfile = parseDockerfile(dockerfileText);
const [runLine] = commandsStartingWith(readmeRecipe('container-run'), 'docker run');
const [setupLine] = commandsStartingWith(readmeRecipe('container-setup'), 'docker run');
const [buildLine] = commandsStartingWith(readmeRecipe('container-build'), 'docker build');
const profile = loadProfile(argAfter(dockerfile.cmd, '--profile') ?? 'none');

t.test('the Dockerfile and docker run line carry container-64mb', (t) => {
  t.equal(profile.name, 'container-64mb');
  t.same(dockerfile.entrypoint.slice(1, -1), profile.nodeFlags, 'ENTRYPOINT: exactly the profile\'s Node flags');
  t.same(dockerfile.entrypoint[0], 'node');
  t.equal(dockerfile.entrypoint.at(-1), '/opt/ringlet/bin/ringlet', 'the CLI the install recipe links');
  t.same(dockerfile.env, profile.launchEnv, 'ENV: exactly the profile\'s launch environment');
  t.match(dockerfile.from, /^node:20-bookworm-slim$/, 'a glibc (Debian) image, as the launch environment assumes');
  t.notOk(['root', '0', ''].includes(dockerfile.user), `USER ${dockerfile.user}: not root`);
  t.match(dockerfileText, `COPY ${TARBALL} /tmp/`, 'installs the tarball the install recipe packs');
  t.match(dockerfile.healthcheck.cmd.join(' '), /GET \/healthz HTTP/, 'the healthcheck asks /healthz');
  t.notOk(dockerfile.healthcheck.cmd.includes('node'), 'without a second node process in a 64 MiB limit');

  const run = runLine as string[];
  t.ok(run.includes('--read-only'), 'read-only root filesystem');
  t.equal(argAfter(run, '--memory'), `${profile.memoryBudgetBytes / MiB}m`, '--memory is the profile\'s budget');
  t.equal(argAfter(run, '--memory-swap'), argAfter(run, '--memory'), 'and no swap beyond it');
  const tmpfs = argAfter(run, '--tmpfs') ?? '';
  const [tmpfsPath, tmpfsOptions] = tmpfs.split(':');
  t.equal(tmpfsPath, dirname(argAfter(dockerfile.cmd, '--snapshot') ?? ''), 'the snapshot is on the tmpfs');
  t.match(tmpfsOptions, `uid=${NODE_IMAGE_UID}`, 'owned by the image\'s user');
  const volume = argAfter(run, '-v') ?? '';
  t.equal(volume.split(':')[1], dirname(argAfter(dockerfile.cmd, '--users') ?? ''), 'the users file on the volume');
  t.equal(volume.split(':')[1], dirname(argAfter(dockerfile.cmd, '--keys') ?? ''), 'the keys file on the volume');
  t.equal(run.at(-1), (buildLine as string[])[(buildLine as string[]).indexOf('-t') + 1], 'runs the image the build line tags');
  const setup = setupLine as string[];
  t.ok(setup.includes('--read-only') && setup.includes(volume), 'the admin is created on the same volume');
  t.end();
});

t.test('the image\'s ENTRYPOINT + CMD and healthcheck, run from an install', async (t) => {
  const packed = packThisCheckout();
  t.teardown(() => packed.remove());
  const prefix = npmInstallFromRecipe('install', packed, { cwd: packed.dir, prefix: ['/opt/ringlet', join(packed.dir, 'opt/ringlet')] });
  const data = mkdtempSync(join(tmpdir(), 'ringlet-data-'));
  const run = mkdtempSync(join(tmpdir(), 'ringlet-run-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  t.teardown(() => rmSync(run, { recursive: true, force: true }));
  const map = (words: readonly string[], extra: ReadonlyArray<readonly [string, string]> = []) =>
    adapt(words.join('\n'), [['/opt/ringlet', prefix], ['/data', data], ...extra]).split('\n').map((w) => (w === 'node' ? process.execPath : w));

  const setup = setupLine as string[];
  const passwd = setup.slice(setup.indexOf('ringlet', setup.indexOf('-v')) + 1);
  const r = spawnSync(process.execPath, map([...dockerfile.entrypoint.slice(1), ...passwd]), { input: 'a container admin passphrase\n', encoding: 'utf8', env: recipeEnv(dockerfile.env) });
  t.equal(r.status, 0, `the setup's passwd: ${r.stderr}`);

  const server = await startCliServer(map([...dockerfile.entrypoint, ...dockerfile.cmd], [['/run/ringlet', run], ['--host\n0.0.0.0', '--host\n127.0.0.1'], ['--port\n8080', '--port\n0']]), recipeEnv(dockerfile.env));
  t.teardown(() => server.stop());
  t.notMatch(server.stderr(), /Node flags are not set|launch environment/, 'no warning about Node flags or launch environment');
  t.notMatch(server.stdout(), /password/, 'no generated password in the logs');
  t.equal((await sendRequest(server.port, 'GET', '/healthz', { headers: { host: '127.0.0.1' } })).status, 200);

  const healthcheck = (port: number) => {
    const [cmd, ...args] = adapt(dockerfile.healthcheck.cmd.join('\n'), [['/dev/tcp/127.0.0.1/8080', `/dev/tcp/127.0.0.1/${port}`]]).split('\n');
    return spawnSync(cmd as string, args, { encoding: 'utf8', timeout: 10_000 }).status;
  };
  t.equal(healthcheck(server.port), 0, 'the healthcheck passes against the running server');
  await server.stop();
  t.not(healthcheck(server.port), 0, 'and fails once it is gone');
  t.ok(existsSync(join(run, 'snapshot.bin')), 'the snapshot went to the tmpfs path on stop');
});

function engine(): { bin: string; reason?: undefined } | { bin?: undefined; reason: string } {
  for (const bin of ['docker', 'podman']) {
    if (spawnSync(bin, ['--version']).status !== 0) continue;
    if (spawnSync(bin, ['info'], { timeout: 20_000 }).status !== 0) return { reason: `${bin} is installed but no container engine answers (${bin} info fails): the image was not built here` };
    if (spawnSync(bin, ['image', 'inspect', dockerfile.from], { timeout: 20_000 }).status !== 0) return { reason: `the base image ${dockerfile.from} is not present (${bin} pull ${dockerfile.from})` };
    return { bin };
  }
  return { reason: 'no container engine (docker or podman) is installed: the image was not built here' };
}

const found = engine();
t.test('build and run the image', { skip: found.reason ?? false }, async (t) => {
  const bin = found.bin as string;
  const context = mkdtempSync(join(tmpdir(), 'ringlet-image-'));
  t.teardown(() => rmSync(context, { recursive: true, force: true }));
  const packed = packThisCheckout();
  t.teardown(() => packed.remove());
  copyFileSync(packed.tarball, join(context, TARBALL));
  writeFileSync(join(context, 'Dockerfile'), dockerfileText);
  const tag = `ringlet-test-${process.pid}`;
  const volume = `${tag}-data`;
  execFileSync(bin, ['build', '-q', '-t', tag, context], { stdio: 'ignore', timeout: 600_000 });
  t.teardown(() => void spawnSync(bin, ['image', 'rm', '-f', tag]));
  execFileSync(bin, ['volume', 'create', volume], { stdio: 'ignore' });
  t.teardown(() => void spawnSync(bin, ['volume', 'rm', '-f', volume]));
  // The README's run line, with this test's names, an ephemeral host port and a 1 s health interval.
  const run = (runLine as string[]).slice(2);
  const args = adapt(run.join('\n'), [['--name\nringlet', `--name\n${tag}`], ['ringlet-data:/data', `${volume}:/data`], ['-p\n8080:8080', '-p\n127.0.0.1::8080']]).split('\n');
  args.splice(args.length - 1, 1, '--health-interval', '1s', tag);
  const id = execFileSync(bin, ['run', ...args], { encoding: 'utf8' }).trim();
  t.teardown(() => void spawnSync(bin, ['rm', '-f', id]));
  let status = '';
  for (let i = 0; i < 60 && status !== 'healthy'; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    status = execFileSync(bin, ['inspect', '--format', '{{.State.Health.Status}}', id], { encoding: 'utf8' }).trim();
  }
  t.equal(status, 'healthy', 'the container becomes healthy');
  const user = execFileSync(bin, ['exec', id, 'id', '-u'], { encoding: 'utf8' }).trim();
  t.equal(user, NODE_IMAGE_UID, 'runs as the node user');
  const port = Number(execFileSync(bin, ['port', id, '8080'], { encoding: 'utf8' }).trim().split(':').at(-1));
  t.equal((await sendRequest(port, 'GET', '/healthz', { headers: { host: '127.0.0.1' } })).status, 200, '/healthz through the published port');
  const logs = execFileSync(bin, ['logs', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.notMatch(logs, /Node flags are not set|launch environment/, 'no launch warning in the logs');
});
