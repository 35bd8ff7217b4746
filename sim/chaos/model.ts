/** What the chaos scenario reports (the `chaos` field of its scenario in the run's report). */
import type { Corruption } from '../fleet/cache-corruption.js';
import type { FaultKind } from './plan.js';

export interface FaultRecord {
  n: number;
  kind: FaultKind;
  /** When it was planned to strike and when it did, ms after the scenario started. */
  plannedAtMs: number;
  atMs: number;
  /** Nodes it hit (link-cut, agent-restart, cache-corrupt). */
  nodes: string[];
  holdMs: number;
  signal?: string;
  corruption?: Corruption;
  /** One line for the timeline: what exactly happened. */
  detail: string;
  /** hub-kill and api-restart: from the signal to the restarted process answering, ms. */
  downMs?: number;
  /**
   * From the end of the fault (process back, link restored, agent reopened) to every node it
   * affected being in sync again (api-restart: to a probe write reaching every connected node),
   * ms; null when that did not happen before the scenario ended.
   */
  recoveredMs: number | null;
  /**
   * A hub kill that struck before this fault's nodes were all back: it drops every connection,
   * so its own recovery covers them, and this fault's recovery is not timed.
   */
  overtakenBy?: number;
  /** Of the nodes it waited for, how many were back (when it recovered or was overtaken), and their median time back, ms. */
  nodesBack?: { back: number; of: number; p50Ms: number | null };
  /** cache-corrupt: nodes whose store moved the damaged file aside on open. */
  detected?: number;
}

export interface KindSummary {
  injected: number;
  /** Nodes hit, summed over the faults (process faults hit the whole fleet: 0 here). */
  nodes: number;
  recovered: number;
  /** Overtaken by a hub kill before they recovered (see FaultRecord.overtakenBy). */
  overtaken: number;
  recoveryP50Ms: number | null;
  recoveryMaxMs: number | null;
}

export interface PriorityEventSummary {
  /** Events the virtual agents' filters forwarded into their outboxes during the run. */
  emitted: number;
  /** Of those, found in the cluster as Kubernetes Events (each exactly once). */
  delivered: number;
  /** Emitted and never reached the cluster (the verdict: must be 0). */
  lost: number;
  /** Ids found in more than one Kubernetes Event. */
  duplicated: number;
  /** Queued in an outbox whose cache file the scenario then corrupted (counted apart from `lost`). */
  destroyedWithCache: number;
  /** Refused by a full outbox (counted in `lost` too). */
  overflowed: number;
  /** Rows still in the fleet's outboxes when the check ended. */
  pendingInOutboxes: number;
  /** From the end of the fault window to the last emitted event found in the cluster, ms. */
  drainMs: number;
  /** A few lost ids, for the report. */
  lostExamples: string[];
  /**
   * For lost events still queued in an outbox: the node, the link's state, the pump's unacked
   * frames, and how often the event went out and on which of the node's connections.
   */
  stuck: string[];
  guarantee: string;
}

export interface ChaosResult {
  seed: number;
  /** The command line that replays this schedule. */
  reproduce: string;
  planned: number;
  injected: number;
  byKind: Record<FaultKind, KindSummary>;
  timeline: FaultRecord[];
  priorityEvents: PriorityEventSummary;
  corruptedCaches: { injected: number; detected: number };
  /** From the last fault's end to every node in sync and every fault recovered, ms. */
  convergedMs: number | null;
}
