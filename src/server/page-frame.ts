/**
 * What every page a route renders is told besides its content: the device's name and the
 * clock pages write times with (web/pages/time.ts), under the untrusted-wall-clock rule.
 */
import { wallClockTrusted } from '../session/time-policy.js';
import type { PageClock } from '../web/index.js';
import type { RequestContext } from './context.js';

/** Now on the wall clock, whether it may be shown as a date, and the configured zone. */
export function pageClock(ctx: RequestContext): PageClock {
  const { clocks, zone } = ctx.deps;
  return { nowMs: clocks.wall.now(), wallTrusted: wallClockTrusted(clocks), trustedFloorMs: clocks.trustedFloorMs, zone };
}

/** The device's name, for `site` on every page. */
export function siteOf(ctx: RequestContext): string {
  return ctx.deps.options.deviceName;
}
