/** Shape checks of an edge-sim report (JSON, Markdown, SVG), shared by the simulator's tests. */
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { SimReport } from '../../sim/report/model.js';

const isNumberOrNull = (value: unknown): boolean => value === null || typeof value === 'number';

export function readReport(file: string): SimReport {
  expect(existsSync(file), `${file} written`).toBe(true);
  return JSON.parse(readFileSync(file, 'utf8')) as SimReport;
}

/** The report is well formed and says every node ended in sync. */
export function expectWellFormedReport(file: string, expected: { nodes: number; scenarios: string[]; transport?: string }): SimReport {
  const report = readReport(file);
  expect(report.version).toBe(1);
  expect(report.tool).toBe('edge-sim');
  expect(Date.parse(report.startedAt)).toBeLessThanOrEqual(Date.parse(report.finishedAt));
  expect(report.config).toMatchObject({ nodes: expected.nodes, scenarios: expected.scenarios, transport: expected.transport ?? 'ws' });
  expect(report.verification.nodes).toBe(expected.nodes);
  expect(report.verification.divergent, JSON.stringify(report.verification.examples)).toBe(0);
  for (const field of ['samples', 'p50', 'p90', 'p99', 'max', 'mean'] as const) expect(typeof report.latency[field]).toBe('number');
  if (report.latency.samples > 0) {
    expect(report.latency.p50).toBeLessThanOrEqual(report.latency.p99);
    expect(report.latency.p99).toBeLessThanOrEqual(report.latency.max);
  }
  for (const field of ['bytesDownPerNode', 'bytesUpPerNode', 'framesDownPerNode', 'framesUpPerNode'] as const) expect(report.traffic[field]).toBeGreaterThan(0);
  expect(report.deliveries.live).toBeGreaterThanOrEqual(0);
  for (const field of ['rssBeforeNodesBytes', 'rssIdleBytes', 'rssPerIdleNodeBytes', 'rssEndBytes', 'cpuSeconds'] as const) expect(isNumberOrNull(report.hub[field]), field).toBe(true);
  expect(report.scenarios.map((s) => s.name)).toEqual(expected.scenarios);
  for (const scenario of report.scenarios) {
    expect(scenario.endedAt).toBeGreaterThanOrEqual(scenario.startedAt);
    expect(typeof scenario.latency.p99).toBe('number');
  }
  expect(report.targets.length).toBeGreaterThan(0);
  for (const target of report.targets) expect(target.verdict).toMatch(/^(met|missed .+|not measured)$/);
  expect(report.targets[0]).toMatchObject({ measure: 'divergent nodes at the end', value: 0, verdict: 'met' });
  expect(Array.isArray(report.timeline)).toBe(true);

  const markdown = readFileSync(`${file}.md`, 'utf8');
  expect(markdown).toMatch(/^# edge-sim: /);
  expect(markdown).toMatch(/\| divergent nodes \(cache digest != desired set\)\s+\| 0 of /);
  expect(markdown).toContain('## Targets');
  for (const name of expected.scenarios) expect(markdown).toContain(`## ${name}`);
  const svg = readFileSync(`${file}.svg`, 'utf8');
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  if (report.timeline.length > 0) expect(svg).toContain('class="p99"');
  return report;
}
