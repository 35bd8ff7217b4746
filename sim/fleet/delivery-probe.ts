/**
 * Turns cache changes into delivery figures: a put whose write timestamp annotation differs
 * from the one it replaced is one delivery of one driver write. Measured only in the steady
 * stream; a write that reaches a node inside a resync (after a partition or a hub restart)
 * is counted but has no meaningful write -> apply latency.
 */
import type { JsonObject } from '../../protocol/index.js';
import type { CacheChange } from '../../edge-agent/store/sync-cache.js';
import { LatencyTimeline } from '../metrics/timeline.js';
import { wallClockMs } from '../workload/objects.js';
import { WRITTEN_AT } from '../workload/names.js';

export class DeliveryProbe {
  readonly timeline = new LatencyTimeline();
  liveDeliveries = 0;
  resyncDeliveries = 0;
  deletes = 0;
  private fanout = new Map<string, { count: number; last: number }>();
  /** Per node, the shared object's writes it applied: [written-at, applied at (wall ms)], the latest few. */
  private readonly sharedApplied = new Map<string, [number, number][]>();
  private readonly namespacePart: string;

  constructor(
    private readonly fanoutKey: string,
    namespace: string,
  ) {
    this.namespacePart = `/${namespace}/`;
  }

  observe(changes: readonly CacheChange[], live: boolean, node = ''): void {
    let now = 0;
    for (const change of changes) {
      if (!change.key.includes(this.namespacePart)) continue;
      if (change.type === 'del') {
        this.deletes += 1;
        continue;
      }
      const written = writtenAtOf(change.obj);
      if (written === undefined || written === writtenAtOf(change.previous)) continue;
      now ||= wallClockMs();
      if (live) {
        this.liveDeliveries += 1;
        this.timeline.record(now, now - Number(written));
      } else {
        this.resyncDeliveries += 1;
      }
      if (change.key === this.fanoutKey) {
        const applied = this.sharedApplied.get(node) ?? [];
        applied.push([Number(written), now]);
        if (applied.length > 64) applied.shift();
        this.sharedApplied.set(node, applied);
        const entry = this.fanout.get(written);
        if (entry) {
          entry.count += 1;
          entry.last = Math.max(entry.last, now);
        } else {
          this.fanout.set(written, { count: 1, last: now });
        }
      }
    }
  }

  /** When `node` first applied the shared object as written at `writtenAt` or later (wall ms), or 0. */
  appliedSince(node: string, writtenAt: number): number {
    let first = 0;
    for (const [written, at] of this.sharedApplied.get(node) ?? []) {
      if (written >= writtenAt && (first === 0 || at < first)) first = at;
    }
    return first;
  }

  drainFanout(): [string, number, number][] {
    const data = [...this.fanout].map(([written, { count, last }]) => [written, count, last] as [string, number, number]);
    this.fanout = new Map();
    return data;
  }
}

function writtenAtOf(obj: JsonObject | undefined): string | undefined {
  const value = ((obj?.metadata as JsonObject | undefined)?.annotations as JsonObject | undefined)?.[WRITTEN_AT];
  return typeof value === 'string' ? value : undefined;
}
