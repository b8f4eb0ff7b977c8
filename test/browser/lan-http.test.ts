/**
 * ringlet as a router serves it: plain HTTP under a LAN name, which browsers do not treat as
 * "potentially trustworthy" (unlike 127.0.0.1 and localhost, where the other browser tests
 * run). There, Chromium sends no Sec-Fetch-Site header and ignores Clear-Site-Data, so the
 * same-origin check rests on the Origin header alone. The browser maps `*.test` to
 * 127.0.0.1, so no real network interface is needed.
 */
import t, { type Test } from 'tap';
import { ADMIN_PATH, ADMIN_TEXT, MODES, formPage, pathOf, sessionCookieValue, signIn, skipWithoutChromium, startAdminUi, startStack, submitOf, browserForFile } from './harness.js';

const ROUTER = 'router.test';
const openPage = await browserForFile([`--host-resolver-rules=MAP *.test 127.0.0.1`]);
const newPage = (t: Test) => openPage!(t);

for (const mode of MODES) {
  t.test(`${mode} mode, plain HTTP at a LAN name: sign in, forms from another port refused, sign out`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode, { hostName: ROUTER });
    const page = await newPage(t);
    await signIn(page, stack);
    t.equal(await page.evaluate('window.isSecureContext'), false, 'not a secure context: like http://192.168.1.1');
    t.match(await page.html(), ADMIN_TEXT, 'signed in through the login form (its POST carries a real Origin)');
    const cookie = await sessionCookieValue(page, stack.base);
    t.ok(cookie);
    await page.goto(`${stack.base}/sessions`);
    const token = /name="csrf" value="([^"]+)"/.exec(await page.html())?.[1] ?? '';
    t.not(token, '');

    // Same host name, another port: same site, so the SameSite=Strict cookie goes along.
    const other = await startAdminUi();
    t.teardown(() => other.close());
    const otherBase = `http://${ROUTER}:${new URL(other.origin).port}`;
    for (const policy of [undefined, 'no-referrer', 'unsafe-url'] as const) {
      other.pages.set('/attack', formPage(`${stack.base}/logout`, { csrf: token }, policy));
      const before = stack.ringlet.logEvents('csrf_refused').length;
      await page.goto(`${otherBase}/attack`);
      await page.clickAndWait('#go');
      const what = `stolen-token logout from ${otherBase} (referrer policy ${policy ?? 'default'})`;
      t.equal(page.lastDocument?.status, 403, `${what}: 403`);
      t.same(stack.ringlet.logEvents('csrf_refused').slice(before).map((e) => e['reason']), ['origin'], `${what}: refused by the origin check`);
      t.equal(await sessionCookieValue(page, stack.base), cookie, `${what}: the session cookie is unchanged`);
    }

    await page.goto(`${stack.base}/sessions`);
    await page.clickAndWait(submitOf('/logout'));
    t.equal(await pathOf(page), '/login?loggedout=1', 'our own logout form is accepted');
    t.equal(await sessionCookieValue(page, stack.base), undefined);
    await page.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(page), '/login?next=%2Fadmin%2Fstatus', 'the session has ended');
  });

  t.test(`${mode} mode, plain HTTP at a LAN name: Back after sign-out`, {
    skip: skipWithoutChromium,
    todo: 'known gap: outside a secure context Chromium ignores Clear-Site-Data and may restore the device page from its back/forward cache (about half of the runs); use HTTPS',
  }, async (t) => {
    const stack = await startStack(t, mode, { hostName: ROUTER });
    const page = await newPage(t);
    await signIn(page, stack);
    await page.goto(`${stack.base}/sessions`);
    await page.clickAndWait(submitOf('/logout'));
    await new Promise((resolve) => setTimeout(resolve, 250));
    await page.back();
    await page.back();
    t.notMatch(await page.html(), ADMIN_TEXT, 'the device page is not shown after sign-out');
  });
}
