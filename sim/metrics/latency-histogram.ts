/**
 * A mergeable latency histogram with log-spaced buckets (2 % wide), so workers can record
 * millions of deliveries in a few hundred counters and ship them to the main thread as deltas.
 * Percentiles are read back to within one bucket (±2 %), which is finer than anything a
 * 2-core machine can measure reproducibly.
 */

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket 0 holds everything at or below this many ms. */
const FLOOR_MS = 0.05;

export type HistogramBuckets = [index: number, count: number][];

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private maxMs = 0;
  private sumMs = 0;

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxMs;
  }

  get mean(): number {
    return this.total === 0 ? NaN : this.sumMs / this.total;
  }

  record(ms: number): void {
    const value = Math.max(0, ms);
    const index = value <= FLOOR_MS ? 0 : 1 + Math.floor(Math.log(value / FLOOR_MS) / LOG_GROWTH);
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.total += 1;
    this.sumMs += value;
    if (value > this.maxMs) this.maxMs = value;
  }

  merge(other: LatencyHistogram | SerializedHistogram): void {
    const data = other instanceof LatencyHistogram ? other.toJSON() : other;
    for (const [index, count] of data.buckets) this.counts.set(index, (this.counts.get(index) ?? 0) + count);
    this.total += data.count;
    this.sumMs += data.sum;
    if (data.max > this.maxMs) this.maxMs = data.max;
  }

  /** The p-th percentile (0..100), ms: the upper edge of the bucket holding it, capped at the max. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index) ?? 0;
      if (seen >= rank) return Math.min(this.maxMs, upperEdge(index));
    }
    return this.maxMs;
  }

  toJSON(): SerializedHistogram {
    return { buckets: [...this.counts], count: this.total, sum: this.sumMs, max: this.maxMs };
  }

  static from(data: SerializedHistogram): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(data);
    return histogram;
  }
}

export interface SerializedHistogram {
  buckets: HistogramBuckets;
  count: number;
  sum: number;
  max: number;
}

function upperEdge(index: number): number {
  return index === 0 ? FLOOR_MS : FLOOR_MS * GROWTH ** index;
}
