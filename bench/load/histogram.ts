/**
 * Latency histogram with fixed buckets, allocated once: recording a sample allocates
 * nothing, so the generator's own GC does not show up in the latencies it reports.
 * 10 µs resolution up to 100 ms, then 1 ms up to 10 s; above that is one overflow bucket.
 */
const FINE_BUCKET_MS = 0.01;
const FINE_BUCKETS = 10_000; // 0 .. 100 ms
const COARSE_BUCKET_MS = 1;
const COARSE_BUCKETS = 9_900; // 100 ms .. 10 s
const FINE_LIMIT_MS = FINE_BUCKET_MS * FINE_BUCKETS;

export class LatencyHistogram {
  readonly #counts = new Float64Array(FINE_BUCKETS + COARSE_BUCKETS + 1);
  #total = 0;

  get count(): number {
    return this.#total;
  }

  record(ms: number): void {
    let i: number;
    if (ms < FINE_LIMIT_MS) i = Math.max(0, Math.floor(ms / FINE_BUCKET_MS));
    else i = Math.min(FINE_BUCKETS + COARSE_BUCKETS, FINE_BUCKETS + Math.floor((ms - FINE_LIMIT_MS) / COARSE_BUCKET_MS));
    this.#counts[i]! += 1;
    this.#total++;
  }

  /** The upper edge of the bucket holding the q-quantile (0 < q ≤ 1); NaN when empty, Infinity past 10 s. */
  quantileMs(q: number): number {
    if (this.#total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        if (i === FINE_BUCKETS + COARSE_BUCKETS) return Infinity;
        return i < FINE_BUCKETS ? (i + 1) * FINE_BUCKET_MS : FINE_LIMIT_MS + (i - FINE_BUCKETS + 1) * COARSE_BUCKET_MS;
      }
    }
    return Infinity;
  }
}
