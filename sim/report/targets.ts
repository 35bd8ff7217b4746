/**
 * The project's performance goals for the hub, checked against what a run measured. A goal a
 * run did not exercise says so instead of passing silently.
 */
import type { SimReport, TargetRow } from './model.js';
import { verdict } from './verdict.js';

export const TARGETS = {
  p99Ms: 250,
  p99AtRate: 1_000,
  rssPerIdleNodeKB: 16,
  stormRecoveryS: 15,
  unchangedNodeFrames: 2,
  unchangedNodeBytes: 1024,
} as const;

type Measured = Omit<SimReport, 'targets'>;

export function targetRows(report: Measured): TargetRow[] {
  const rows: TargetRow[] = [];
  const row = (measure: string, value: number | null | undefined, unit: string, target: number, targetText: string): void => {
    const known = value !== null && value !== undefined && Number.isFinite(value);
    rows.push({ measure, value: known ? value : null, unit, target: targetText, verdict: !known ? 'not measured' : target === 0 ? (value === 0 ? 'met' : `missed by ${value}`) : verdict(value, target, false) });
  };
  row('divergent nodes at the end', report.verification.divergent, 'nodes', 0, '0');
  for (const scenario of report.scenarios) {
    if (!scenario.churn || scenario.churn.rate <= 0 || scenario.latency.samples === 0) continue;
    row(`p99 write -> edge apply, ${scenario.name} at ${Math.round(scenario.churn.achievedRate)} changes/s`, scenario.latency.p99, 'ms', TARGETS.p99Ms, `<= ${TARGETS.p99Ms} at ${TARGETS.p99AtRate.toLocaleString('en-US')}/s`);
  }
  const rssKB = report.hub.rssPerIdleNodeBytes === null ? null : report.hub.rssPerIdleNodeBytes / 1024;
  row('hub RSS per idle connected node', rssKB, 'KB', TARGETS.rssPerIdleNodeKB, `<= ${TARGETS.rssPerIdleNodeKB}`);
  const chaos = report.scenarios.find((scenario) => scenario.chaos)?.chaos;
  if (chaos) {
    row('chaos: lost priority events', chaos.priorityEvents.lost, 'events', 0, '0');
    row('chaos: priority events in the cluster more than once', chaos.priorityEvents.duplicated, 'events', 0, '0');
    row('chaos: damaged caches the store did not detect', chaos.corruptedCaches.injected - chaos.corruptedCaches.detected, 'caches', 0, '0');
    row('chaos: planned faults not injected', chaos.planned - chaos.injected, 'faults', 0, '0');
    row('chaos: faults not recovered by the end', chaos.timeline.filter((fault) => fault.recoveredMs === null && fault.overtakenBy === undefined).length, 'faults', 0, '0');
  }
  const partition = report.scenarios.find((scenario) => scenario.partition)?.partition;
  if (partition) row('partition: pods of cut nodes deleted', partition.podsDeleted, 'pods', 0, '0');
  const storm = report.scenarios.find((scenario) => scenario.storm)?.storm;
  if (storm) {
    row('storm: kill -9 -> every node back in sync', storm.recoveryMs / 1000, 's', TARGETS.stormRecoveryS, `<= ${TARGETS.stormRecoveryS}`);
    row('storm: frames down per unchanged node (max)', storm.framesDownPerNode.max, 'frames', TARGETS.unchangedNodeFrames, `<= ${TARGETS.unchangedNodeFrames}`);
    row('storm: bytes down per unchanged node (max)', storm.bytesDownPerNode.max, 'B', TARGETS.unchangedNodeBytes, `<= ${TARGETS.unchangedNodeBytes}`);
  }
  return rows;
}

/** Correctness verdicts that fail the run (exit code 1); the performance targets only report. */
const GATES = [/^divergent nodes at the end$/, /^chaos: /, /^partition: pods of cut nodes deleted$/];

export function gateFailures(report: SimReport): string[] {
  return report.targets
    .filter((row) => GATES.some((gate) => gate.test(row.measure)) && row.verdict !== 'met')
    .map((row) => `${row.measure}: ${row.value === null ? 'not measured' : row.value} (must be ${row.target})`);
}
