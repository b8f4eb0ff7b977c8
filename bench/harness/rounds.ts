/**
 * Interleaved rounds: every round builds fresh subjects, then runs each phase on every
 * subject back to back (order rotated per round), so drift (thermal, JIT, other load)
 * hits all subjects alike. Baselines and the harness-alone subject run in the same process.
 */
import { GcObserver, emptyGcCounts } from './gc-observer.js';
import type { GcCounts, GcKind } from './gc-observer.js';
import { measure } from './measure.js';
import type { PhaseLoop, Sample } from './measure.js';
import { median } from './stats.js';

export interface PhaseSpec {
  name: string;
  ops: number;
}

/** A phase loop, or a loop with untimed preparation (run before the pre-phase GC). */
export type PhaseEntry = PhaseLoop | { prepare: () => void; loop: PhaseLoop };

/** A subject builds fresh state each round and returns one entry per phase name. */
export interface Subject {
  name: string;
  round(): Record<string, PhaseEntry>;
}

export interface PhaseSummary {
  phase: string;
  subject: string;
  ops: number;
  rounds: number;
  medianOpsPerSec: number;
  /** GC events summed over all rounds. */
  gcTotal: GcCounts;
  medianHeapGrowthBytes: number;
  samples: Sample[];
}

export async function runRounds(
  phases: readonly PhaseSpec[], subjects: readonly Subject[], rounds: number,
  progress: (line: string) => void = () => {},
): Promise<PhaseSummary[]> {
  const observer = new GcObserver();
  const samples = new Map<string, Sample[]>();
  const key = (phase: string, subject: string) => `${phase}\u0000${subject}`;
  try {
    for (let round = 0; round < rounds; round++) {
      const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
      const loops = new Map(order.map((s) => [s.name, s.round()]));
      for (const phase of phases) {
        for (const subject of order) {
          const entry = loops.get(subject.name)![phase.name];
          if (!entry) continue;
          if (typeof entry !== 'function') entry.prepare();
          const sample = await measure(observer, typeof entry === 'function' ? entry : entry.loop, phase.ops);
          const list = samples.get(key(phase.name, subject.name)) ?? [];
          list.push(sample);
          samples.set(key(phase.name, subject.name), list);
          progress(`round ${round + 1}/${rounds} ${phase.name} ${subject.name}: ${Math.round(sample.opsPerSec).toLocaleString('en')} ops/s`);
        }
      }
    }
  } finally {
    observer.disconnect();
  }
  const out: PhaseSummary[] = [];
  for (const phase of phases) {
    for (const subject of subjects) {
      const list = samples.get(key(phase.name, subject.name));
      if (!list) continue;
      const gcTotal = emptyGcCounts();
      for (const s of list) for (const k of Object.keys(gcTotal) as GcKind[]) gcTotal[k] += s.gc[k];
      out.push({
        phase: phase.name, subject: subject.name, ops: phase.ops, rounds: list.length,
        medianOpsPerSec: median(list.map((s) => s.opsPerSec)), gcTotal,
        medianHeapGrowthBytes: median(list.map((s) => s.heapGrowthBytes)), samples: list,
      });
    }
  }
  return out;
}

export function totalGc(counts: GcCounts): number {
  return counts.minor + counts.major + counts.incremental + counts.weakcb + counts.other;
}
