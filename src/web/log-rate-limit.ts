/**
 * At most one log line per kind of event per interval. An attacker who opens ten thousand
 * connections must not also write ten thousand log lines (a full journal, flash wear on an
 * appliance, the operator's real events scrolled away). Totals belong in metrics; the log
 * says that it is happening, and how much was left out.
 */
import type { MonotonicClock } from '../util/clock.js';
import type { LogFunction } from './log.js';

interface LineState {
  lastLineAtMs: number;
  suppressed: number;
}

/**
 * The first event of a kind is written at once; later ones within `intervalMs` of the last
 * line are counted, and the next line written carries `suppressed`: how many were left out
 * since the line before. Kinds are chosen by the caller's code, never taken from a request,
 * so the table holds as many entries as the code names kinds.
 *
 * @example
 * const gate = new LogRateLimit(60_000, systemMonotonicClock);
 * gate.write(log.warn, 'connection_refused', 'connection_refused:per_address', { reason: 'per_address' });
 */
export class LogRateLimit {
  private readonly lines = new Map<string, LineState>();

  constructor(private readonly intervalMs: number, private readonly clock: MonotonicClock) {}

  /** Writes `event` with `fields` (plus `suppressed`) unless `kind` was written within the interval; true if written. */
  write(log: LogFunction, event: string, kind: string, fields: Record<string, unknown>): boolean {
    const now = this.clock.now();
    const state = this.lines.get(kind);
    if (state !== undefined && now - state.lastLineAtMs < this.intervalMs) {
      state.suppressed++;
      return false;
    }
    log(event, { ...fields, suppressed: state?.suppressed ?? 0 });
    this.lines.set(kind, { lastLineAtMs: now, suppressed: 0 });
    return true;
  }

  /** Events of `kind` counted but not yet reported in a line. */
  pending(kind: string): number {
    return this.lines.get(kind)?.suppressed ?? 0;
  }
}
