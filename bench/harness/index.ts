/** Shared benchmark helpers: GC observation, timed phases, interleaved rounds, reports. */
export { GcObserver, settle, emptyGcCounts } from './gc-observer.js';
export type { GcCounts, GcKind } from './gc-observer.js';
export { measure, heapAfterGc, requireGc } from './measure.js';
export type { PhaseLoop, Sample } from './measure.js';
export { median, sum } from './stats.js';
export { runRounds, totalGc } from './rounds.js';
export type { PhaseEntry, PhaseSpec, PhaseSummary, Subject } from './rounds.js';
export { benchProfiles, runBench } from './run.js';
export { markdownTable, formatNumber, writeResults, resultsDir, environment } from './report.js';
