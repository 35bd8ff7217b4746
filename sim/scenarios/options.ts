/** What one `edge-sim` run is asked to do, as parsed from the command line. */
import type { FaultKind } from '../chaos/plan.js';
import type { Transport } from '../cluster/own-cluster.js';

export const SCENARIOS = ['steady', 'fanout', 'storm', 'partition', 'flap', 'chaos'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface SimOptions {
  /** A hub URL (ws:// or mqtt://), or 'auto' to start an own API and hub. */
  hub: string;
  /** The hub's metrics address (http://HOST:PORT) when the hub is not the simulator's own. */
  hubMetrics?: string;
  kubeconfig?: string;
  nodes: number;
  podsPerNode: number;
  /** Changes per second. */
  churn: number;
  /** Seconds of each scenario's main phase. */
  durationS: number;
  transport: Transport;
  workers: number;
  report?: string;
  scenarios: ScenarioName[];
  sqlite: boolean;
  /** Namespace of the simulator's objects. */
  namespace: string;
  /** The hub's namespace (node tokens, edge configuration). */
  hubNamespace: string;
  nodePrefix: string;
  /** Nodes connected per second at the start. */
  connectRate: number;
  /** Share of the fleet cut off by `partition`. */
  partitionFraction: number;
  /** Share of the fleet dropped per second by `flap`. */
  flapFraction: number;
  /** Gap between two fan-out writes, ms. */
  fanoutIntervalMs: number;
  /** How long the final check waits for the fleet to agree with the API, s. */
  settleTimeoutS: number;
  /** Extra flags for an own hub. */
  hubArgs: string[];
  /** The `cloud-hub` script an own cluster runs (default: dist/cloud-hub/main.js). */
  hubBin?: string;
  /** Profile an own hub with node --cpu-prof into this directory. */
  cpuProfDir?: string;
  /** Keep the own API's and hub's logs here (one file per process start). */
  logDir?: string;
  /** pino level of the virtual nodes' link logs (stderr). */
  nodeLogLevel: string;
  /** Progress every this many ms when stderr is not a terminal. */
  progressIntervalMs: number;
  /** Seed of the run's random choices: the chaos schedule, the churn's picks, the workers' picks. */
  seed: number;
  /** chaos: faults over the duration; absent: one every 3 s (at least one of each kind). */
  faults?: number;
  /** chaos: the kinds of fault to inject. */
  faultKinds: FaultKind[];
  /** chaos: priority events per second emitted by the fleet. */
  priorityEvents: number;
}

export function ownsCluster(options: SimOptions): boolean {
  return options.hub === 'auto';
}
