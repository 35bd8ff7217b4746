import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { summariseHeap } from '../../sim/bench/heap-summary.js';

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
});
