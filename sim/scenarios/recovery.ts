/** Per-node resync costs since a fleet mark: who is back in sync, how long it took, what it cost. */
import type { Fleet } from '../fleet/fleet.js';
import type { SinceMark } from '../fleet/worker-protocol.js';
import type { RecoveryFigures } from './context.js';

/** Polls until every node in `subset` (all when absent) is in sync after `since`, or the deadline. */
export async function waitRecovered(fleet: Fleet, since: number, deadlineMs: number, subset?: ReadonlySet<string>): Promise<SinceMark[]> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const marks = await fleet.sinceMark();
    let waiting = 0;
    for (const mark of marks) {
      mark.names.forEach((name, i) => {
        if (subset && !subset.has(name)) return;
        if (!(mark.inSync[i] && (mark.syncedAt[i] ?? 0) > since)) waiting += 1;
      });
    }
    if (waiting === 0 || Date.now() > deadline) return marks;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function recoveryFigures(marks: readonly SinceMark[], since: number, subset?: ReadonlySet<string>): RecoveryFigures {
  const frames: number[] = [];
  const down: number[] = [];
  const up: number[] = [];
  let recovered = 0;
  let last = since;
  for (const mark of marks) {
    mark.names.forEach((name, i) => {
      if (subset && !subset.has(name)) return;
      const syncedAt = mark.syncedAt[i] ?? 0;
      if (mark.inSync[i] && syncedAt > since) {
        recovered += 1;
        last = Math.max(last, syncedAt);
      }
      frames.push(mark.framesIn[i] ?? 0);
      down.push(mark.bytesIn[i] ?? 0);
      up.push(mark.bytesOut[i] ?? 0);
    });
  }
  down.sort((a, b) => a - b);
  return {
    nodes: frames.length,
    recovered,
    recoveryMs: last - since,
    framesDownPerNode: { mean: mean(frames), max: Math.max(0, ...frames) },
    bytesDownPerNode: { mean: mean(down), p50: down[Math.floor(down.length / 2)] ?? 0, max: down[down.length - 1] ?? 0 },
    bytesUpPerNode: { mean: mean(up), max: Math.max(0, ...up) },
  };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}
