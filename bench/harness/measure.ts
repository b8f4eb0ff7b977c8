/**
 * One timed run of a phase: GC before (outside the window), time the synchronous loop,
 * count collections inside the window, GC again and report retained heap growth.
 * Requires `node --expose-gc`.
 */
import { performance } from 'node:perf_hooks';
import { GcObserver, settle } from './gc-observer.js';
import type { GcCounts } from './gc-observer.js';

export interface Sample {
  ops: number;
  ms: number;
  opsPerSec: number;
  gc: GcCounts;
  /** heapUsed after a full GC, minus the same before the run. */
  heapGrowthBytes: number;
  /** Whatever the loop returned, printed nowhere: it keeps the loop from being optimised away. */
  sink: number;
}

/** A phase body: runs `ops` operations synchronously and returns a checksum. */
export type PhaseLoop = (ops: number) => number;

export function requireGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('run benchmarks with node --expose-gc');
  return gc;
}

export function heapAfterGc(): number {
  const gc = requireGc();
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

export async function measure(observer: GcObserver, loop: PhaseLoop, ops: number): Promise<Sample> {
  const heapBefore = heapAfterGc();
  await settle();
  observer.clear();
  const start = performance.now();
  const sink = loop(ops);
  const end = performance.now();
  await settle();
  const gc = observer.countBetween(start, end);
  const heapGrowthBytes = heapAfterGc() - heapBefore;
  const ms = end - start;
  return { ops, ms, opsPerSec: ops / (ms / 1000), gc, heapGrowthBytes, sink };
}
