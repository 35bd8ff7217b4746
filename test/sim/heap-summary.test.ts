import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { diffHeap, summariseHeap } from '../../sim/bench/heap-summary.js';

class HeapSummaryProbe {
  constructor(readonly n: number) {}
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('heap snapshot summary', () => {
  it('counts the objects of a constructor and their self size, largest groups first', () => {
    const probes = Array.from({ length: 5_000 }, (_, i) => new HeapSummaryProbe(i));
    const dir = mkdtempSync(path.join(tmpdir(), 'heap-summary-'));
    dirs.push(dir);
    const file = writeHeapSnapshot(path.join(dir, 'test.heapsnapshot'));
    const groups = summariseHeap(JSON.parse(readFileSync(file, 'utf8')));
    const probe = groups.find((group) => group.type === 'object' && group.name === 'HeapSummaryProbe');
    expect(probe?.count).toBe(probes.length);
    expect(probe!.selfBytes).toBeGreaterThanOrEqual(probes.length * 16);
    for (let i = 1; i < groups.length; i++) expect(groups[i - 1]!.selfBytes).toBeGreaterThanOrEqual(groups[i]!.selfBytes);
    // Strings are one group, not one per text.
    expect(groups.filter((group) => group.type === 'string')).toHaveLength(1);
  });

  it('diffs two summaries: growth per group, largest first, groups gone counted negative', () => {
    const diff = diffHeap(
      [
        { type: 'object', name: 'Session', count: 1_000, selfBytes: 80_000 },
        { type: 'string', name: '', count: 50, selfBytes: 4_000 },
        { type: 'closure', name: 'send', count: 10, selfBytes: 560 },
      ],
      [
        { type: 'string', name: '', count: 40, selfBytes: 3_000 },
        { type: 'closure', name: 'send', count: 10, selfBytes: 560 },
        { type: 'object', name: 'Gone', count: 2, selfBytes: 100 },
      ],
    );
    expect(diff).toEqual([
      { type: 'object', name: 'Session', count: 1_000, selfBytes: 80_000 },
      { type: 'string', name: '', count: 10, selfBytes: 1_000 },
      { type: 'closure', name: 'send', count: 0, selfBytes: 0 },
      { type: 'object', name: 'Gone', count: -2, selfBytes: -100 },
    ]);
  });
});
