/**
 * Shared set-up for the browser tests: a stand-in device admin UI on its own port, ringlet
 * in reverse-proxy mode in front of it, and the browser steps a person takes to sign in.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import tap, { type Test } from 'tap';
import { Browser, findChromium, type Page } from '../support/chromium.js';
import { adminWithPassword, jsonLogin, startTestServer, type SignedIn, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';

/**
 * tap's `skip` option for every browser test: a reason only when no Chromium binary exists
 * (RINGLET_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome).
 */
export const skipWithoutChromium: string | false = findChromium() === undefined
  ? 'no Chromium binary found (set RINGLET_CHROMIUM or `apt-get install -y chromium`)'
  : false;

export const MODES = ['ram', 'cookie'] as const;
export type Mode = (typeof MODES)[number];

/** The protected page and the text only a signed-in user may ever see. */
export const ADMIN_PATH = '/admin/status';
export const ADMIN_TEXT = 'Device status: all radios up';
export const PASSWORD = 'correct horse battery';

/** The submit button of a form, by its action (pages also carry a logout form). */
export const submitOf = (action: string): string => `form[action="${action}"] button[type="submit"]`;

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A page with one form that posts `fields` to `action` when its `#go` button is pressed.
 * `referrerPolicy` lets a hostile page choose what Origin its browser sends.
 */
export function formPage(action: string, fields: Record<string, string>, referrerPolicy?: string): string {
  const inputs = Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`).join('');
  const meta = referrerPolicy === undefined ? '' : `<meta name="referrer" content="${escape(referrerPolicy)}">`;
  return `<!doctype html>${meta}<title>You won a prize</title><form method="post" action="${escape(action)}">${inputs}<button id="go" type="submit">Claim</button></form>`;
}

export interface AdminUi {
  origin: string;
  /** Extra HTML pages by path a test may add (served like the status page). */
  pages: Map<string, string>;
  /** Every request the stand-in received, in order (path and the headers that matter). */
  seen: Array<{ path: string; remoteUser: string | undefined; cookie: string | undefined }>;
  close(): Promise<void>;
}

/**
 * A stand-in for a device's web UI (LuCI, a NAS page). Like many small embedded UIs it
 * sends no caching headers at all, and sets a script-readable cookie of its own (a control
 * for the `document.cookie` check: that cookie must be visible, ringlet's must not).
 */
export async function startAdminUi(): Promise<AdminUi> {
  const seen: AdminUi['seen'] = [];
  const pages = new Map<string, string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const remoteUser = req.headers['remote-user'] as string | undefined;
    seen.push({ path: req.url ?? '', remoteUser, cookie: req.headers.cookie });
    const extra = pages.get(req.url ?? '');
    if (extra !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(extra);
      return;
    }
    if (req.url !== ADMIN_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('no such page');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Set-Cookie': 'ui-theme=dark; Path=/; SameSite=Lax' });
    res.end(`<!doctype html><title>Router admin</title><h1>${ADMIN_TEXT}</h1><p id="remote-user">Remote-User: ${escape(remoteUser ?? '(none)')}</p>`
      // Tells whether page scripts ran (the JavaScript-disabled test's control).
      + '<p id="js">scripts off</p><script>document.getElementById("js").textContent = "scripts on";</script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    pages,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface Stack {
  ringlet: TestServer;
  ui: AdminUi;
  /** ringlet's origin: what the browser visits. */
  base: string;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface StackOptions {
  /**
   * Replace the generated admin password by {@link PASSWORD} first (over plain HTTP, not in
   * the browser), as it would be after the first sign-in. Default true.
   */
  changePassword?: boolean;
  /**
   * Visit ringlet under this name instead of 127.0.0.1 (the browser must map it to
   * 127.0.0.1); it is added to the Host allow-list.
   */
  hostName?: string;
}

/** ringlet (mode as given) in front of a fresh stand-in UI, both closed at teardown. */
export async function startStack(t: Teardown, mode: Mode, o: StackOptions = {}): Promise<Stack> {
  const ui = await startAdminUi();
  t.teardown(() => ui.close());
  const allowedHosts = o.hostName === undefined ? [] : [o.hostName, '127.0.0.1'];
  const ringlet = await startTestServer({ mode, options: { upstream: new URL(ui.origin), allowedHosts } });
  t.teardown(() => ringlet.close());
  if (o.changePassword ?? true) await adminWithPassword(ringlet, PASSWORD);
  return { ringlet, ui, base: o.hostName === undefined ? ringlet.origin : `http://${o.hostName}:${ringlet.port}` };
}

/** Types the credentials into the login form on screen and submits it. */
export async function submitLogin(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.clickAndWait(submitOf('/login'));
}

/** The path and query of the page on screen. */
export async function pathOf(page: Page): Promise<string> {
  const url = new URL(await page.url());
  return url.pathname + url.search;
}

/** Visits the protected page, gets sent to the login form, signs in, ends up back on it. */
export async function signIn(page: Page, stack: Stack, password = PASSWORD): Promise<void> {
  await page.goto(stack.base + ADMIN_PATH);
  await submitLogin(page, 'admin', password);
  const at = await pathOf(page);
  if (at !== ADMIN_PATH) throw new Error(`sign-in ended on ${at}, not ${ADMIN_PATH}`);
}

/** The session cookie's value in the page's cookie jar, if any. */
export async function sessionCookieValue(page: Page, base: string): Promise<string | undefined> {
  return (await page.cookies(base)).find((c) => c.name === 'ringlet')?.value;
}

/**
 * One Chromium per test file, closed when the file's tests end; each page gets its own
 * browser context (cookie jar) and closes with the test that opened it. Undefined when
 * Chromium is not installed (the tests skip with the reason).
 */
export async function browserForFile(extraArgs: readonly string[] = []): Promise<((t: Test) => Promise<Page>) | undefined> {
  if (skipWithoutChromium !== false) return undefined;
  const browser = await Browser.launch(extraArgs);
  tap.teardown(() => browser.close());
  return async (t: Test) => {
    const page = await browser.newPage();
    t.teardown(() => page.close());
    return page;
  };
}

/** The admin's session over plain HTTP (not the browser's): for setting the scene. */
export async function adminOverHttp(stack: Stack): Promise<SignedIn> {
  const r = await jsonLogin(stack.ringlet, 'admin', PASSWORD);
  if (r.status !== 200) throw new Error(`admin login: ${r.status} ${r.text}`);
  return { cookie: sessionCookieOf(r), csrf: r.json.csrfToken, user: 'admin' };
}

/** A JSON call to a users route as `who`, the way an API client makes it. */
export function usersApi(stack: Stack, who: SignedIn, path: string, json: unknown): ReturnType<TestServer['request']> {
  return stack.ringlet.request('POST', path, { headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: stack.ringlet.origin }, json });
}

/**
 * A user added over the API who has chosen `password` already (over HTTP, not in the
 * browser): the scene for a flow that is about something else.
 */
export async function userWithPassword(stack: Stack, admin: SignedIn, user: string, role: 'admin' | 'viewer', password: string): Promise<void> {
  const added = await usersApi(stack, admin, '/users/add', { user, role });
  if (added.status !== 201) throw new Error(`add ${user}: ${added.status} ${added.text}`);
  const first = await jsonLogin(stack.ringlet, user, added.json.oneTimePassword);
  const changed = await stack.ringlet.request('POST', '/password', {
    headers: { cookie: sessionCookieOf(first), 'x-csrf-token': first.json.csrfToken, origin: stack.ringlet.origin },
    json: { currentPassword: added.json.oneTimePassword, newPassword: password },
  });
  if (changed.status !== 200) throw new Error(`password of ${user}: ${changed.status} ${changed.text}`);
}

/** Signs `user` in through the login form from the protected page, and checks where it ended. */
export async function signInAs(page: Page, stack: Stack, user: string, password: string): Promise<void> {
  await page.goto(stack.base + ADMIN_PATH);
  await submitLogin(page, user, password);
  const at = await pathOf(page);
  if (at !== ADMIN_PATH) throw new Error(`sign-in of ${user} ended on ${at}, not ${ADMIN_PATH}`);
}
