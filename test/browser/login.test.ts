/**
 * Signing in with a real browser (headless Chromium) to a device UI behind ringlet's reverse
 * proxy: the redirect to the form and back, the session cookie's attributes as the browser
 * stored them, a wrong password, and the forced change of a generated first-start password.
 */
import t, { type Test } from 'tap';
import { ADMIN_PATH, ADMIN_TEXT, MODES, PASSWORD, pathOf, sessionCookieValue, skipWithoutChromium, startStack, submitLogin, submitOf, browserForFile } from './harness.js';

const openPage = await browserForFile();
const newPage = (t: Test) => openPage!(t);

for (const mode of MODES) {
  t.test(`${mode} mode: protected page → login form → back on the page, with a safe cookie`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const page = await newPage(t);

    await page.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(page), '/login?next=%2Fadmin%2Fstatus', 'sent to the login form, remembering the page');
    t.equal(page.lastDocument?.status, 200);
    t.notMatch(await page.html(), ADMIN_TEXT);
    t.same(stack.ui.seen, [], 'the device UI never saw the anonymous request');

    await submitLogin(page, 'admin', PASSWORD);
    t.equal(await pathOf(page), ADMIN_PATH, 'back on the page first asked for');
    t.equal(page.lastDocument?.status, 200);
    const html = await page.html();
    t.match(html, ADMIN_TEXT);
    t.match(html, 'Remote-User: admin', 'the device UI was told who signed in');
    t.match(html, '<p id="js">scripts on</p>', 'page scripts run here (the control for the no-JavaScript test)');
    t.same(stack.ui.seen.filter((r) => /(^|;\s*)ringlet(-login)?=/.test(r.cookie ?? '')).map((r) => r.path), [], 'ringlet\'s cookies never reach the device UI');

    const cookies = await page.cookies(stack.base);
    const session = cookies.find((c) => c.name === 'ringlet');
    t.ok(session, 'a session cookie is stored');
    t.match(session, { httpOnly: true, sameSite: 'Strict', path: '/', session: true, secure: false }, 'HttpOnly, SameSite=Strict, Path=/, no expiry, not Secure over plain HTTP');
    t.equal(session?.expires, -1, 'a browser-session cookie');
    t.same(cookies.filter((c) => c.name === 'ringlet-login').map((c) => c.name), [], 'the login form nonce is cleared after signing in');

    const visible = await page.evaluate('document.cookie');
    t.equal(visible, 'ui-theme=dark', 'scripts see the UI\'s own cookie (control) and not the session cookie');
  });

  t.test(`${mode} mode: a wrong password shows the error, keeps the user name, sets no session`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode);
    const page = await newPage(t);
    await page.goto(stack.base + ADMIN_PATH);
    await submitLogin(page, 'admin', 'not the password');

    t.equal(page.lastDocument?.status, 401);
    t.equal(await pathOf(page), '/login');
    const html = await page.html();
    t.match(html, /<p id="form-error" role="alert">Wrong user name or password\.<\/p>/, 'the error is on the page');
    t.notMatch(html, ADMIN_TEXT);
    t.equal(await page.evaluate('document.querySelector("#username").value'), 'admin', 'the user name is kept');
    t.equal(await page.evaluate('document.querySelector("#password").value'), '', 'the password is not');
    t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'password', 'focus is on the password field');
    t.equal(await sessionCookieValue(page, stack.base), undefined, 'no session cookie');
    t.same(stack.ui.seen, [], 'nothing reached the device UI');

    // The form still remembers where the user was going.
    await page.fill('#password', PASSWORD);
    await page.clickAndWait(submitOf('/login'));
    t.equal(await pathOf(page), ADMIN_PATH, 'the second try lands on the page first asked for');
    t.match(await page.html(), ADMIN_TEXT);
  });

  t.test(`${mode} mode: first sign-in with the generated password forces a change, then lands on the page`, { skip: skipWithoutChromium }, async (t) => {
    const stack = await startStack(t, mode, { changePassword: false });
    const generated = stack.ringlet.firstPassword;
    const page = await newPage(t);

    await page.goto(stack.base + ADMIN_PATH);
    await submitLogin(page, 'admin', generated);
    t.equal(await pathOf(page), '/password?next=%2Fadmin%2Fstatus', 'sent to the change-password form');
    t.match(await page.html(), 'You must choose a new password before continuing.');
    const first = await sessionCookieValue(page, stack.base);
    t.ok(first, 'signed in (only for the password change)');

    await page.goto(stack.base + ADMIN_PATH);
    t.equal(await pathOf(page), '/password?next=%2Fadmin%2Fstatus', 'the device UI stays out of reach until the password is changed');
    t.same(stack.ui.seen, [], 'and never saw a request');

    await page.fill('#current_password', generated);
    await page.fill('#new_password', 'a much better passphrase');
    await page.fill('#confirm_password', 'a much better passphrase');
    await page.clickAndWait(submitOf('/password'));
    t.equal(await pathOf(page), ADMIN_PATH, 'lands on the page first asked for');
    t.match(await page.html(), ADMIN_TEXT);
    const fresh = await sessionCookieValue(page, stack.base);
    t.ok(fresh);
    t.not(fresh, first, 'a fresh session after the change');
    t.same(stack.ui.seen.filter((r) => r.path === ADMIN_PATH).map((r) => r.remoteUser), ['admin'], 'the device UI saw one request, after the change');
  });
}
