import { describe, expect, it } from 'vitest';
import { benchJson, sectionRows } from '../../sim/bench/json-report.js';
import type { BenchSection } from '../../sim/bench/section.js';

const section: BenchSection = {
  title: 'Hub at 1,000 connected nodes (WebSocket)',
  header: ['measure', 'edge-sync hub', 'baseline', 'baseline is', 'target', 'verdict'],
  rows: [
    ['one change to all nodes, median, ms', 58.6, 26.5, 'bare ws broadcast', '<= 2x baseline', 'missed (1.11x)'],
    ['  same, slowest round, ms', 80, 40, '', '', ''],
    ['RSS per idle node, KB', 11, 6, 'bare ws server', '<= 12', 'met'],
    ['p99, ms', '-', '', '', '<= 100', 'not measured'],
  ],
};

describe('bench JSON rows', () => {
  it('names each measure with its value, baseline, target and verdict', () => {
    const rows = sectionRows(section);
    expect(rows[0]).toEqual({
      section: section.title,
      measure: 'one change to all nodes, median, ms',
      value: 58.6,
      baseline: 26.5,
      baselineIs: 'bare ws broadcast',
      target: '<= 2x baseline',
      verdict: 'missed (1.11x)',
      met: false,
    });
    expect(rows[2]?.met).toBe(true);
    expect(rows[3]?.met).toBe(false);
  });

  it('names a detail row after its parent and leaves its goal empty', () => {
    const detail = sectionRows(section)[1]!;
    expect(detail.measure).toBe('one change to all nodes, median, ms / same, slowest round, ms');
    expect(detail).toMatchObject({ value: 80, baseline: 40, baselineIs: null, target: null, verdict: null, met: null });
  });

  it('reads tables without a baseline column', () => {
    const rows = sectionRows({ title: 'Chaos', header: ['measure', 'value', 'target', 'verdict'], rows: [['lost events', 0, '0', 'met']] });
    expect(rows).toEqual([{ section: 'Chaos', measure: 'lost events', value: 0, baseline: null, baselineIs: null, target: '0', verdict: 'met', met: true }]);
  });

  it('keeps the tables whole next to the rows', () => {
    const doc = benchJson([section], new Date('2026-01-01T00:00:00Z'));
    expect(doc.measuredAt).toBe('2026-01-01T00:00:00.000Z');
    expect(doc.rows).toHaveLength(4);
    expect(doc.sections[0]).toEqual(section);
  });
});
