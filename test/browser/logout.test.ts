/**
 * Signing out in a real browser, then pressing Back: the device UI's page (which, like many
 * small embedded UIs, sends no caching headers of its own) and ringlet's own pages must not
 * come back from the browser's caches once the session has ended.
 */
import t, { type Test } from 'tap';
import { header } from '../support/chromium.js';
import { ADMIN_PATH, ADMIN_TEXT, MODES, pathOf, sessionCookieValue, signIn, skipWithoutChromium, startStack, submitOf, browserForFile } from './harness.js';

const openPage = await browserForFile();
const newPage = (t: Test) => openPage!(t);

for (const mode of MODES) {
  t.test(`${mode} mode: sign out from /sessions, then Back shows no protected content`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const page = await newPage(t);
    await signIn(page, stack);
    t.equal(header(page.lastDocument, 'cache-control'), 'no-store', 'the proxied page is served no-store although the device UI did not ask');

    // With an upstream there is no home page: /sessions is ringlet's own page with a logout form.
    await page.goto(`${stack.base}/sessions`);
    t.equal(page.lastDocument?.status, 200);
    t.match(await page.html(), 'Signed in as <strong>admin</strong>');
    t.equal(header(page.lastDocument, 'cache-control'), 'no-store');

    await page.clickAndWait(submitOf('/logout'));
    t.equal(await pathOf(page), '/login?loggedout=1', 'back on the login form');
    t.match(await page.html(), 'You have been signed out.');
    t.equal(await sessionCookieValue(page, stack.base), undefined, 'the session cookie is gone');
    const adminRequests = stack.ui.seen.filter((r) => r.path === ADMIN_PATH).length;
    // A person reads the notice before pressing Back. Whether Chromium restores a page from
    // its back/forward cache depends on timing; with this pause and without ringlet's
    // Clear-Site-Data on logout, it restored the device page in 4 runs out of 5.
    await new Promise((resolve) => setTimeout(resolve, 250));

    const toSessions = await page.back();
    t.equal(toSessions, 'loaded', 'the sessions page is fetched again, not restored from the back/forward cache');
    t.equal(await pathOf(page), '/login?next=%2Fsessions', 'and sends the browser to the login form');
    const sessionsHtml = await page.html();
    t.notMatch(sessionsHtml, 'Signed in as', 'the sessions page does not come back after sign-out');
    t.notMatch(sessionsHtml, 'admin</th>', 'nor its table');

    const toAdmin = await page.back();
    t.equal(toAdmin, 'loaded', 'the device page is fetched again, not restored from the back/forward cache');
    t.equal(await pathOf(page), '/login?next=%2Fadmin%2Fstatus', 'and sends the browser to the login form');
    t.notMatch(await page.html(), ADMIN_TEXT, 'the device page\'s content is not shown after sign-out');
    t.equal(stack.ui.seen.filter((r) => r.path === ADMIN_PATH).length, adminRequests, 'and the device UI was not asked again');
  });
}
