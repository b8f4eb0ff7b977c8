import t from 'tap';
import { createHash } from 'node:crypto';
import {
  escapeHtml,
  PAGE_CSP,
  PAGE_STYLE,
  renderErrorPage,
  renderHomePage,
  renderLoginPage,
  renderPasswordPage,
  renderSessionsPage,
  renderOneTimePasswordPage,
  renderUserConfirmPage,
  renderUsersPage,
  UTC_ZONE,
  type UserRow,
  type PageClock,
} from '../../src/web/index.js';
import { PALETTE } from '../../src/web/pages/style.js';
import { DEFAULT_TRUSTED_FLOOR_MS } from '../../src/session/time-policy.js';

const HOSTILE = `"><script>alert(1)</script><img src=x onerror=alert(2)>'&`;
const HOSTILE_ESCAPED = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;';

/** 2026-11-30 12:00 UTC, a trusted wall clock. */
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const clock: PageClock = { nowMs: NOW, wallTrusted: true, trustedFloorMs: DEFAULT_TRUSTED_FLOOR_MS, zone: UTC_ZONE };
/** The same moment on a device that booted at 1970 and has no NTP yet: times are estimates around "now". */
const BOOT_1970 = 3_600_000;
const untrusted: PageClock = { nowMs: BOOT_1970, wallTrusted: false, trustedFloorMs: DEFAULT_TRUSTED_FLOOR_MS, zone: UTC_ZONE };

const sessions = (n: number, user = 'alice') => Array.from({ length: n }, (_, i) => ({
  ref: `r${i}`,
  user: i % 3 === 0 ? user : `user${i % 4}`,
  role: i % 2 === 0 ? 'admin' : 'viewer',
  createdAtMs: NOW - 2 * 3_600_000,
  lastSeenAtMs: NOW - 5 * 60_000 - 12_000,
  clientAddress: `192.168.1.${10 + i}`,
  current: i === 0,
}));

const ROLES = ['admin', 'viewer'];
const users = (n: number): UserRow[] => Array.from({ length: n }, (_, i) => ({
  name: i === 0 ? 'admin' : `user${i}`,
  role: i < 2 ? 'admin' : 'viewer',
  mustChangePassword: i % 3 === 2,
  activeSessions: i % 4,
  lastSignInAtMs: i % 5 === 4 ? undefined : NOW - (i + 1) * 3_600_000,
}));

/** Every page, rendered with hostile values everywhere a caller can put text. */
const hostilePages: Array<[string, string]> = [
  ['login', renderLoginPage({ next: HOSTILE, csrfToken: HOSTILE, username: HOSTILE, error: HOSTILE, notice: HOSTILE, site: HOSTILE })],
  ['password', renderPasswordPage({ csrfToken: HOSTILE, next: HOSTILE, forced: true, error: HOSTILE, username: HOSTILE, site: HOSTILE })],
  ['sessions', renderSessionsPage({
    site: HOSTILE,
    clock,
    csrfToken: HOSTILE,
    sessions: [{ ref: HOSTILE, user: HOSTILE, role: HOSTILE, createdAtMs: NOW, lastSeenAtMs: NOW, clientAddress: HOSTILE, current: false }],
    isAdmin: true,
    username: 'alice',
    listAvailable: true,
    note: HOSTILE,
  })],
  ['home', renderHomePage({ site: HOSTILE, clock, username: HOSTILE, role: HOSTILE, csrfToken: HOSTILE, createdAtMs: NOW, expiresAtMs: NOW, links: [{ href: '/ok', label: HOSTILE }] })],
  ['error', renderErrorPage(400, HOSTILE, { site: HOSTILE })],
  ['users', renderUsersPage({
    site: HOSTILE, clock, csrfToken: HOSTILE, username: HOSTILE, roles: [...ROLES, HOSTILE], canWrite: true, notice: HOSTILE, error: HOSTILE, addName: HOSTILE, addRole: HOSTILE,
    users: [{ name: HOSTILE, role: HOSTILE, mustChangePassword: true, activeSessions: 1, lastSignInAtMs: NOW }, { name: 'admin', role: 'admin', mustChangePassword: false, activeSessions: undefined, lastSignInAtMs: undefined }],
  })],
  ['user confirm', renderUserConfirmPage({ site: HOSTILE, csrfToken: HOSTILE, username: HOSTILE, operation: 'role', user: HOSTILE, role: HOSTILE, activeSessions: 2 })],
  ['one-time password', renderOneTimePasswordPage({ site: HOSTILE, csrfToken: HOSTILE, username: HOSTILE, notice: HOSTILE, user: HOSTILE, password: HOSTILE })],
];

/** Every page as an appliance typically renders it, for size and structure checks. */
const typicalPages: Array<[string, string]> = [
  ['login', renderLoginPage({ next: '/', csrfToken: 'a'.repeat(86) })],
  ['login with error', renderLoginPage({ next: '/sessions', csrfToken: 'a'.repeat(86), username: 'admin', error: 'Wrong user name or password.' })],
  ['password (forced)', renderPasswordPage({ csrfToken: 'c'.repeat(43), next: '/', forced: true, username: 'admin' })],
  ['password with error', renderPasswordPage({ csrfToken: 'c'.repeat(43), next: '/', forced: false, username: 'admin', error: 'The new passwords do not match.' })],
  ['sessions (20 rows, admin)', renderSessionsPage({ clock, csrfToken: 'c'.repeat(43), sessions: sessions(20), isAdmin: true, username: 'alice', listAvailable: true })],
  ['sessions (100 rows, the most shown)', renderSessionsPage({ clock, csrfToken: 'c'.repeat(43), sessions: sessions(150), isAdmin: true, username: 'alice', listAvailable: true })],
  ['sessions (cookie mode)', renderSessionsPage({ clock, csrfToken: 'c'.repeat(43), sessions: [], isAdmin: true, username: 'alice', listAvailable: false, note: 'Cookie mode keeps no list.' })],
  ['home', renderHomePage({ clock, username: 'admin', role: 'admin', csrfToken: 'c'.repeat(43), createdAtMs: NOW - 60_000, expiresAtMs: NOW + 11 * 3_600_000, links: [{ href: '/sessions', label: 'Sessions' }, { href: '/password', label: 'Change password' }] })],
  ['error', renderErrorPage(404, 'not found')],
  ['users (8, admin)', renderUsersPage({ clock, csrfToken: 'c'.repeat(43), username: 'admin', roles: ROLES, canWrite: true, users: users(8) })],
  ['users (100)', renderUsersPage({ clock, csrfToken: 'c'.repeat(43), username: 'admin', roles: ROLES, canWrite: true, users: users(100) })],
  ['users (read only)', renderUsersPage({ clock, csrfToken: 'c'.repeat(43), username: 'admin', roles: ROLES, canWrite: false, users: users(8) })],
  ['user confirm (remove)', renderUserConfirmPage({ csrfToken: 'c'.repeat(43), username: 'admin', operation: 'remove', user: 'bob', activeSessions: 2 })],
  ['one-time password', renderOneTimePasswordPage({ csrfToken: 'c'.repeat(43), username: 'admin', notice: 'alice was added as viewer.', user: 'alice', password: '7kq2-9vxm-h3tb-04ne' })],
];

t.test('escapeHtml', (t) => {
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['', ''],
    ['<a href="x">&\'</a>', '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;'],
    ['&amp;', '&amp;amp;'],
    ['ünïcödé 🙂', 'ünïcödé 🙂'],
  ];
  for (const [input, expected] of cases) t.equal(escapeHtml(input), expected, JSON.stringify(input));
  t.end();
});

t.test('hostile values are escaped on every page', (t) => {
  for (const [name, html] of hostilePages) {
    t.notOk(html.includes(HOSTILE), `${name}: raw value absent`);
    t.notMatch(html, /<script/i, `${name}: no script element`);
    t.notMatch(html, /<img/i, `${name}: no injected element`);
    t.ok(html.includes(HOSTILE_ESCAPED), `${name}: escaped value present`);
  }
  t.end();
});

/** A page without a table: under 10 KB (a login page over a weak Wi-Fi link to a router). */
const MAX_PAGE_BYTES = 10 * 1024;
/** A table page grows with its rows (at most 100 are rendered): a base and a cost per row. */
const MAX_TABLE_PAGE_BASE_BYTES = 8 * 1024;
const MAX_TABLE_ROW_BYTES = 640;

t.test('each page is a small, script-free, accessible document', (t) => {
  for (const [name, html] of [...typicalPages, ...hostilePages]) {
    const rows = html.match(/<tr>/g)?.length ?? 0;
    const budget = rows === 0 ? MAX_PAGE_BYTES : MAX_TABLE_PAGE_BASE_BYTES + rows * MAX_TABLE_ROW_BYTES;
    t.ok(Buffer.byteLength(html) < budget, `${name}: ${Buffer.byteLength(html)} bytes < ${budget}`);
    t.ok(html.startsWith('<!doctype html><html lang="en">'), `${name}: doctype and lang`);
    t.ok(html.includes('<meta name="viewport" content="width=device-width, initial-scale=1">'), `${name}: viewport`);
    t.notMatch(html, /<script/i, `${name}: no script element`);
    t.notMatch(html, /\sstyle=/i, `${name}: no style attributes (the CSP hash does not cover them)`);
    t.equal(html.match(/<style>/g)?.length, 1, `${name}: exactly one style element`);
    t.match(html, /<title>[^<]+ — [^<]+<\/title>/, `${name}: has a title ending in the device's name`);
    t.match(html, /<body[^>]*><header><span class="site">[^<]+<\/span>/, `${name}: the banner names the device`);
    t.match(html, /<h1>/, `${name}: has a heading`);
    // Every visible input (not hidden) has exactly one label bound to it.
    const inputs = [...html.matchAll(/<input\b([^>]*)>/g)].map((m) => m[1] ?? '');
    for (const attrs of inputs) {
      if (/type="hidden"|\shidden(\s|$)/.test(attrs)) continue;
      const id = /\sid="([^"]+)"/.exec(attrs)?.[1];
      const wrapped = attrs.includes('type="checkbox"') && /<label class="check"><input[^>]*type="checkbox"/.test(html);
      t.ok(wrapped || (id !== undefined && html.split(`<label for="${id}">`).length === 2), `${name}: input ${id ?? attrs} is labelled`);
    }
    // Every form posts, to a fixed same-origin path, with a CSRF field.
    const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
    for (const [, attrs, inner] of forms) {
      t.match(attrs, /method="post" action="\/[a-z/-]+"/, `${name}: form posts to a path`);
      t.match(inner, /<input type="hidden" name="csrf" value="/, `${name}: form carries csrf`);
    }
  }
  t.end();
});

t.test('the device name heads every page and ends every title, escaped; "ringlet" without one', (t) => {
  const named: Array<[string, (site: string | undefined) => string]> = [
    ['login', (site) => renderLoginPage({ site, next: '/', csrfToken: 'tok' })],
    ['password', (site) => renderPasswordPage({ site, csrfToken: 'tok', next: '/', forced: false, username: 'ann' })],
    ['sessions', (site) => renderSessionsPage({ site, clock, csrfToken: 'tok', sessions: [], isAdmin: false, username: 'ann', listAvailable: true })],
    ['home', (site) => renderHomePage({ site, clock, username: 'ann', role: 'viewer', csrfToken: 'tok', links: [] })],
    ['error', (site) => renderErrorPage(404, 'not found', { site })],
  ];
  for (const [name, render] of named) {
    const html = render('Büro <Router> & "AP"');
    t.match(html, / — Büro &lt;Router&gt; &amp; &quot;AP&quot;<\/title>/, `${name}: title`);
    t.match(html, /<header><span class="site">Büro &lt;Router&gt; &amp; &quot;AP&quot;<\/span>/, `${name}: banner`);
    for (const none of [undefined, '']) {
      const plain = render(none);
      t.match(plain, / — ringlet<\/title>/, `${name}: default title`);
      t.match(plain, /<header><span class="site">ringlet<\/span>/, `${name}: default banner`);
    }
  }
  t.end();
});

t.test('typical pages carry no event handlers or script URLs', (t) => {
  for (const [name, html] of typicalPages) t.notMatch(html, /javascript:|\son[a-z]+=/i, name);
  t.end();
});

t.test('PAGE_CSP allows exactly the inline style, by hash', (t) => {
  for (const [name, html] of typicalPages) {
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
    t.equal(style, PAGE_STYLE, `${name}: the page carries PAGE_STYLE`);
    const hash = createHash('sha256').update(style ?? '', 'utf8').digest('base64');
    t.ok(PAGE_CSP.includes(`style-src 'sha256-${hash}'`), `${name}: CSP names the style's hash`);
  }
  t.equal(PAGE_CSP, `default-src 'none'; style-src 'sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
  t.notMatch(PAGE_STYLE, /<\/style/i, 'style cannot close its element');
  t.match(PAGE_STYLE, /:focus-visible\{outline:3px solid/, 'a visible focus style');
  t.end();
});

/** WCAG 2.x relative luminance and contrast ratio. */
function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}
function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((m, n) => n - m) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

t.test('colour pairs meet WCAG contrast', (t) => {
  const p = PALETTE;
  const text: Array<[string, string, string]> = [
    ['text on page', p.text, p.page],
    ['text on panel', p.text, p.panel],
    ['muted on panel', p.muted, p.panel],
    ['link on panel', p.link, p.panel],
    ['link on page', p.link, p.page],
    ['button text', p.buttonText, p.button],
    ['secondary button', p.link, p.panel],
    ['error text', p.errorText, p.errorBg],
    ['notice text', p.text, p.noticeBg],
  ];
  for (const [name, fg, bg] of text) t.ok(contrast(fg, bg) >= 4.5, `${name}: ${contrast(fg, bg).toFixed(2)} >= 4.5`);
  const ui: Array<[string, string, string]> = [
    ['focus ring on panel', p.focus, p.panel],
    ['focus ring on page', p.focus, p.page],
    ['input border on panel', p.border, p.panel],
  ];
  for (const [name, fg, bg] of ui) t.ok(contrast(fg, bg) >= 3, `${name}: ${contrast(fg, bg).toFixed(2)} >= 3`);
  t.end();
});

t.test('login page', (t) => {
  const empty = renderLoginPage({ next: '/sessions', csrfToken: 'tok' });
  t.match(empty, /<form method="post" action="\/login">/);
  t.match(empty, /<input type="hidden" name="csrf" value="tok">/);
  t.match(empty, /<input type="hidden" name="next" value="\/sessions">/);
  t.match(empty, /<input id="username" name="username" type="text" value="" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="64" required autofocus>/);
  t.match(empty, /<input id="password" name="password" type="password" autocomplete="current-password" required>/);
  t.match(empty, /<button type="submit">Sign in<\/button>/);
  t.match(empty, /<title>Sign in — ringlet<\/title>/);
  t.notMatch(empty, /role="alert"/, 'no alert without an error');
  t.notMatch(empty, /aria-describedby/);
  t.notMatch(empty, /Sign out/, 'no logout form before signing in');

  const retry = renderLoginPage({ next: '/', csrfToken: 'tok', username: 'ann', error: 'Wrong user name or password.', site: 'Office router' });
  t.match(retry, /<p id="form-error" role="alert">Wrong user name or password.<\/p>/);
  t.match(retry, /name="username" type="text" value="ann"[^>]* required aria-describedby="form-error" aria-invalid="true">/, 'user name kept, not autofocused');
  t.match(retry, /type="password" autocomplete="current-password" required autofocus aria-describedby="form-error" aria-invalid="true">/, 'focus moves to the password');
  t.match(retry, /<title>Error: Sign in — Office router<\/title>/);

  const notice = renderLoginPage({ next: '/', csrfToken: 'tok', notice: 'You have been signed out.' });
  t.match(notice, /<p role="status">You have been signed out.<\/p>/);
  t.end();
});

t.test('password page', (t) => {
  const forced = renderPasswordPage({ csrfToken: 'tok', next: '/x', forced: true, username: 'admin' });
  t.match(forced, /<form method="post" action="\/password">/);
  t.match(forced, /You must choose a new password before continuing/);
  t.match(forced, /<input type="text" name="username" value="admin" autocomplete="username" readonly hidden>/);
  t.match(forced, /id="current_password" name="current_password" type="password" autocomplete="current-password" required/);
  t.match(forced, /id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required/);
  t.match(forced, /id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" minlength="8" required/);
  t.match(forced, /<input type="checkbox" name="end_other_sessions" value="on" checked>/);
  t.match(forced, /<input type="hidden" name="next" value="\/x">/);
  t.match(forced, /<form class="inline" method="post" action="\/logout"><input type="hidden" name="csrf" value="tok">/, 'logout form');
  t.notMatch(forced, /<a href="\/">Home<\/a>/, 'no way around a forced change');

  const optional = renderPasswordPage({ csrfToken: 'tok', next: '/', forced: false, username: 'ann', minLength: 12, error: 'too short' });
  t.notMatch(optional, /You must choose/);
  t.match(optional, /minlength="12"/);
  t.match(optional, /aria-describedby="new-password-hint form-error" aria-invalid="true"/);
  t.match(optional, /<p id="form-error" role="alert">too short<\/p>/);
  t.match(optional, /<a href="\/">Home<\/a>/);
  t.end();
});

t.test('sessions page', (t) => {
  const rows = sessions(6);
  const admin = renderSessionsPage({ clock, csrfToken: 'tok', sessions: rows, isAdmin: true, username: 'alice', listAvailable: true });
  t.match(admin, /<table class="stack t-sessions"><caption id="sessions-caption">Active sessions \(6\)<\/caption>/);
  t.equal(admin.match(/<th scope="col">/g)?.length, 6, 'column headers');
  t.equal(admin.match(/<th scope="row">/g)?.length, 6, 'row headers');
  t.equal(admin.match(/<form method="post" action="\/sessions\/revoke"><input type="hidden" name="csrf" value="tok">/g)?.length, 1, 'one revoke form around the table');
  t.equal(admin.match(/<button name="ref" value="r\d">/g)?.length, 6, 'one revoke button per row');
  t.match(admin, /<button name="ref" value="r3">/);
  t.match(admin, /alice <span class="muted">\(this session\)<\/span>/);
  t.match(admin, /Sign out<span class="vh"> this session<\/span>/);
  t.match(admin, /Revoke<span class="vh"> session of user1 from 192.168.1.11<\/span>/);
  t.match(admin, /<td><time datetime="2026-11-30T10:00Z">2 h ago<\/time> <small>2026-11-30 10:00 UTC<\/small><\/td>/, 'signed in: relative, absolute beside it');
  t.match(admin, /<td><time datetime="2026-11-30T11:54Z">5 min ago<\/time> <small>2026-11-30 11:54 UTC<\/small><\/td>/, 'last seen');
  t.notMatch(admin, /class="scroll"|tabindex/, 'no sideways scroll region any more');
  t.match(admin, /<body class="wide">/, 'a wide page at desktop widths');

  // The device booted at 1970 and NTP has not synced: relative times only, never a date.
  const early = renderSessionsPage({ clock: untrusted, csrfToken: 'tok', isAdmin: true, username: 'alice', listAvailable: true,
    sessions: [{ ref: 'r', user: 'alice', role: 'admin', createdAtMs: BOOT_1970 - 2 * 3_600_000, lastSeenAtMs: BOOT_1970 - 30_000, current: true }] });
  t.match(early, /<td>2 h ago<\/td><td>just now<\/td>/);
  t.notMatch(early, /1970|1969|<time|<small/, 'no 1970 date, no datetime attribute');
  // One "sign out all of" per other user, the signed-in user gets "everywhere".
  const perUser = [...admin.matchAll(/<input type="hidden" name="user" value="([^"]+)"><button class="secondary" type="submit">Sign out all of ([^<]+)</g)].map((m) => m[1]);
  t.same(perUser, ['user1', 'user2', 'user0'], 'distinct other users, first-seen order');
  t.match(admin, /<input type="hidden" name="user" value="alice"><button type="submit">Sign out everywhere<\/button>/);

  const user = renderSessionsPage({ clock, csrfToken: 'tok', sessions: rows.slice(0, 1), isAdmin: false, username: 'alice', listAvailable: true });
  t.notMatch(user, /Sign out all of/, 'no per-user forms for non-admins');
  t.match(user, /Sign out everywhere/);

  const cookie = renderSessionsPage({ clock, csrfToken: 'tok', sessions: [], isAdmin: true, username: 'alice', listAvailable: false, note: 'No list in cookie mode.' });
  t.match(cookie, /<p role="status">No list in cookie mode.<\/p>/);
  t.notMatch(cookie, /<table/);
  t.notMatch(cookie, /action="\/sessions\/revoke">/);
  t.equal(cookie.match(/action="\/sessions\/revoke-user">/g)?.length, 1, 'only "sign out everywhere"');

  const capped = renderSessionsPage({ clock, csrfToken: 'tok', sessions: sessions(30), isAdmin: true, username: 'alice', listAvailable: true, maxRows: 5 });
  t.equal(capped.match(/<th scope="row">/g)?.length, 5, 'rows capped');
  t.match(capped, /showing 5 of 30/);
  t.end();
});

t.test('users page', (t) => {
  const html = renderUsersPage({ clock, csrfToken: 'tok', username: 'admin', roles: ROLES, canWrite: true, notice: 'bob was removed.', users: [
    { name: 'admin', role: 'admin', mustChangePassword: false, activeSessions: 1, lastSignInAtMs: NOW - 50 * 60_000 },
    { name: 'alice', role: 'viewer', mustChangePassword: true, activeSessions: 0, lastSignInAtMs: undefined },
    { name: 'carol', role: 'viewer', mustChangePassword: false, activeSessions: 2, lastSignInAtMs: NOW - 3 * 86_400_000 },
  ] });
  t.match(html, /<title>Users — ringlet<\/title>/);
  t.match(html, /<p role="status">bob was removed.<\/p>/);
  t.match(html, /<table class="stack t-users"><caption id="users-caption">Users \(3\)<\/caption>/);
  t.equal(html.match(/<th scope="row">/g)?.length, 3);
  // One form per operation carries the CSRF token; rows' buttons point at them.
  t.equal(html.match(/name="csrf" value="tok"/g)?.length, 6, 'csrf once per operation form (role ×2, reset, remove, add) and the logout form');
  t.match(html, /<form id="op-role-viewer" method="post" action="\/users\/role"><input type="hidden" name="csrf" value="tok"><input type="hidden" name="role" value="viewer"><\/form>/);
  t.match(html, /<form id="op-remove" method="post" action="\/users\/remove"><input type="hidden" name="csrf" value="tok"><\/form>/);
  t.match(html, /<button form="op-role-admin" name="user" value="alice">Make admin<span class="vh"> alice<\/span><\/button>/);
  t.match(html, /<button form="op-reset" name="user" value="carol">Reset password<span class="vh"> carol<\/span><\/button>/);
  t.match(html, /<button form="op-remove" name="user" value="carol">Remove<span class="vh"> carol<\/span><\/button>/);
  // The only admin: not demoted, not removed, and one's own password is changed, not reset.
  t.notMatch(html, /value="admin">(Make viewer|Remove|Reset password)/, 'no demote, remove or reset offered for the only admin (who is also the viewer of the page)');
  t.match(html, /<th scope="row">admin <span class="muted">\(you\)<\/span><\/th><td>admin<\/td><td>set<\/td><td>1 active<\/td><td><time datetime="2026-11-30T11:10Z">50 min ago<\/time> <small>2026-11-30 11:10 UTC<\/small><\/td><td><div class="actions"><a href="\/password">Change password<\/a><span class="muted">The only admin<\/span><\/div><\/td>/);
  t.match(html, /<th scope="row">alice<\/th><td>viewer<\/td><td>must change<\/td><td>none<\/td><td><span class="muted">unknown<\/span><\/td>/);
  t.match(html, /<td>2 active<\/td><td><time datetime="2026-11-27T12:00Z">3 days ago<\/time>/);
  // The add form: labelled, viewer preselected, the name's rule said and checked without script.
  t.match(html, /<form class="fields" method="post" action="\/users\/add" aria-labelledby="add-heading"><input type="hidden" name="csrf" value="tok">/);
  t.match(html, /<label for="new-name">User name<\/label><input id="new-name" name="user" type="text" value=""[^>]* maxlength="64" pattern="\[A-Za-z0-9._@\\-\]\{1,64\}" required aria-describedby="new-name-hint">/);
  t.match(html, /<label for="new-role">Role<\/label><select id="new-role" name="role"><option value="admin">admin<\/option><option value="viewer" selected>viewer<\/option><\/select>/);

  // Two admins: each may be demoted or removed.
  const two = renderUsersPage({ clock, csrfToken: 'tok', username: 'admin', roles: ROLES, canWrite: true, users: users(3) });
  t.match(two, /form="op-role-viewer" name="user" value="admin">Make viewer/);
  t.match(two, /form="op-remove" name="user" value="user1">Remove/);

  const refused = renderUsersPage({ clock, csrfToken: 'tok', username: 'admin', roles: ROLES, canWrite: true, users: users(2), error: 'user "Alice" already exists', addName: 'alice', addRole: 'admin' });
  t.match(refused, /<title>Error: Users — ringlet<\/title>/);
  t.match(refused, /<p id="form-error" role="alert">user &quot;Alice&quot; already exists<\/p>/);
  t.match(refused, /value="alice"[^>]* aria-describedby="new-name-hint form-error" aria-invalid="true">/);
  t.match(refused, /<option value="admin" selected>admin<\/option><option value="viewer">viewer<\/option>/, 'the chosen role is kept');

  const readOnly = renderUsersPage({ clock, csrfToken: 'tok', username: 'admin', roles: ROLES, canWrite: false, users: users(3) });
  t.notMatch(readOnly, /<button form=|action="\/users\//, 'no operations without users:write');

  const cookie = renderUsersPage({ clock, csrfToken: 'tok', username: 'admin', roles: ROLES, canWrite: true, users: users(2).map((u) => ({ ...u, activeSessions: undefined })) });
  t.match(cookie, /<td><span class="muted">not counted<\/span><\/td>/);
  t.match(cookie, /Cookie mode keeps no list of sessions/);
  t.end();
});

t.test('confirming an operation on a user', (t) => {
  const base = { csrfToken: 'tok', username: 'admin', user: 'bob' };
  const remove = renderUserConfirmPage({ ...base, operation: 'remove', activeSessions: 2 });
  t.match(remove, /<title>Remove bob\? — ringlet<\/title>/);
  t.match(remove, /<h1>Remove bob\?<\/h1><p>bob can no longer sign in. Their 2 sessions end at once.<\/p>/);
  t.match(remove, /<form class="actions" method="post" action="\/users\/remove"><input type="hidden" name="csrf" value="tok"><input type="hidden" name="user" value="bob"><input type="hidden" name="confirm" value="yes"><button type="submit">Remove bob<\/button><a class="button" href="\/users">Cancel<\/a><\/form>/);
  const demote = renderUserConfirmPage({ ...base, operation: 'role', role: 'viewer', activeSessions: 1 });
  t.match(demote, /<h1>Make bob viewer\?<\/h1><p>bob will sign in as viewer from now on. Their 1 session ends at once.<\/p>/);
  t.match(demote, /<input type="hidden" name="role" value="viewer"><input type="hidden" name="confirm" value="yes">/);
  const reset = renderUserConfirmPage({ ...base, operation: 'reset', activeSessions: undefined });
  t.match(reset, /<h1>Reset the password of bob\?<\/h1><p>Their password stops working[^<]* Their sessions end at once.<\/p>/);
  const idle = renderUserConfirmPage({ ...base, operation: 'remove', activeSessions: 0 });
  t.match(idle, /<p>bob can no longer sign in.<\/p>/, 'nothing said about sessions when there are none');
  t.end();
});

t.test('the one-time password page', (t) => {
  const html = renderOneTimePasswordPage({ csrfToken: 'tok', username: 'admin', notice: 'alice was added as viewer.', user: 'alice', password: '7kq2-9vxm-h3tb-04ne' });
  t.match(html, /<h1>One-time password for alice<\/h1><p role="status">alice was added as viewer.<\/p>/);
  t.match(html, /<dt>One-time password<\/dt><dd class="otp">7kq2-9vxm-h3tb-04ne<\/dd>/);
  t.match(html, /<a href="\/users">Back to users<\/a>/);
  t.end();
});

t.test('home page', (t) => {
  const html = renderHomePage({
    clock,
    site: 'Office router',
    username: 'ann',
    role: 'viewer',
    csrfToken: 'tok',
    createdAtMs: NOW - 5 * 60_000,
    expiresAtMs: Number.NaN,
    links: [
      { href: '/sessions', label: 'Sessions' },
      { href: 'https://docs.example/x', label: 'Docs' },
      { href: 'javascript:alert(1)', label: 'bad1' },
      { href: '//evil.example', label: 'bad2' },
      { href: '/\\evil.example', label: 'bad3' },
      { href: 'data:text/html,x', label: 'bad4' },
    ],
  });
  t.match(html, /<dd>ann<\/dd>/);
  t.match(html, /<dd>viewer<\/dd>/);
  t.match(html, /<dt>Signed in<\/dt><dd><time datetime="2026-11-30T11:55Z">5 min ago<\/time> <small>2026-11-30 11:55 UTC<\/small><\/dd>/);
  t.match(html, /<dt>Session ends at the latest<\/dt><dd><span class="muted">unknown<\/span><\/dd>/);
  t.match(html, /<title>Signed in — Office router<\/title>/);
  t.match(html, /<header><span class="site">Office router<\/span>/);
  const later = renderHomePage({ clock, username: 'ann', role: 'viewer', csrfToken: 'tok', createdAtMs: NOW, expiresAtMs: NOW + 11 * 3_600_000 + 10 * 60_000, links: [] });
  t.match(later, /<dd><time datetime="2026-11-30T23:10Z">in 11 h<\/time> <small>2026-11-30 23:10 UTC<\/small><\/dd>/);
  t.match(later, /<time datetime="2026-11-30T12:00Z">just now<\/time>/);
  t.match(html, /<a href="\/sessions">Sessions<\/a>/);
  t.match(html, /<a href="https:\/\/docs.example\/x">Docs<\/a>/);
  t.notMatch(html, /bad\d/, 'unsafe links dropped');
  t.match(html, /action="\/logout"/);
  t.end();
});

t.test('error page', (t) => {
  const cases: Array<[number, RegExp]> = [
    [404, /<h1>404 Not Found<\/h1>/],
    [401, /<a href="\/login">Sign in<\/a>/],
    [429, /<title>429 Too Many Requests — ringlet<\/title>/],
    [200, /<h1>500 Internal Server Error<\/h1>/],
    [Number.NaN, /<h1>500 /],
    [499, /<h1>499 Error<\/h1>/],
  ];
  for (const [status, expected] of cases) t.match(renderErrorPage(status, 'm'), expected, String(status));
  t.match(renderErrorPage(400, 'bad <thing>'), /<p role="alert">bad &lt;thing&gt;<\/p>/);
  t.end();
});
