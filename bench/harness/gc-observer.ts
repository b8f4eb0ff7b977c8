/**
 * Counts garbage collections by kind with a PerformanceObserver ('gc' entries). Entries
 * arrive asynchronously, so call `settle()` after a timed loop before asking for counts.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';

export type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb' | 'other';

const KIND_NAMES: ReadonlyMap<number, GcKind> = new Map<number, GcKind>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

export type GcCounts = Record<GcKind, number>;

export function emptyGcCounts(): GcCounts {
  return { minor: 0, major: 0, incremental: 0, weakcb: 0, other: 0 };
}

interface GcRecord {
  startMs: number;
  kind: GcKind;
}

export class GcObserver {
  private readonly records: GcRecord[] = [];
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.records.push({ startMs: entry.startTime, kind: kindOf(entry) });
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Collections that started inside [fromMs, toMs] (performance.now() time base). */
  countBetween(fromMs: number, toMs: number): GcCounts {
    const counts = emptyGcCounts();
    for (const r of this.records) if (r.startMs >= fromMs && r.startMs <= toMs) counts[r.kind]++;
    return counts;
  }

  clear(): void {
    this.records.length = 0;
  }

  disconnect(): void {
    this.observer.disconnect();
  }
}

function kindOf(entry: PerformanceEntry): GcKind {
  const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
  return KIND_NAMES.get(detail?.kind ?? -1) ?? 'other';
}

/** Let queued observer callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
