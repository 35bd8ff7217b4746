/** CrashLoopBackOff arithmetic (the timing with real processes is in process-runtime.test.ts). */
import { describe, expect, it } from 'vitest';
import { backoffRemaining, goDuration, KUBELET_BACKOFF, nextBackoff, type BackoffEntry } from '../../../edge-agent/runtime/crash-loop-backoff.js';

describe('crash loop backoff', () => {
  it('restarts the first exit at once, then waits 10 s, 20 s, 40 s ... capped at 5 min', () => {
    let entry: BackoffEntry | undefined;
    let now = 1_000_000;
    const waits: number[] = [];
    for (let exit = 0; exit < 9; exit++) {
      now += 1_000; // the container runs 1 s, then exits
      const finishedAt = now;
      const wait = backoffRemaining(entry, finishedAt, now, KUBELET_BACKOFF);
      waits.push(wait);
      now += wait;
      entry = nextBackoff(entry, now, KUBELET_BACKOFF);
    }
    expect(waits).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('counts the wait from the exit, not from when it is looked at', () => {
    const entry = { delayMs: 40_000, lastUpdate: 0 };
    expect(backoffRemaining(entry, 100_000, 130_000, KUBELET_BACKOFF)).toBe(10_000);
    expect(backoffRemaining(entry, 100_000, 150_000, KUBELET_BACKOFF)).toBe(0);
  });

  it('starts over after a container ran longer than resetAfter (10 min)', () => {
    const entry = nextBackoff({ delayMs: 300_000, lastUpdate: 0 }, 0, KUBELET_BACKOFF);
    expect(entry.delayMs).toBe(300_000);
    const exitAt = 600_001; // ran 10 min and 1 ms since the last restart
    expect(backoffRemaining(entry, exitAt, exitAt, KUBELET_BACKOFF)).toBe(0);
    expect(nextBackoff(entry, exitAt, KUBELET_BACKOFF)).toEqual({ delayMs: 10_000, lastUpdate: exitAt });
    // ...but not before.
    expect(backoffRemaining(entry, 599_000, 599_000, KUBELET_BACKOFF)).toBe(300_000);
  });

  it.each([
    [250, '250ms'],
    [10_000, '10s'],
    [80_000, '1m20s'],
    [300_000, '5m0s'],
    [1_500, '1.5s'],
  ])('formats %d ms as Go does: %s', (ms, want) => {
    expect(goDuration(ms)).toBe(want);
  });
});
