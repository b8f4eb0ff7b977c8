/**
 * The README's Caddyfile, run by Debian's Caddy (2.6) exactly as printed there, except for
 * the ports (Caddy on a free port, which is also the non-default-port case) and a global
 * block that turns Caddy's admin API off (several test runs share this machine).
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapt, readmeRecipe } from '../support/readme.js';
import { checkForwardAuthRecipe, freePort, PUBLIC_NAME, waitForHttp } from './forward-auth.js';

const CADDY = ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((p) => spawnSync(p, ['version']).status === 0);

export function caddyfile(p: { listen: number; ringlet: number; app: number }): string {
  const site = adapt(readmeRecipe('caddy'), [
    [`http://${PUBLIC_NAME} {`, `http://${PUBLIC_NAME}:${p.listen} {`],
    ['127.0.0.1:8080', `127.0.0.1:${p.ringlet}`],
    ['127.0.0.1:8081', `127.0.0.1:${p.app}`],
  ]);
  return `{\n\tadmin off\n}\n\n${site}`;
}

t.test('the README Caddyfile, run by Caddy', { skip: CADDY ? false : 'caddy is not installed (apt-get install caddy); .ci/run installs it' }, async (t) => {
  t.test('it adapts without warnings', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ringlet-caddy-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'Caddyfile'), caddyfile({ listen: 8443, ringlet: 8080, app: 8081 }));
    const r = spawnSync(CADDY as string, ['adapt', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { encoding: 'utf8', env: { ...process.env, HOME: dir } });
    t.equal(r.status, 0, r.stderr);
    t.notMatch(r.stderr, /WARN/, 'no warnings (formatting included)');
  });
  await checkForwardAuthRecipe(t, async (ringletPort, appPort) => {
    const dir = mkdtempSync(join(tmpdir(), 'ringlet-caddy-'));
    const listen = await freePort();
    writeFileSync(join(dir, 'Caddyfile'), caddyfile({ listen, ringlet: ringletPort, app: appPort }));
    const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
    const caddy = spawn(CADDY as string, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    caddy.stderr.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    caddy.on('exit', () => (exited = true));
    await waitForHttp(listen, 'caddy', () => !exited, () => log);
    return {
      port: listen,
      stop: async () => {
        if (!exited) {
          const gone = new Promise((r) => caddy.once('exit', r));
          caddy.kill('SIGTERM');
          await gone;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
