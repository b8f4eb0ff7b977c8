/**
 * The README's install recipes, run: `npm pack` of this checkout and the recipe's own
 * `npm install --global --prefix ...` line, then the installed CLI through the link npm
 * made; the OpenWrt variant staged, archived and unpacked into a directory standing for the
 * router's `/`. (The recipes' `npm ci && npm run build` is what this suite's build did.)
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { loadProfile } from '../../src/config/profile.js';
import { commandsStartingWith, readmeRecipe } from '../support/readme.js';
import { npmInstallFromRecipe, packThisCheckout, PACKAGE_BIN, TARBALL } from '../support/install.js';

const PROFILES = ['embedded-default', 'rpi-zero-2w', 'rpi-4', 'openwrt-256mb', 'container-64mb', 'ap-cookie'];

function runCli(bin: string, args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' }, timeout: 60_000 });
}

t.test('install: npm pack, then npm install --global --prefix /opt/ringlet', (t) => {
  const recipe = readmeRecipe('install');
  t.match(recipe, /^npm ci && npm run build && npm pack$/m, 'builds and packs this checkout');
  const packed = packThisCheckout();
  t.teardown(() => packed.remove());
  const files = execFileSync('tar', ['-tzf', packed.tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
  t.ok(files.includes(`package/${PACKAGE_BIN}`), `${TARBALL} holds the CLI (${PACKAGE_BIN})`);
  for (const name of PROFILES) t.ok(files.includes(`package/device-profiles/${name}.json`), `and device-profiles/${name}.json`);
  t.same(files.filter((f) => /^package\/(dist\/(test|bench)|src|test|bench|node_modules)\//.test(f)), [], 'and no sources, tests, benches or modules');
  const prefix = npmInstallFromRecipe('install', packed, { cwd: packed.dir, prefix: ['/opt/ringlet', join(packed.dir, 'opt/ringlet')] });
  const bin = join(prefix, 'bin', 'ringlet');
  t.equal(realpathSync(bin), realpathSync(join(prefix, 'lib/node_modules/ringlet', PACKAGE_BIN)), 'bin/ringlet links to the package\'s bin entry');
  const version = runCli(bin, ['--version']);
  t.equal(version.status, 0, version.stderr);
  const check = runCli(bin, ['profile', 'check', 'container-64mb']);
  t.equal(check.status, 0, 'the installed CLI finds the device profiles through the link');
  t.match(check.stdout, `node flags   ${loadProfile('container-64mb').nodeFlags.join(' ')}`);
  t.end();
});

t.test('OpenWrt: staged install, archived, unpacked at the router\'s /', (t) => {
  const recipe = readmeRecipe('openwrt-install');
  const packed = packThisCheckout();
  t.teardown(() => packed.remove());
  npmInstallFromRecipe('openwrt-install', packed, { cwd: packed.dir });
  const tarLines = commandsStartingWith(recipe, 'tar ');
  t.equal(tarLines.length, 1, 'one tar line');
  const [tar, ...tarArgs] = tarLines[0] as string[];
  execFileSync(tar as string, tarArgs, { cwd: packed.dir });
  // The recipe's last line pipes the archive into `tar -xzf - -C /` on the router over ssh.
  t.match(recipe, /^ssh root@openwrt\.lan '.*tar -xzf - -C \/' < ringlet-openwrt\.tgz$/m, 'the router unpacks it at /');
  const root = join(packed.dir, 'router-root');
  mkdirSync(root);
  execFileSync('tar', ['-xzf', join(packed.dir, 'ringlet-openwrt.tgz'), '-C', root]);
  const bin = join(root, 'usr/lib/ringlet/bin/ringlet');
  const check = runCli(bin, ['profile', 'check', 'openwrt-256mb']);
  t.equal(check.status, 0, `/usr/lib/ringlet/bin/ringlet runs after unpacking: ${check.stderr}`);
  t.match(check.stdout, /environment  \(none\)/, 'musl: no launch environment');
  t.end();
});
