/** The README's route-policy table is the route-policy table: rendered here and compared verbatim. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROUTE_TABLE, type PolicyMethod, type RoutePolicy } from '../../src/server/route-policy.js';

const METHOD_LABEL: Record<PolicyMethod, string> = { GET: 'GET', POST: 'POST', OTHER: 'other methods', UPGRADE: 'WebSocket upgrade' };
const CSRF_LABEL: Record<RoutePolicy['csrf'], string> = { none: '—', origin: 'same origin', token: 'token + same origin', 'login-form': 'login form token + same origin' };

function row(path: string, method: PolicyMethod, p: RoutePolicy): string {
  const session = p.authentication === 'none' ? 'no' : p.authentication === 'optional' ? 'if present' : p.openToLoopback ? 'yes (not from loopback)' : 'yes';
  const cells = [`\`${path === '*' ? 'upstream (any other path)' : path}\``, METHOD_LABEL[method], session, p.role ?? '—', p.permission === undefined ? '—' : `\`${p.permission}\``, CSRF_LABEL[p.csrf], p.beforePasswordChange ? 'yes' : 'no'];
  return `| ${cells.join(' | ')} |`;
}

t.test('README lists every route policy exactly as declared', async (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  const expected = [
    '| route | method | session | role | permission | CSRF (cookie sessions) | before password change |',
    '|---|---|---|---|---|---|---|',
    ...ROUTE_TABLE.flatMap((r) => (Object.entries(r.methods) as Array<[PolicyMethod, RoutePolicy]>).map(([m, p]) => row(r.path, m, p))),
  ].join('\n');
  t.ok(readme.includes(expected), `README must contain the route-policy table:\n${expected}`);
});
