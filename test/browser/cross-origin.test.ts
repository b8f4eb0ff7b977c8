/**
 * Forms on another origin posting to ringlet's state-changing routes, in a real browser.
 * The other origin is another port on 127.0.0.1: a different origin but the SAME SITE, so
 * the SameSite=Strict session cookie IS sent along, and only ringlet's Origin / Fetch
 * Metadata and CSRF checks stand in the way. Some forms even carry the victim's real CSRF
 * token, so the refusal has to come from the origin check. A control posts the very same
 * form from ringlet's own origin (a page of the proxied device UI) and succeeds.
 */
import t, { type Test } from 'tap';
import { jsonLogin } from '../support/server.js';
import {
  ADMIN_PATH, ADMIN_TEXT, MODES, PASSWORD, adminOverHttp, formPage, pathOf, sessionCookieValue, signIn, skipWithoutChromium, startAdminUi, startStack, browserForFile, userWithPassword,
} from './harness.js';

const openPage = await browserForFile();
const newPage = (t: Test) => openPage!(t);

interface Attack {
  name: string;
  path: string;
  /** `csrf` is replaced by the victim's real token when `stolenToken` is set. */
  fields: Record<string, string>;
  stolenToken: boolean;
  /** The `reason` ringlet logs with `csrf_refused`. */
  reason: 'origin' | 'login';
}

const ATTACKS: Attack[] = [
  { name: 'logout without a token', path: '/logout', fields: {}, stolenToken: false, reason: 'origin' },
  { name: 'logout with the victim\'s own CSRF token', path: '/logout', fields: { csrf: '' }, stolenToken: true, reason: 'origin' },
  { name: 'sign out everywhere with the stolen token', path: '/sessions/revoke-user', fields: { csrf: '', user: 'admin' }, stolenToken: true, reason: 'origin' },
  { name: 'password change with the stolen token', path: '/password', fields: { csrf: '', current_password: PASSWORD, new_password: 'attacker chosen pw', confirm_password: 'attacker chosen pw', next: '/' }, stolenToken: true, reason: 'origin' },
  { name: 'login CSRF (sign the victim in as someone)', path: '/login', fields: { username: 'admin', password: PASSWORD, csrf: 'x', next: '/' }, stolenToken: false, reason: 'login' },
  // The users page's forms: an admin's browser must never add, re-role, reset or remove for another site.
  { name: 'add an admin with the stolen token', path: '/users/add', fields: { csrf: '', user: 'mallory', role: 'admin' }, stolenToken: true, reason: 'origin' },
  { name: 'make someone admin with the stolen token', path: '/users/role', fields: { csrf: '', user: 'victim', role: 'admin', confirm: 'yes' }, stolenToken: true, reason: 'origin' },
  { name: 'reset a password with the stolen token', path: '/users/reset', fields: { csrf: '', user: 'victim', confirm: 'yes' }, stolenToken: true, reason: 'origin' },
  { name: 'remove a user with the stolen token', path: '/users/remove', fields: { csrf: '', user: 'victim', confirm: 'yes' }, stolenToken: true, reason: 'origin' },
  { name: 'add a user without a token', path: '/users/add', fields: { user: 'mallory2', role: 'admin' }, stolenToken: false, reason: 'origin' },
];

for (const mode of MODES) {
  t.test(`${mode} mode: forms from another origin on the same site are refused, the session stays`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const api = await adminOverHttp(stack);
    await userWithPassword(stack, api, 'victim', 'viewer', 'the victim\'s passphrase');
    const usersBefore = (await stack.ringlet.request('GET', '/users', { headers: { cookie: api.cookie } })).json;
    const other = await startAdminUi();
    t.teardown(() => other.close());
    t.not(new URL(other.origin).port, new URL(stack.base).port, 'another origin, same host: the same site');
    const page = await newPage(t);
    await signIn(page, stack);
    const cookie = await sessionCookieValue(page, stack.base);
    t.ok(cookie);
    await page.goto(`${stack.base}/sessions`);
    const token = /name="csrf" value="([^"]+)"/.exec(await page.html())?.[1];
    t.ok(token, 'the session\'s CSRF token (as if stolen)');

    for (const [i, attack] of ATTACKS.entries()) {
      const fields = attack.stolenToken ? { ...attack.fields, csrf: token ?? '' } : attack.fields;
      other.pages.set(`/attack/${i}`, formPage(stack.base + attack.path, fields));
      const refusedBefore = stack.ringlet.logEvents('csrf_refused').length;
      await page.goto(`${other.origin}/attack/${i}`);
      await page.clickAndWait('#go');
      t.equal(page.lastDocument?.status, 403, `${attack.name}: 403`);
      t.equal(new URL(page.lastDocument?.url ?? 'about:blank').pathname, attack.path, `${attack.name}: answered by ${attack.path} itself`);
      const refused = stack.ringlet.logEvents('csrf_refused').slice(refusedBefore);
      t.same(refused.map((e) => e['reason']), [attack.reason], `${attack.name}: refused by the origin check`);
      t.equal(await sessionCookieValue(page, stack.base), cookie, `${attack.name}: the session cookie is unchanged`);
    }

    await page.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(page), ADMIN_PATH, 'still signed in');
    t.match(await page.html(), ADMIN_TEXT);
    t.equal((await jsonLogin(stack.ringlet, 'admin', PASSWORD)).status, 200, 'and the password was not changed');
    const usersAfter = (await stack.ringlet.request('GET', '/users', { headers: { cookie: api.cookie } })).json;
    t.same(usersAfter.users.map((u: Record<string, unknown>) => [u['name'], u['role'], u['mustChangePassword']]),
      usersBefore.users.map((u: Record<string, unknown>) => [u['name'], u['role'], u['mustChangePassword']]), 'no user added, re-roled, reset or removed');
    t.equal((await jsonLogin(stack.ringlet, 'victim', 'the victim\'s passphrase')).status, 200, 'the victim\'s password still works');

    // Control: the same stolen-token logout form, served from ringlet's own origin (a page
    // of the proxied device UI), is accepted: the refusals above were about the origin.
    stack.ui.pages.set('/admin/logout-form', formPage('/logout', { csrf: token ?? '' }));
    await page.goto(`${stack.base}/admin/logout-form`);
    await page.clickAndWait('#go');
    t.equal(await pathOf(page), '/login?loggedout=1', 'control: the same form from the same origin signs out');
    t.equal(await sessionCookieValue(page, stack.base), undefined);
  });
}
