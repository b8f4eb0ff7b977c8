/**
 * Every page, as a person sees it, at 360 × 740 (a phone) and 1280 × 800 (a desktop), in
 * both session modes: a running server named "office-router" with a few users and sessions,
 * driven through its own forms in Chromium. Screenshots go to test-output/screenshots/; with
 * RINGLET_UPDATE_SCREENSHOTS=1 also to test/screenshots/, which the README shows.
 *
 * Also checked here, with or without Chromium: the committed screenshots are all there, at
 * their sizes, and the README shows each of them; and (with Chromium) the page sizes the
 * README states are the sizes the browser received, within 10 %.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '../support/chromium.js';
import { adminWithPassword, jsonLogin, startTestServer, type SignedIn, type TestServer } from '../support/server.js';
import { sessionCookieOf } from '../support/http.js';
import { MODES, PASSWORD, browserForFile, pathOf, skipWithoutChromium, submitLogin, submitOf, type Mode } from './harness.js';

/** dist/test/browser/ → the project root. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUTPUT_DIR = join(ROOT, 'test-output', 'screenshots');
const COMMITTED_DIR = join(ROOT, 'test', 'screenshots');
const UPDATE = process.env['RINGLET_UPDATE_SCREENSHOTS'] === '1';

const VIEWPORTS = [
  { name: '360x740', width: 360, height: 740, mobile: true },
  { name: '1280x800', width: 1280, height: 800, mobile: false },
] as const;

/** Every page ringlet serves, by the name its screenshots carry. */
const PAGES = ['login', 'password', 'home', 'sessions', 'users', 'users-confirm', 'one-time-password', 'error'] as const;
type PageName = (typeof PAGES)[number];

const fileOf = (mode: Mode, page: PageName, viewport: (typeof VIEWPORTS)[number]) => `${mode}/${page}-${viewport.name}.png`;

/** Width and height from a PNG's IHDR chunk (RFC 2083 §4.1.1), after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } | undefined {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(signature) || png.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const readme = (): string => readFileSync(join(ROOT, 'README.md'), 'utf8');

t.test('the committed screenshots: every page, both widths, both modes, each shown in the README', (t) => {
  const text = readme();
  for (const mode of MODES) {
    for (const page of PAGES) {
      for (const v of VIEWPORTS) {
        const file = fileOf(mode, page, v);
        const path = join(COMMITTED_DIR, file);
        t.ok(existsSync(path), `test/screenshots/${file} is committed`);
        if (existsSync(path)) t.same(pngSize(readFileSync(path)), { width: v.width, height: v.height }, `${file}: a ${v.width}x${v.height} PNG`);
        t.ok(text.includes(`src="test/screenshots/${file}"`), `the README shows ${file}`);
      }
    }
  }
  t.end();
});

/** The sizes the README states: `| \`login\` | … | 4.6 KB |` rows of its page table. */
function readmeSizes(): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const m of readme().matchAll(/^\| `([a-z-]+)` \| [^|]+ \| ([\d.]+) KB \|/gm)) sizes.set(m[1] as string, Number(m[2]) * 1024);
  return sizes;
}

const openPage = await browserForFile();
const newPage = (t: Test) => openPage!(t);

interface Scene {
  s: TestServer;
  base: string;
  admin: SignedIn;
  /** alice's one-time password: she has not signed in yet. */
  aliceOtp: string;
}

/** The device: an admin, two more users with sessions from around the house, one not yet signed in. */
async function scene(t: Test, mode: Mode): Promise<Scene> {
  const s = await startTestServer({ mode, options: { deviceName: 'office-router', trustedProxies: ['127.0.0.1'] } });
  t.teardown(() => s.close());
  const admin = await adminWithPassword(s, PASSWORD);
  const call = (path: string, json: unknown) => s.request('POST', path, { headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin: s.origin }, json });
  const alice = await call('/users/add', { user: 'alice', role: 'viewer' });
  for (const [user, role, from] of [['bob', 'admin', '192.168.1.23'], ['maintenance', 'viewer', '2001:db8:85a3::8a2e:370:7334']] as const) {
    const added = await call('/users/add', { user, role });
    const first = await jsonLogin(s, user, added.json.oneTimePassword, { 'x-forwarded-for': from });
    await s.request('POST', '/password', {
      headers: { cookie: sessionCookieOf(first), 'x-csrf-token': first.json.csrfToken, origin: s.origin, 'x-forwarded-for': from },
      json: { currentPassword: added.json.oneTimePassword, newPassword: `${user} has a passphrase`, endOtherSessions: false },
    });
  }
  return { s, base: s.origin, admin, aliceOtp: alice.json.oneTimePassword };
}

async function shoot(t: Test, page: Page, mode: Mode, name: PageName, sizes: Map<string, number>): Promise<void> {
  const response = page.lastDocument;
  if (response !== undefined) {
    const body = await page.responseBody(response.requestId).catch(() => undefined);
    if (body !== undefined && !sizes.has(name)) sizes.set(name, body.length);
  }
  for (const v of VIEWPORTS) {
    const png = await page.screenshot(v.width, v.height, v.mobile);
    t.same(pngSize(png), { width: v.width, height: v.height }, `${mode} ${name} at ${v.name}`);
    const file = fileOf(mode, name, v);
    mkdirSync(join(OUTPUT_DIR, mode), { recursive: true });
    writeFileSync(join(OUTPUT_DIR, file), png);
    if (UPDATE) {
      mkdirSync(join(COMMITTED_DIR, mode), { recursive: true });
      writeFileSync(join(COMMITTED_DIR, file), png);
    }
  }
  // Back to the desktop size the pages are driven at.
  await page.call('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false });
}

for (const mode of MODES) {
  t.test(`${mode} mode: every page at 360x740 and 1280x800`, { skip: skipWithoutChromium }, async (t) => {
    const { base, aliceOtp } = await scene(t, mode);
    const sizes = new Map<string, number>();
    const page = await newPage(t);
    await page.setJavaScriptEnabled(false);
    await page.call('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false });

    await page.goto(`${base}/login`);
    await shoot(t, page, mode, 'login', sizes);
    await submitLogin(page, 'admin', PASSWORD);
    t.equal(await pathOf(page), '/');
    await shoot(t, page, mode, 'home', sizes);
    await page.goto(`${base}/sessions`);
    await shoot(t, page, mode, 'sessions', sizes);
    await page.goto(`${base}/users`);
    await shoot(t, page, mode, 'users', sizes);
    await page.clickAndWait('button[form="op-remove"][value="maintenance"]');
    t.match(await page.html(), /<h1>Remove maintenance\?<\/h1>/);
    await shoot(t, page, mode, 'users-confirm', sizes);
    await page.goto(`${base}/users`);
    await page.fill('#new-name', 'dave');
    await page.clickAndWait(submitOf('/users/add'));
    t.equal(page.lastDocument?.status, 201);
    await shoot(t, page, mode, 'one-time-password', sizes);
    await page.goto(`${base}/no-such-page`);
    t.equal(page.lastDocument?.status, 404);
    await shoot(t, page, mode, 'error', sizes);

    const alice = await newPage(t);
    await alice.setJavaScriptEnabled(false);
    await alice.call('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false });
    await alice.goto(`${base}/login`);
    await submitLogin(alice, 'alice', aliceOtp);
    t.equal(await pathOf(alice), '/password?next=%2F', 'alice is made to change her one-time password');
    await shoot(t, alice, mode, 'password', sizes);

    // The README's page-size table is the RAM-mode run (the sessions list is only there).
    if (mode === 'ram') {
      const stated = readmeSizes();
      for (const name of PAGES) {
        const measured = sizes.get(name);
        const claim = stated.get(name);
        t.ok(measured !== undefined && claim !== undefined && Math.abs(measured - claim) <= 0.1 * measured,
          `${name}: the README says ${claim === undefined ? 'nothing' : `${(claim / 1024).toFixed(1)} KB`}, the browser received ${measured} bytes`);
      }
    }
  });
}
