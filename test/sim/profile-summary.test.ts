/** profile-summary reads a V8 CPU profile; with a window, only the samples taken inside it. */
import { describe, expect, it } from 'vitest';
import { summarizeProfile } from '../../sim/bench/profile-summary.js';

// (root) -> busy, (root) -> idle; samples every 100 ms: busy for the first second, then idle.
const profile = {
  startTime: 0,
  endTime: 2_000_000,
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, hitCount: 0, children: [2, 3] },
    { id: 2, callFrame: { functionName: 'busy', url: 'file:///app/lib/work.js', lineNumber: 9 }, hitCount: 10 },
    { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 }, hitCount: 10 },
  ],
  samples: [...Array(10).fill(2), ...Array(10).fill(3)] as number[],
  timeDeltas: Array(20).fill(100_000) as number[],
};

const selfMs = (summary: ReturnType<typeof summarizeProfile>, name: string): number => summary.functions.find((f) => f.name.startsWith(name))?.selfMs ?? 0;

describe('summarizeProfile', () => {
  it('counts every sample without a window', () => {
    const summary = summarizeProfile(profile);
    expect(summary.totalMs).toBe(2_000);
    expect(selfMs(summary, 'busy lib/work.js:10')).toBe(1_000);
    expect(selfMs(summary, '(idle)')).toBe(1_000);
  });

  it('counts only the samples inside the window, over the window\'s length', () => {
    const late = summarizeProfile(profile, { fromMs: 1_050, toMs: 2_000 });
    expect(late.totalMs).toBe(950);
    expect(selfMs(late, 'busy')).toBe(0);
    expect(selfMs(late, '(idle)')).toBeGreaterThan(900);
    const early = summarizeProfile(profile, { fromMs: 0, toMs: 1_000 });
    expect(selfMs(early, 'busy')).toBe(1_000);
    expect(selfMs(early, '(idle)')).toBe(0);
  });
});
