/**
 * The one way pages write a time: how long ago or how long from now ("5 min ago", "in 11 h"),
 * with the absolute time beside it in UTC or the configured zone ("2026-11-30 06:48 UTC").
 *
 * The untrusted-wall-clock rule applies to what people read too. A router without a
 * real-time clock boots at 1970 and jumps when NTP syncs; its session times are estimates
 * made from the monotonic clock and today's wall clock, so the *difference* between a time
 * and now is right whatever the wall clock says, but the date is not. Below the trusted
 * floor a page therefore shows relative times only: never a 1970 date, and no `datetime`
 * attribute that would hand one to a machine.
 */
import { ConfigError } from '../../errors.js';
import { escapeHtml } from './escape.js';

/** Writes an instant as a wall-clock date and time in one zone, to the minute. */
export interface ZoneFormat {
  /** The zone as configured (`UTC`, `Europe/Berlin`). */
  readonly zone: string;
  /** `2026-11-30 06:48 UTC`, `2026-11-30 07:48 GMT+1`. */
  format(ms: number): string;
}

/** What a page needs to write times: now, whether dates may be shown, and in which zone. */
export interface PageClock {
  /** The wall clock now, in ms since the epoch (possibly 1970 on a device without an RTC). */
  nowMs: number;
  /** The wall clock reads at or after the trusted floor (session/time-policy.ts `wallClockTrusted`). */
  wallTrusted: boolean;
  /** No date before this is ever shown (the same floor: a time estimated below it is wrong). */
  trustedFloorMs: number;
  zone: ZoneFormat;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** The Gregorian average month and year: "3 months ago" needs no calendar. */
const MONTH_MS = 30.436875 * DAY_MS;
const YEAR_MS = 365.2425 * DAY_MS;

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function utcText(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())} UTC`;
}

/** UTC needs no time-zone data: written by hand, it works on a Node built without ICU. */
export const UTC_ZONE: ZoneFormat = { zone: 'UTC', format: utcText };

/** Longest zone name accepted (IANA names are at most ~32 characters). */
export const MAX_TIME_ZONE_CHARS = 64;
const ZONE_NAME_RegExp = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

/**
 * The formatter for an IANA zone name (`Europe/Berlin`); `UTC` and `Etc/UTC` need no ICU.
 * Other zones use Intl with the zone's offset as its name (`GMT+1`): unambiguous in every
 * language, unlike abbreviations such as `IST`. Throws ConfigError naming `field` for an
 * unknown zone, or when this Node has no time-zone data.
 */
export function zoneFormat(zone: string, field = 'timeZone'): ZoneFormat {
  if (zone === 'UTC') return UTC_ZONE;
  if (zone === 'Etc/UTC') return { zone, format: utcText };
  if (typeof zone !== 'string' || zone.length > MAX_TIME_ZONE_CHARS || !ZONE_NAME_RegExp.test(zone)) {
    throw new ConfigError(field, 'must be UTC or an IANA time zone name such as Europe/Berlin');
  }
  if (typeof Intl === 'undefined' || typeof Intl.DateTimeFormat !== 'function') {
    throw new ConfigError(field, 'this Node has no time-zone data (built without Intl); use UTC');
  }
  let parts: Intl.DateTimeFormat;
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'shortOffset',
    });
  } catch {
    throw new ConfigError(field, `unknown time zone "${zone}": must be UTC or an IANA name such as Europe/Berlin`);
  }
  const format = (ms: number): string => {
    const p: Record<string, string> = {};
    for (const part of parts.formatToParts(ms)) p[part.type] = part.value;
    const name = p['timeZoneName'] === 'GMT' ? 'GMT+0' : p['timeZoneName'] ?? zone;
    return `${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']} ${name}`;
  };
  return { zone, format };
}

function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** A non-negative duration as a person says it, to one unit: "5 min", "11 h", "3 days". */
export function durationText(ms: number): string {
  const minutes = Math.round(ms / MINUTE_MS);
  if (minutes < 60) return `${Math.max(1, minutes)} min`;
  const hours = Math.round(ms / HOUR_MS);
  if (hours < 24) return `${hours} h`;
  const days = Math.round(ms / DAY_MS);
  if (days < 60) return count(Math.max(1, days), 'day');
  const months = Math.round(ms / MONTH_MS);
  if (months < 24) return count(months, 'month');
  return count(Math.round(ms / YEAR_MS), 'year');
}

/**
 * `atMs` relative to `nowMs`: "just now", "5 min ago", "in under a minute", "in 11 h".
 * Under a minute either way is not counted in seconds: pages are not refreshed live.
 */
export function relativeTime(atMs: number, nowMs: number): string {
  const delta = atMs - nowMs;
  if (Math.abs(delta) < MINUTE_MS) return delta <= 0 ? 'just now' : 'in under a minute';
  const text = durationText(Math.abs(delta));
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

/** The absolute time as text, or undefined when the rule forbids a date (untrusted clock, or before the floor). */
export function absoluteTime(atMs: number, clock: PageClock): string | undefined {
  if (!clock.wallTrusted || !(atMs >= clock.trustedFloorMs)) return undefined;
  return clock.zone.format(atMs);
}

/**
 * A time for a page: `<time datetime="…">5 min ago</time>` and, when dates may be shown,
 * the absolute time beside it (`<small>`: on its own line in tables). `datetime` is given to
 * the minute, like the text (a 100-row table writes 200 of them). An unknown time
 * (undefined, NaN) is written "unknown". Escaped like everything else, though nothing here
 * comes from a client.
 */
export function timeHtml(atMs: number | undefined, clock: PageClock): string {
  if (atMs === undefined || !Number.isFinite(atMs)) return '<span class="muted">unknown</span>';
  const relative = escapeHtml(relativeTime(atMs, clock.nowMs));
  const absolute = absoluteTime(atMs, clock);
  if (absolute === undefined) return relative;
  const minute = `${new Date(atMs).toISOString().slice(0, 16)}Z`;
  return `<time datetime="${minute}">${relative}</time> <small>${escapeHtml(absolute)}</small>`;
}
