/**
 * The users page in a real browser, as an appliance admin uses it, in both session modes:
 * add a user and watch them sign in with the one-time password and be made to change it;
 * demote and remove someone and see their open session end at once; the last admin kept;
 * and all of it by keyboard alone (tab order, a visible focus ring, labelled fields).
 * Forms from another origin are in cross-origin.test.ts with the other state changes.
 */
import t, { type Test } from 'tap';
import type { Page } from '../support/chromium.js';
import {
  ADMIN_PATH, ADMIN_TEXT, MODES, PASSWORD, adminOverHttp, browserForFile, pathOf, sessionCookieValue, signIn, signInAs, skipWithoutChromium,
  startStack, submitLogin, submitOf, userWithPassword, usersApi, type Stack,
} from './harness.js';

const openPage = await browserForFile();
const newPage = (t: Test) => openPage!(t);

const removeButton = (user: string) => `button[form="op-remove"][value="${user}"]`;
const roleButton = (user: string, role: string) => `button[form="op-role-${role}"][value="${user}"]`;

/** The users page's own view of a user, from the JSON list (what the file holds now). */
async function userRecord(stack: Stack, user: string): Promise<Record<string, unknown> | undefined> {
  const admin = await adminOverHttp(stack);
  const list = await stack.ringlet.request('GET', '/users', { headers: { cookie: admin.cookie } });
  return (list.json.users as Array<Record<string, unknown>>).find((u) => u['name'] === user);
}

/** What has focus: tag, text (or id), and whether its focus ring shows. */
async function focused(page: Page): Promise<{ what: string; ring: boolean; labelled: boolean; inView: boolean }> {
  return (await page.evaluate(`(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const text = (el.id ? '#' + el.id : el.textContent.replace(/\\s+/g, ' ').trim());
    return {
      what: el.tagName + ' ' + text,
      ring: el.matches(':focus-visible') && s.outlineStyle === 'solid' && s.outlineWidth === '3px',
      labelled: ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) ? el.labels.length > 0 : el.textContent.trim() !== '',
      inView: r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth,
    };
  })()`)) as { what: string; ring: boolean; labelled: boolean; inView: boolean };
}

/** Tabs through the page from the top, collecting what takes focus, until `last` has it. */
async function tabOrder(page: Page, last: string, max = 40): Promise<Array<{ what: string; ring: boolean; labelled: boolean; inView: boolean }>> {
  await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.press('Tab');
    const f = await focused(page);
    seen.push(f);
    if (f.what === last) break;
  }
  return seen;
}

for (const mode of MODES) {
  t.test(`${mode} mode: add a user → they sign in with the one-time password → forced change (no JavaScript)`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const admin = await newPage(t);
    await admin.setJavaScriptEnabled(false);
    await signIn(admin, stack);
    await admin.goto(`${stack.base}/users`);
    t.equal(admin.lastDocument?.status, 200);
    await admin.fill('#new-name', 'alice');
    await admin.clickAndWait(submitOf('/users/add'));
    t.equal(admin.lastDocument?.status, 201, 'added');
    t.equal(await pathOf(admin), '/users/add', 'the answer to the POST itself shows the password: no redirect, no URL carries it');
    const html = await admin.html();
    t.match(html, /<p role="status">alice was added as viewer.<\/p>/);
    const otp = /<dd class="otp">([^<]+)<\/dd>/.exec(html)?.[1] ?? '';
    t.match(otp, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/, 'the one-time password is on screen');

    const alice = await newPage(t);
    await alice.setJavaScriptEnabled(false);
    await alice.goto(stack.base + ADMIN_PATH);
    await submitLogin(alice, 'alice', otp);
    t.equal(await pathOf(alice), '/password?next=%2Fadmin%2Fstatus', 'alice must choose her own password first');
    t.match(await alice.html(), /You must choose a new password before continuing/);
    await alice.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(alice), '/password?next=%2Fadmin%2Fstatus', 'and cannot go round it');
    await alice.fill('#current_password', otp);
    await alice.fill('#new_password', 'alice chose this one');
    await alice.fill('#confirm_password', 'alice chose this one');
    await alice.clickAndWait(submitOf('/password'));
    t.equal(await pathOf(alice), ADMIN_PATH, 'then she reaches the device page');
    t.match(await alice.html(), 'Remote-User: alice');

    // The admin's page now lists her: password set, one session, signed in just now.
    await admin.goto(`${stack.base}/users`);
    const row = /<th scope="row">alice<\/th>(.*?)<\/tr>/.exec(await admin.html())?.[1] ?? '';
    t.match(row, /<td>viewer<\/td><td>set<\/td><td>(1 active|<span class="muted">not counted<\/span>)<\/td><td><time datetime="[^"]+">just now<\/time>/);
    t.notOk((await admin.html()).includes(otp), 'the one-time password is not shown again');
  });

  t.test(`${mode} mode: demote and remove: the user's open session ends at once`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const api = await adminOverHttp(stack);
    await userWithPassword(stack, api, 'bob', 'admin', 'bob has a passphrase');
    await userWithPassword(stack, api, 'carol', 'viewer', 'carol has a passphrase');
    const admin = await newPage(t);
    await signIn(admin, stack);
    const bob = await newPage(t);
    await signInAs(bob, stack, 'bob', 'bob has a passphrase');
    const carol = await newPage(t);
    await signInAs(carol, stack, 'carol', 'carol has a passphrase');

    // Demote bob: the button, the question, the answer.
    await admin.goto(`${stack.base}/users`);
    await admin.clickAndWait(roleButton('bob', 'viewer'));
    t.equal(await pathOf(admin), '/users/role');
    t.match(await admin.html(), /<h1>Make bob viewer\?<\/h1>/);
    t.equal((await userRecord(stack, 'bob'))?.['role'], 'admin', 'asking changed nothing');
    await admin.clickAndWait(submitOf('/users/role'));
    t.equal(await pathOf(admin), '/users?done=role&user=bob');
    t.match(await admin.html(), /<p role="status">bob is now viewer; their sessions have ended.<\/p>/);
    await bob.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(bob), '/login?next=%2Fadmin%2Fstatus', 'bob\'s open session ended: back to the sign-in form');
    await submitLogin(bob, 'bob', 'bob has a passphrase');
    await bob.goto(`${stack.base}/users`);
    t.equal(bob.lastDocument?.status, 403, 'signed in again, bob is a viewer and never sees the users page');

    // Remove carol while she is signed in.
    await admin.goto(`${stack.base}/users`);
    await admin.clickAndWait(removeButton('carol'));
    const question = await admin.html();
    t.match(question, /<h1>Remove carol\?<\/h1><p>carol can no longer sign in. Their (2 sessions end|sessions end) at once.<\/p>/, question.slice(question.indexOf('<main')));
    await admin.clickAndWait(submitOf('/users/remove'));
    t.equal(await pathOf(admin), '/users?done=removed&user=carol');
    t.match(await admin.html(), /<p role="status">carol was removed; their sessions have ended.<\/p>/);
    t.notMatch(await admin.html(), /<th scope="row">carol<\/th>/, 'gone from the list');
    await carol.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(carol), '/login?next=%2Fadmin%2Fstatus', 'carol\'s session ended at once');
    await submitLogin(carol, 'carol', 'carol has a passphrase');
    t.equal(carol.lastDocument?.status, 401, 'and she cannot sign in again');
    t.match(await admin.html(), /<th scope="row">admin <span class="muted">\(you\)<\/span><\/th>/, 'the admin is still signed in');
  });

  t.test(`${mode} mode: the last admin is kept, even from a page that offered otherwise`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const admin = await newPage(t);
    await signIn(admin, stack);
    await admin.goto(`${stack.base}/users`);
    const own = /<th scope="row">admin <span class="muted">\(you\)<\/span><\/th>(.*?)<\/tr>/.exec(await admin.html())?.[1] ?? '';
    t.match(own, /<span class="muted">The only admin<\/span>/, 'the page says why there is no remove or demote');
    t.notMatch(own, /<button/, 'and offers neither');

    // A second admin appears, the page offers both; then the other admin goes (elsewhere).
    const api = await adminOverHttp(stack);
    await userWithPassword(stack, api, 'dan', 'admin', 'dan has a passphrase');
    await admin.goto(`${stack.base}/users`);
    t.match(await admin.html(), /<button form="op-role-viewer" name="user" value="admin">Make viewer/, 'now the page offers to demote the admin');
    t.equal((await usersApi(stack, api, '/users/remove', { user: 'dan' })).status, 200, 'dan removed over the API meanwhile');
    await admin.clickAndWait(roleButton('admin', 'viewer'));
    t.match(await admin.html(), /<h1>Make admin viewer\?<\/h1>/);
    await admin.clickAndWait(submitOf('/users/role'));
    t.equal(admin.lastDocument?.status, 409, 'refused');
    t.match(await admin.html(), /<p role="alert">"admin" is the last admin; add another admin first<\/p>/, 'with the reason, on the users page');
    t.equal((await userRecord(stack, 'admin'))?.['role'], 'admin', 'still an admin');
    await admin.goto(stack.base + ADMIN_PATH);
    t.match(await admin.html(), ADMIN_TEXT, 'and still signed in');
    t.ok(await sessionCookieValue(admin, stack.base));
  });

  t.test(`${mode} mode: by keyboard alone: tab order, visible focus, labels; add and remove a user`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const api = await adminOverHttp(stack);
    await userWithPassword(stack, api, 'erin', 'admin', 'erin has a passphrase');
    await userWithPassword(stack, api, 'frank', 'viewer', 'frank has a passphrase');
    const page = await newPage(t);
    await signIn(page, stack);
    for (const [width, height, mobile] of [[1280, 800, false], [360, 740, true]] as const) {
      await page.call('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
      await page.goto(`${stack.base}/users`);
      const order = await tabOrder(page, 'BUTTON Add user');
      t.same(order.map((f) => f.what), [
        'A Home', 'BUTTON Sign out',
        'BUTTON Make viewer admin', 'A Change password', 'BUTTON Remove admin',
        'BUTTON Make viewer erin', 'BUTTON Reset password erin', 'BUTTON Remove erin',
        'BUTTON Make admin frank', 'BUTTON Reset password frank', 'BUTTON Remove frank',
        'INPUT #new-name', 'SELECT #new-role', 'BUTTON Add user',
      ], `${width} px: the tab order follows the page: account, each user's row, then the add form`);
      t.same(order.filter((f) => !f.ring).map((f) => f.what), [], `${width} px: every stop shows the focus ring`);
      t.same(order.filter((f) => !f.labelled).map((f) => f.what), [], `${width} px: every field has a label, every button a name`);
      t.same(order.filter((f) => !f.inView).map((f) => f.what), [], `${width} px: the focused element is scrolled into view`);
    }

    // Add a user without a mouse: back to the name field, type, choose admin, press Enter.
    await page.goto(`${stack.base}/users`);
    await tabOrder(page, 'INPUT #new-name');
    await page.type('gina');
    await page.press('Tab');
    await page.press('ArrowUp');
    t.equal(await page.evaluate('document.activeElement.value'), 'admin', 'the role chosen with the arrow keys');
    await page.press('Tab');
    t.equal((await focused(page)).what, 'BUTTON Add user');
    await page.pressAndWait('Enter');
    t.equal(page.lastDocument?.status, 201);
    t.match(await page.html(), /<p role="status">gina was added as admin.<\/p>/);
    const afterAdd = await tabOrder(page, 'A Back to users');
    t.equal(afterAdd.at(-1)?.what, 'A Back to users', 'the way back is reachable by keyboard');
    await page.pressAndWait('Enter');
    t.equal(await pathOf(page), '/users');

    // Remove frank by keyboard: the row's button, then the question's button.
    await tabOrder(page, 'BUTTON Remove frank');
    await page.pressAndWait('Enter');
    t.match(await page.html(), /<h1>Remove frank\?<\/h1>/);
    const confirm = await tabOrder(page, 'BUTTON Remove frank');
    t.same(confirm.map((f) => f.what), ['A Home', 'BUTTON Sign out', 'BUTTON Remove frank'], 'the question: its action comes before Cancel');
    await page.press('Tab');
    t.equal((await focused(page)).what, 'A Cancel', 'and Cancel is one Tab away');
    await page.press('Tab', { shift: true });
    await page.pressAndWait('Enter');
    t.equal(await pathOf(page), '/users?done=removed&user=frank');
    t.equal(await userRecord(stack, 'frank'), undefined, 'frank is gone');
    t.ok(await userRecord(stack, 'gina'), 'gina is there');
  });
}
