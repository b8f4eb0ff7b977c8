/**
 * The pages in a real browser (headless Chromium, skipped when absent): served with
 * PAGE_CSP at 360 px wide, the hashed style must apply, nothing may overflow sideways,
 * every visible input has a label, and keyboard focus is visible.
 */
import t from 'tap';
import { Browser, findChromium } from '../support/chromium.js';
import { renderErrorPage, renderHomePage, renderLoginPage, renderPasswordPage, renderSessionsPage, sendHtml } from '../../src/web/index.js';
import { listen } from './serve.js';

const rows = Array.from({ length: 8 }, (_, i) => ({
  ref: `ref-${i}-abcdefghijklmnop`,
  user: i === 0 ? 'alice' : `a-rather-long-user-name-${i}`,
  role: 'admin',
  createdIso: '2024-05-01T10:00:00.000Z',
  lastSeenIso: '2024-05-01T10:30:00.000Z',
  clientAddress: `2001:db8:85a3::8a2e:370:${7330 + i}`,
  current: i === 0,
}));

const pages: Record<string, string> = {
  '/login': renderLoginPage({ next: '/', csrfToken: 'x'.repeat(86), error: 'Wrong user name or password.', username: 'admin' }),
  '/password': renderPasswordPage({ csrfToken: 'c'.repeat(43), next: '/', forced: true, username: 'admin', error: 'The new passwords do not match.' }),
  '/sessions': renderSessionsPage({ csrfToken: 'c'.repeat(43), sessions: rows, isAdmin: true, username: 'alice', listAvailable: true }),
  '/home': renderHomePage({ username: 'admin', role: 'admin', csrfToken: 'c', createdIso: '2024-05-01T10:00:00.000Z', expiresIso: '2024-05-01T22:00:00.000Z', links: [{ href: '/sessions', label: 'Sessions' }] }),
  '/error': renderErrorPage(403, 'cross-origin request refused'),
};

const executable = findChromium();

t.test('pages in Chromium at 360 px', { skip: executable === undefined ? 'chromium not installed' : false }, async (t) => {
  const server = await listen((req, res) => {
    if (req.url === '/control') {
      // Negative control: the same page under a CSP with the wrong hash.
      const body = pages['/login'] ?? '';
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'none'; style-src 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='" });
      res.end(body);
      return;
    }
    const html = pages[req.url ?? ''];
    if (html === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    sendHtml(res, 200, html);
  });
  const browser = await Browser.launch();
  t.teardown(async () => {
    try {
      await browser.close();
    } catch {
      // The support driver's profile-dir cleanup can race Chromium's exit; not what is tested here.
    }
    await server.close();
  });
  const page = await browser.newPage();
  await page.call('Log.enable');
  const problems: string[] = [];
  browser.on('Log.entryAdded', (params) => {
    const entry = params['entry'] as { level?: string; text?: string } | undefined;
    if (entry?.level === 'error' && !/favicon/.test(entry.text ?? '')) problems.push(entry.text ?? '');
  });
  await page.call('Emulation.setDeviceMetricsOverride', { width: 360, height: 740, deviceScaleFactor: 1, mobile: true });

  for (const path of Object.keys(pages)) {
    problems.length = 0;
    await page.goto(`http://127.0.0.1:${server.port}${path}`);
    const facts = (await page.evaluate(`(() => {
      const main = document.querySelector('main');
      const visible = [...document.querySelectorAll('input')].filter((i) => i.type !== 'hidden' && !i.hidden);
      return {
        styled: getComputedStyle(main).backgroundColor,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        unlabelled: visible.filter((i) => i.labels.length === 0).map((i) => i.name),
        lang: document.documentElement.lang,
        scripts: document.scripts.length,
      };
    })()`)) as { styled: string; overflow: number; unlabelled: string[]; lang: string; scripts: number };
    t.equal(facts.styled, 'rgb(255, 255, 255)', `${path}: the hashed style applies under PAGE_CSP`);
    t.ok(facts.overflow <= 0, `${path}: no sideways scrolling at 360 px (overflow ${facts.overflow} px)`);
    t.same(facts.unlabelled, [], `${path}: every visible input has a label`);
    t.equal(facts.lang, 'en');
    t.equal(facts.scripts, 0);
    await new Promise((r) => setTimeout(r, 50));
    t.same(problems.filter((p) => /Content Security Policy/i.test(p)), [], `${path}: no CSP violations`);
  }

  problems.length = 0;
  await page.goto(`http://127.0.0.1:${server.port}/control`);
  t.not(await page.evaluate(`getComputedStyle(document.querySelector('main')).backgroundColor`), 'rgb(255, 255, 255)', 'control: a wrong hash blocks the style');
  await new Promise((r) => setTimeout(r, 50));
  t.ok(problems.some((p) => /Content Security Policy/i.test(p)), 'control: the violation is seen');

  // Keyboard focus: the login page focuses the password (user name kept) and shows a ring.
  await page.goto(`http://127.0.0.1:${server.port}/login`);
  // Autofocus runs at a rendering update, which may come after the load event: wait for it.
  for (let i = 0; i < 50 && (await page.evaluate('document.activeElement && document.activeElement.id')) !== 'password'; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const focus = (await page.evaluate(`(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    return { id: el.id, outline: s.outlineStyle + ' ' + s.outlineWidth };
  })()`)) as { id: string; outline: string };
  t.equal(focus.id, 'password', 'autofocus on the first empty field');
  t.equal(focus.outline, 'solid 3px', 'visible focus ring');
  await page.call('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Tab', code: 'Tab', windowsVirtualKeyCode: 9 });
  await page.call('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Tab', code: 'Tab', windowsVirtualKeyCode: 9 });
  const button = (await page.evaluate(`(() => { const el = document.activeElement; const s = getComputedStyle(el); return el.tagName + ' ' + s.outlineStyle + ' ' + s.outlineWidth; })()`)) as string;
  t.equal(button, 'BUTTON solid 3px', 'Tab reaches the submit button, focus visible');
});
