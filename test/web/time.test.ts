/**
 * The one time formatter of every page: relative text, the absolute time in UTC or a zone,
 * and the untrusted-wall-clock rule (a device below the trusted floor shows relative times
 * only, never a 1970 date). Clocks are injected: nothing here reads the machine's time.
 */
import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_TRUSTED_FLOOR_MS, createSessionClocks, wallClockTrusted } from '../../src/session/time-policy.js';
import { absoluteTime, durationText, relativeTime, timeHtml, UTC_ZONE, zoneFormat, type PageClock } from '../../src/web/index.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const DAY = 24 * H;
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

t.test('relative text: one unit, rounded, past and future', (t) => {
  const cases: Array<[number, string]> = [
    [0, 'just now'],
    [-1, 'just now'],
    [-59 * S, 'just now'],
    [1, 'in under a minute'],
    [59 * S, 'in under a minute'],
    [-60 * S, '1 min ago'],
    [-89 * S, '1 min ago'],
    [-90 * S, '2 min ago'],
    [-5 * MIN, '5 min ago'],
    [-59 * MIN - 29 * S, '59 min ago'],
    [-59 * MIN - 30 * S, '1 h ago'],
    [11 * H, 'in 11 h'],
    [11 * H + 29 * MIN, 'in 11 h'],
    [11 * H + 30 * MIN, 'in 12 h'],
    [-23 * H - 29 * MIN, '23 h ago'],
    [-23 * H - 30 * MIN, '1 day ago'],
    [36 * H, 'in 2 days'],
    [-59 * DAY, '59 days ago'],
    [-60 * DAY, '2 months ago'],
    [-400 * DAY, '13 months ago'],
    [-800 * DAY, '2 years ago'],
    [9600 * H, 'in 13 months'],
  ];
  for (const [delta, expected] of cases) t.equal(relativeTime(NOW + delta, NOW), expected, `${delta} ms`);
  t.equal(durationText(0), '1 min', 'a duration is never "0 min"');
  t.end();
});

t.test('absolute text: UTC by hand, other zones by their offset', (t) => {
  const at = Date.UTC(2026, 10, 30, 6, 48, 51, 407);
  t.equal(UTC_ZONE.format(at), '2026-11-30 06:48 UTC');
  t.equal(zoneFormat('UTC'), UTC_ZONE);
  t.equal(zoneFormat('Etc/UTC').format(at), '2026-11-30 06:48 UTC');
  t.equal(UTC_ZONE.format(Date.UTC(2027, 0, 2, 3, 4)), '2027-01-02 03:04 UTC', 'zero-padded');
  const berlin = zoneFormat('Europe/Berlin');
  t.equal(berlin.format(at), '2026-11-30 07:48 GMT+1', 'winter');
  t.equal(berlin.format(Date.UTC(2026, 6, 1, 22, 30)), '2026-07-02 00:30 GMT+2', 'summer, across midnight');
  t.equal(zoneFormat('Asia/Kolkata').format(at), '2026-11-30 12:18 GMT+5:30');
  t.equal(zoneFormat('America/Los_Angeles').format(at), '2026-11-29 22:48 GMT-8', 'the day before');
  t.equal(zoneFormat('Europe/London').format(at), '2026-11-30 06:48 GMT+0', 'a zone at offset 0 says so');
  t.end();
});

t.test('unknown or malformed zones are configuration errors naming the field', (t) => {
  for (const zone of ['Mars/Olympus_Mons', '', 'Europe/Berlin; rm', '../etc/passwd', 'x'.repeat(65), 'Europe/Berlin\n']) {
    let thrown: unknown;
    try {
      zoneFormat(zone, 'timeZone');
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof ConfigError && thrown.field === 'timeZone', `${JSON.stringify(zone)}: ${String(thrown)}`);
  }
  t.end();
});

t.test('the untrusted-wall-clock rule: no date below the trusted floor', (t) => {
  // The clocks the server holds, injected: a wall clock at 1970 + 1 h (booted without an RTC).
  let wallMs = 3_600_000;
  const clocks = createSessionClocks({ now: () => 5_000 }, { now: () => wallMs });
  const view = (): PageClock => ({ nowMs: clocks.wall.now(), wallTrusted: wallClockTrusted(clocks), trustedFloorMs: clocks.trustedFloorMs, zone: UTC_ZONE });

  t.equal(wallClockTrusted(clocks), false);
  const early = view();
  // A session that began 5 min ago and ends in 11 h, as the session managers estimate it.
  t.equal(absoluteTime(early.nowMs - 5 * MIN, early), undefined);
  t.equal(timeHtml(early.nowMs - 5 * MIN, early), '5 min ago', 'relative only, without a <time datetime>');
  t.equal(timeHtml(early.nowMs + 11 * H, early), 'in 11 h');

  // NTP syncs: the wall clock jumps to 2026; the same session (estimates follow the wall clock) gains its dates.
  wallMs = NOW;
  const synced = view();
  t.equal(wallClockTrusted(clocks), true);
  t.equal(timeHtml(synced.nowMs - 5 * MIN, synced), '<time datetime="2026-11-30T11:55Z">5 min ago</time> <small>2026-11-30 11:55 UTC</small>');

  // Trusted now, but the instant itself lies below the floor (an estimate across the jump): no date.
  t.equal(absoluteTime(DEFAULT_TRUSTED_FLOOR_MS - 1, synced), undefined);
  t.equal(absoluteTime(DEFAULT_TRUSTED_FLOOR_MS, synced), '2026-11-01 00:00 UTC');
  t.notMatch(timeHtml(0, synced), /1970|<time/, 'the epoch itself is never written as a date');
  t.end();
});

t.test('unknown times', (t) => {
  const clock: PageClock = { nowMs: NOW, wallTrusted: true, trustedFloorMs: DEFAULT_TRUSTED_FLOOR_MS, zone: UTC_ZONE };
  for (const value of [undefined, Number.NaN, Number.POSITIVE_INFINITY]) t.equal(timeHtml(value, clock), '<span class="muted">unknown</span>', String(value));
  t.end();
});
