/**
 * The README's nginx `auth_request` recipe, run by Debian's nginx exactly as printed there,
 * except for the ports (nginx on a free port, which is also the non-default-port case) and
 * the http-context lines a full nginx.conf needs around it.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapt, readmeRecipe } from '../support/readme.js';
import { checkForwardAuthRecipe, freePort, waitForHttp } from './forward-auth.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);

/** The README's block inside a minimal nginx.conf, pointed at this test's ports and a temp prefix. */
export function nginxConf(p: { listen: number; ringlet: number; app: number; prefix: string }): string {
  const site = adapt(readmeRecipe('nginx'), [
    ['listen 80;', `listen 127.0.0.1:${p.listen};`],
    ['127.0.0.1:8080', `127.0.0.1:${p.ringlet}`],
    ['127.0.0.1:8081', `127.0.0.1:${p.app}`],
  ]);
  return `
worker_processes 1;
user root;
error_log ${p.prefix}/error.log warn;
pid ${p.prefix}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${p.prefix}/body;
  proxy_temp_path ${p.prefix}/proxy;
  fastcgi_temp_path ${p.prefix}/fastcgi;
  uwsgi_temp_path ${p.prefix}/uwsgi;
  scgi_temp_path ${p.prefix}/scgi;
${site}
}
`;
}

t.test('the README nginx auth_request recipe, run by nginx', { skip: NGINX ? false : 'nginx is not installed (apt-get install nginx-light); .ci/run installs it' }, async (t) => {
  await checkForwardAuthRecipe(t, async (ringletPort, appPort) => {
    const prefix = mkdtempSync(join(tmpdir(), 'ringlet-nginx-'));
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d));
    const listen = await freePort();
    writeFileSync(join(prefix, 'nginx.conf'), nginxConf({ listen, ringlet: ringletPort, app: appPort, prefix }));
    const nginx = spawn(NGINX as string, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    let exited = false;
    nginx.on('exit', () => (exited = true));
    const errorLog = () => {
      try {
        return readFileSync(join(prefix, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    };
    await waitForHttp(listen, 'nginx', () => !exited, errorLog);
    return {
      port: listen,
      stop: async () => {
        if (!exited) {
          const gone = new Promise((r) => nginx.once('exit', r));
          nginx.kill('SIGTERM');
          await gone;
        }
        rmSync(prefix, { recursive: true, force: true });
      },
    };
  });
});
