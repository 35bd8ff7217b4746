/** What a scenario gets to work with, and what it hands back for the report. */
import type { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import type { ChaosResult } from '../chaos/model.js';
import type { OwnCluster } from '../cluster/own-cluster.js';
import type { Fleet } from '../fleet/fleet.js';
import type { HubWatch } from '../metrics/hub-watch.js';
import type { ScenarioName, SimOptions } from './options.js';
import type { ChurnDriver, ChurnStats } from '../workload/churn.js';
import type { PodSurvivalFigures } from './pod-survival.js';

/** The live progress line (report/progress.ts), as far as a scenario writes to it. */
export interface ScenarioProgress {
  /** What the run is doing now, shown on the line. */
  phase: string;
  /** A line of its own above the progress line. */
  note(text: string): void;
}

export interface ScenarioContext {
  options: SimOptions;
  fleet: Fleet;
  churn: ChurnDriver;
  nodes: readonly string[];
  /** Present when the simulator started the hub (required by `storm`). */
  cluster?: OwnCluster;
  hub: HubWatch;
  /** The cluster's API (raw JSON), for checks of what the hub wrote. */
  kube: KubeClient;
  progress: ScenarioProgress;
  /** Waits until every connected node is in sync and nothing moves; false at the deadline. */
  settle(timeoutMs?: number): Promise<boolean>;
}

export interface FanoutResult {
  rounds: number;
  /** Write -> last of the fleet's nodes applying it, per round, ms. */
  roundMs: number[];
  medianMs: number;
  maxMs: number;
  /** Rounds that did not reach every node within the round deadline. */
  incomplete: number;
  /** Bytes one node received per round (the sync frame carrying the change). */
  frameBytes: number;
}

export interface RecoveryFigures {
  nodes: number;
  recovered: number;
  /** From the cut (kill, heal) to the last node back in sync, ms. */
  recoveryMs: number;
  framesDownPerNode: { mean: number; max: number };
  bytesDownPerNode: { mean: number; p50: number; max: number };
  bytesUpPerNode: { mean: number; max: number };
}

export interface StormResult extends RecoveryFigures {
  /** From the restarted hub answering /readyz to the last node in sync, ms. */
  fromHubReadyMs: number;
  hubRestartMs: number;
  /** Resyncs the new hub answered with an equal digest (two frames) and with differences. */
  resyncsEqual: number;
  resyncsDiff: number;
}

export interface PartitionResult extends RecoveryFigures, PodSurvivalFigures {
  cutNodes: number;
  cutSeconds: number;
}

export interface FlapResult {
  flaps: number;
  resyncs: number;
  resyncDeliveries: number;
}

export interface ScenarioResult {
  name: ScenarioName;
  startedAt: number;
  endedAt: number;
  churn?: ChurnStats;
  fanout?: FanoutResult;
  storm?: StormResult;
  partition?: PartitionResult;
  flap?: FlapResult;
  chaos?: ChaosResult;
}

export type Scenario = (context: ScenarioContext) => Promise<ScenarioResult>;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
