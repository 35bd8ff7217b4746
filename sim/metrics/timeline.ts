/**
 * Latency per wall-clock second: what the report's chart draws. Workers fill one with the
 * deliveries they saw since their last report and send it as a delta; the main thread merges.
 */
import { LatencyHistogram, type SerializedHistogram } from './latency-histogram.js';

export type SerializedTimeline = [second: number, histogram: SerializedHistogram][];

export class LatencyTimeline {
  private readonly seconds = new Map<number, LatencyHistogram>();

  /** `atMs` is a wall-clock time (ms since the epoch) the sample belongs to. */
  record(atMs: number, latencyMs: number): void {
    const second = Math.floor(atMs / 1000);
    let histogram = this.seconds.get(second);
    if (!histogram) this.seconds.set(second, (histogram = new LatencyHistogram()));
    histogram.record(latencyMs);
  }

  merge(data: SerializedTimeline): void {
    for (const [second, histogram] of data) {
      const existing = this.seconds.get(second);
      if (existing) existing.merge(histogram);
      else this.seconds.set(second, LatencyHistogram.from(histogram));
    }
  }

  get isEmpty(): boolean {
    return this.seconds.size === 0;
  }

  /** Seconds in order, each with its histogram. */
  entries(): [number, LatencyHistogram][] {
    return [...this.seconds].sort((a, b) => a[0] - b[0]);
  }

  /** Everything between `fromMs` and `toMs` (wall clock), merged. */
  between(fromMs: number, toMs: number): LatencyHistogram {
    const merged = new LatencyHistogram();
    for (const [second, histogram] of this.seconds) {
      if (second * 1000 + 999 >= fromMs && second * 1000 <= toMs) merged.merge(histogram);
    }
    return merged;
  }

  toJSON(): SerializedTimeline {
    return [...this.seconds].map(([second, histogram]) => [second, histogram.toJSON()]);
  }

  /** Hands out what was recorded and starts empty (a worker's delta). */
  drain(): SerializedTimeline {
    const data = this.toJSON();
    this.seconds.clear();
    return data;
  }
}
