/**
 * The pages in a real browser (headless Chromium, skipped when absent): served with
 * PAGE_CSP at 360 px wide, the hashed style must apply, nothing may overflow sideways,
 * every visible input has a label, and keyboard focus is visible.
 */
import t from 'tap';
import { Browser, findChromium } from '../support/chromium.js';
import {
  renderErrorPage, renderHomePage, renderLoginPage, renderOneTimePasswordPage, renderPasswordPage, renderSessionsPage, renderUserConfirmPage, renderUsersPage,
  sendHtml, UTC_ZONE, type PageClock,
} from '../../src/web/index.js';
import { DEFAULT_TRUSTED_FLOOR_MS } from '../../src/session/time-policy.js';
import { listen } from './serve.js';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const clock: PageClock = { nowMs: NOW, wallTrusted: true, trustedFloorMs: DEFAULT_TRUSTED_FLOOR_MS, zone: UTC_ZONE };
/** A long device name: the banner must wrap it, not scroll. */
const site = 'Office gateway (rack 2, building B, second floor)';

const rows = Array.from({ length: 8 }, (_, i) => ({
  ref: `ref-${i}-abcdefghijklmnop`,
  user: i === 0 ? 'alice' : `a-rather-long-user-name-${i}`,
  role: 'admin',
  createdAtMs: NOW - 3 * 3_600_000,
  lastSeenAtMs: NOW - 4 * 60_000,
  // The widest client column there is: full IPv6 addresses.
  clientAddress: `2001:0db8:85a3:0000:0000:8a2e:0370:${7330 + i}`,
  current: i === 0,
}));

const pages: Record<string, string> = {
  '/login': renderLoginPage({ site, next: '/', csrfToken: 'x'.repeat(86), error: 'Wrong user name or password.', username: 'admin' }),
  '/password': renderPasswordPage({ site, csrfToken: 'c'.repeat(43), next: '/', forced: true, username: 'admin', error: 'The new passwords do not match.' }),
  '/sessions': renderSessionsPage({ site, clock, csrfToken: 'c'.repeat(43), sessions: rows, isAdmin: true, username: 'alice', listAvailable: true }),
  '/home': renderHomePage({ site, clock, username: 'admin', role: 'admin', csrfToken: 'c', createdAtMs: NOW - 60_000, expiresAtMs: NOW + 11 * 3_600_000, links: [{ href: '/sessions', label: 'Sessions' }] }),
  '/error': renderErrorPage(403, 'cross-origin request refused', { site }),
  '/users': renderUsersPage({
    site, clock, csrfToken: 'c'.repeat(43), username: 'alice', roles: ['admin', 'viewer'], canWrite: true, notice: 'bob was removed; their sessions ended.',
    users: rows.map((r, i) => ({ name: r.user, role: i < 2 ? 'admin' : 'viewer', mustChangePassword: i % 3 === 1, activeSessions: i % 3, lastSignInAtMs: i === 4 ? undefined : NOW - i * 86_400_000 })),
  }),
  '/users/confirm': renderUserConfirmPage({ site, csrfToken: 'c', username: 'alice', operation: 'remove', user: 'a-rather-long-user-name-7', activeSessions: 2 }),
  '/users/one-time-password': renderOneTimePasswordPage({ site, csrfToken: 'c', username: 'alice', notice: 'bob was added as viewer.', user: 'bob', password: '7kq2-9vxm-h3tb-04ne' }),
};

/** Pages with a table: every column and action in view at desktop widths, stacked rows on a phone, each cell labelled. */
const TABLE_PAGES: Record<string, string[]> = {
  '/sessions': ['"Role"', '"Signed in"', '"Last seen"', '"Client"', 'none'],
  '/users': ['"Role"', '"Password"', '"Sessions"', '"Last sign-in"', 'none'],
};

/** Facts about the table on screen: does it overflow, is it stacked, is every button in view. */
const TABLE_FACTS = `(() => {
  const table = document.querySelector('table');
  const row = table.querySelector('tbody tr');
  const buttons = [...table.querySelectorAll('button')];
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    tableOverflow: table.scrollWidth - table.parentElement.clientWidth,
    stacked: getComputedStyle(row).display === 'block',
    buttonsOutOfView: buttons.filter((b) => { const r = b.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth; }).length,
    headersVisible: table.querySelector('thead').getBoundingClientRect().height > 2,
    labels: [...row.querySelectorAll('td')].map((td) => getComputedStyle(td, '::before').content),
  };
})()`;

interface TableFacts {
  overflow: number;
  tableOverflow: number;
  stacked: boolean;
  buttonsOutOfView: number;
  headersVisible: boolean;
  labels: string[];
}

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

  // Tables: at 1280 and 1000 px wide every column and action is in view without scrolling
  // sideways; at 360 px the rows stack, each cell labelled by its column's name.
  for (const [path, labels] of Object.entries(TABLE_PAGES)) {
    for (const width of [1280, 1000]) {
      await page.call('Emulation.setDeviceMetricsOverride', { width, height: 800, deviceScaleFactor: 1, mobile: false });
      await page.goto(`http://127.0.0.1:${server.port}${path}`);
      const wide = (await page.evaluate(TABLE_FACTS)) as TableFacts;
      t.ok(wide.overflow <= 0 && wide.tableOverflow <= 0, `${path} at ${width} px: no sideways scrolling (page ${wide.overflow}, table ${wide.tableOverflow})`);
      t.equal(wide.stacked, false, `${path} at ${width} px: a table`);
      t.equal(wide.headersVisible, true, `${path} at ${width} px: column headers shown`);
      t.equal(wide.buttonsOutOfView, 0, `${path} at ${width} px: every action in view`);
    }
    await page.call('Emulation.setDeviceMetricsOverride', { width: 360, height: 740, deviceScaleFactor: 1, mobile: true });
    await page.goto(`http://127.0.0.1:${server.port}${path}`);
    const phone = (await page.evaluate(TABLE_FACTS)) as TableFacts;
    t.equal(phone.stacked, true, `${path} at 360 px: rows stack`);
    t.ok(phone.overflow <= 0 && phone.tableOverflow <= 0, `${path} at 360 px: no sideways scrolling`);
    t.equal(phone.headersVisible, false, `${path} at 360 px: the header row is left to assistive technology`);
    t.equal(phone.buttonsOutOfView, 0, `${path} at 360 px: every action in view`);
    t.same(phone.labels, labels, `${path} at 360 px: each cell labelled by its column`);
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
