/**
 * The pages a running server writes: the configured device name in every title and banner
 * (error pages too, whichever module wrote them), times in the configured zone, and the
 * untrusted-wall-clock rule end to end: a device whose clock reads 1970 shows relative
 * times only, in both session modes.
 */
import t from 'tap';
import { adminWithPassword, startTestServer } from '../support/server.js';

const HTML = { accept: 'text/html' };
const NAME = 'Büro <AP> & "Lab"';
const NAME_HTML = 'Büro &lt;AP&gt; &amp; &quot;Lab&quot;';
/** 2026-11-30 06:48:00 UTC, above the trusted floor. */
const TRUSTED_NOW = Date.UTC(2026, 10, 30, 6, 48);

const titleOf = (html: string): string | undefined => /<title>([^<]*)<\/title>/.exec(html)?.[1];
const bannerOf = (html: string): string | undefined => /<header><span class="site">([^<]*)<\/span>/.exec(html)?.[1];

for (const mode of ['ram', 'cookie'] as const) {
  t.test(`${mode} mode: the device name heads every page, error pages included`, async (t) => {
    // Both clocks injected: session times are estimated from the monotonic clock and now's wall clock.
    let wallMs = TRUSTED_NOW + 30_000;
    let monoMs = 1_000;
    const s = await startTestServer({ mode, wall: { now: () => wallMs }, monotonic: { now: () => monoMs }, options: { deviceName: NAME, timeZone: 'Europe/Berlin' } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    const signedIn = { ...HTML, cookie: admin.cookie };
    const pages: Array<[string, string, Record<string, string>, number, string]> = [
      ['login', '/login', HTML, 200, `Sign in — ${NAME_HTML}`],
      ['home', '/', signedIn, 200, `Signed in — ${NAME_HTML}`],
      ['sessions', '/sessions', signedIn, 200, `Sessions — ${NAME_HTML}`],
      ['password', '/password', signedIn, 200, `Change password — ${NAME_HTML}`],
      ['404 (the dispatcher)', '/no-such-page', signedIn, 404, `404 Not Found — ${NAME_HTML}`],
      ['405 (a GET to a POST route)', '/sessions/revoke', { accept: 'text/html' }, 405, `405 Method Not Allowed — ${NAME_HTML}`],
    ];
    for (const [name, path, headers, status, title] of pages) {
      const reply = await s.request('GET', path, { headers });
      t.equal(reply.status, status, `${name}: ${status}`);
      t.equal(titleOf(reply.text), title, `${name}: title`);
      t.equal(bannerOf(reply.text), NAME_HTML, `${name}: banner`);
      t.notOk(reply.text.includes(NAME), `${name}: never unescaped`);
    }
    const refused = await s.request('POST', '/logout', { headers: { ...HTML, cookie: admin.cookie, origin: 'http://evil.example' }, form: {} });
    t.equal(refused.status, 403);
    t.equal(titleOf(refused.text), `403 Forbidden — ${NAME_HTML}`, 'an error page written by the gate names the device too');

    // Absolute times in the configured zone: the session began "just now", 07:48 in Berlin.
    const home = await s.request('GET', '/', { headers: signedIn });
    t.match(home.text, /<dt>Signed in<\/dt><dd><time datetime="2026-11-30T06:48Z">just now<\/time> <small>2026-11-30 07:48 GMT\+1<\/small><\/dd>/);
    wallMs += 5 * 60_000 + 10_000;
    monoMs += 5 * 60_000 + 10_000;
    const later = await s.request('GET', '/', { headers: signedIn });
    t.match(later.text, /<dd><time datetime="2026-11-30T06:48Z">5 min ago<\/time> <small>2026-11-30 07:48 GMT\+1<\/small><\/dd>/, 'the same start, read 5 minutes later');
  });

  t.test(`${mode} mode: a device whose wall clock reads 1970 shows relative times, never a date`, async (t) => {
    // Booted without a real-time clock: 1970-01-01T00:02:00Z; the monotonic clock drives expiry.
    let wallMs = 120_000;
    let monoMs = 1_000;
    const s = await startTestServer({ mode, wall: { now: () => wallMs }, monotonic: { now: () => monoMs } });
    t.teardown(() => s.close());
    const admin = await adminWithPassword(s);
    wallMs += 3 * 60_000;
    monoMs += 3 * 60_000;
    for (const path of ['/', '/sessions', '/users']) {
      const reply = await s.request('GET', path, { headers: { ...HTML, cookie: admin.cookie } });
      t.equal(reply.status, 200, path);
      t.notMatch(reply.text, /19[67]\d-|<time|<small>/, `${path}: no 1970 date, no datetime attribute`);
      if (path === '/') {
        t.match(reply.text, /<dt>Signed in<\/dt><dd>3 min ago<\/dd>/, `${path}: relative only`);
        t.match(reply.text, /<dt>Session ends at the latest<\/dt><dd>in \d+ h<\/dd>/, `${path}: relative only`);
      } else if (path === '/users') {
        t.match(reply.text, /<th scope="row">admin <span class="muted">\(you\)<\/span><\/th>.*?<td>3 min ago<\/td>/, `${path}: the last sign-in, relative only`);
      } else if (mode === 'ram') {
        t.match(reply.text, /<td>3 min ago<\/td><td>just now<\/td>/, `${path}: signed in 3 min ago, seen just now`);
      }
    }
    const json = await s.request('GET', '/users', { headers: { cookie: admin.cookie } });
    t.same(json.json.users.map((u: Record<string, unknown>) => [u['lastSignInSecondsAgo'], u['lastSignInAt']]), [[180, null]], 'JSON: how long ago, and no 1970 date');
  });
}
