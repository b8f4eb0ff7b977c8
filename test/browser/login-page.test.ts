/**
 * The login page itself in a real browser: signing in works with JavaScript switched off
 * (the pages carry no script, and must never need one), and the HTML stays under 10 KB.
 * Screenshots of every page are screenshots.test.ts's.
 */
import t, { type Test } from 'tap';
import { header } from '../support/chromium.js';
import { ADMIN_PATH, ADMIN_TEXT, MODES, pathOf, sessionCookieValue, skipWithoutChromium, startStack, submitLogin, browserForFile } from './harness.js';

/** The page budget from the issue: a login page must load fast over a weak Wi-Fi link to a router. */
const MAX_LOGIN_PAGE_BYTES = 10 * 1024;
const openPage = await browserForFile();
const newPage = (t: Test) => openPage!(t);

for (const mode of MODES) {
  t.test(`${mode} mode: signing in works with JavaScript disabled`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const page = await newPage(t);
    await page.setJavaScriptEnabled(false);

    await page.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(page), '/login?next=%2Fadmin%2Fstatus');
    await submitLogin(page, 'admin', 'correct horse battery');
    t.equal(await pathOf(page), ADMIN_PATH, 'the form posts and the redirects are followed without any script');
    const html = await page.html();
    t.match(html, ADMIN_TEXT);
    t.match(html, '<p id="js">scripts off</p>', 'page scripts really are off (the device page\'s own script did not run)');
    t.ok(await sessionCookieValue(page, stack.base), 'signed in');
  });
}

t.test('the login page: under 10 KB, never cached', { skip: skipWithoutChromium }, async (t) => {
  const stack = await startStack(t, 'ram');
  const page = await newPage(t);
  await page.setJavaScriptEnabled(false);
  await page.goto(stack.base + ADMIN_PATH);
  t.equal(await pathOf(page), '/login?next=%2Fadmin%2Fstatus');

  const response = page.lastDocument;
  t.equal(response?.status, 200);
  const body = await page.responseBody(response?.requestId ?? '');
  t.ok(body.length > 500, `the body was captured (${body.length} bytes)`);
  t.ok(body.length < MAX_LOGIN_PAGE_BYTES, `the login page is ${body.length} bytes, under ${MAX_LOGIN_PAGE_BYTES}`);
  t.equal(header(response, 'content-length'), String(body.length), 'Content-Length says the same');
  t.equal(header(response, 'cache-control'), 'no-store');
});
