/**
 * The simulator's report: one JSON document (written with `--report FILE`), from which the
 * Markdown table (FILE.md) and the latency chart (FILE.svg) are rendered. Times are ms unless
 * a field says otherwise; byte and frame figures are per node where the name says so.
 */
import type { ScenarioResult } from '../scenarios/context.js';
import type { VerificationResult } from '../verify/convergence.js';
import type { LatencyHistogram } from '../metrics/latency-histogram.js';

export interface LatencySummary {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface TargetRow {
  measure: string;
  value: number | null;
  unit: string;
  target: string;
  /** 'met', 'missed (1.40x)', or 'not measured'. */
  verdict: string;
}

export interface ScenarioReport extends ScenarioResult {
  seconds: number;
  latency: LatencySummary;
  liveDeliveriesPerSecond: number;
  hubCpuPercent: number | null;
}

export interface TimelinePoint {
  /** Seconds since the run started. */
  second: number;
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface SimReport {
  version: 1;
  tool: 'edge-sim';
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  config: {
    hub: string;
    ownCluster: boolean;
    transport: string;
    nodes: number;
    podsPerNode: number;
    churn: number;
    durationS: number;
    workers: number;
    scenarios: string[];
    sqlite: boolean;
    /** The run's seed (`--seed`): the same seed and flags replay its random choices. */
    seed: number;
  };
  setup: {
    tokensSeconds: number;
    objectsCreated: number;
    objectsRemoved: number;
    objectsSeconds: number;
    /** From the first node starting to every node in sync. */
    connectSeconds: number;
    initialBytesDownPerNode: number;
  };
  latency: LatencySummary;
  deliveries: { live: number; resync: number; deletes: number; livePerSecond: number };
  traffic: { bytesDownPerNode: number; bytesUpPerNode: number; framesDownPerNode: number; framesUpPerNode: number };
  hub: {
    /** Where the hub figures below come from: its /metrics, /proc of its process, or nowhere. */
    source: 'metrics' | 'proc' | 'none';
    rssBeforeNodesBytes: number | null;
    rssIdleBytes: number | null;
    rssPerIdleNodeBytes: number | null;
    rssEndBytes: number | null;
    cpuSeconds: number | null;
  };
  scenarios: ScenarioReport[];
  verification: VerificationResult;
  targets: TargetRow[];
  timeline: TimelinePoint[];
}

export function summarize(histogram: LatencyHistogram): LatencySummary {
  return {
    samples: histogram.count,
    p50: round(histogram.percentile(50)),
    p90: round(histogram.percentile(90)),
    p99: round(histogram.percentile(99)),
    max: round(histogram.max),
    mean: round(histogram.mean),
  };
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return NaN;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
