/**
 * Paced background traffic for as long as a phase lasts: back-to-back short runs of the
 * built-in generator (its own process) until stopped; totals are summed.
 */
import { runLoad } from './run.js';
import type { LoadSpec } from './types.js';

const CHUNK_MS = 2000;

export interface BackgroundTotals {
  requests: number;
  non2xx: number;
  socketErrors: number;
}

export function startBackground(spec: Omit<LoadSpec, 'durationMs'>): { stop(): Promise<BackgroundTotals> } {
  const totals: BackgroundTotals = { requests: 0, non2xx: 0, socketErrors: 0 };
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const r = await runLoad({ ...spec, durationMs: CHUNK_MS });
      totals.requests += r.requests;
      totals.non2xx += r.non2xx;
      totals.socketErrors += r.socketErrors;
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return totals;
    },
  };
}
