/**
 * Messages between the simulator's main thread and its fleet workers (worker_threads). Plain
 * structured-clone data only; counters are cumulative, latency and fan-out arrivals are deltas
 * since the worker's previous report.
 */
import type { Corruption } from './cache-corruption.js';
import type { SerializedTimeline } from '../metrics/timeline.js';

export interface WorkerInit {
  workerId: number;
  hubUrl: string;
  nodes: { name: string; token: string }[];
  /** With `--sqlite`: each node opens a real CacheStore in `<dir>/<node>`. */
  sqliteDir?: string;
  /** Nodes this worker starts per second (connect ramp). */
  connectPerSecond: number;
  reportIntervalMs: number;
  /** Arrivals of this key are counted per write (the fan-out scenario). */
  fanoutKey: string;
  /** Only keys in this namespace count as deliveries. */
  namespace: string;
  logLevel: string;
  /** Seed of the worker's own choices (which node emits the next probe event). */
  seed: number;
}

export interface WorkerStats {
  t: 'stats';
  worker: number;
  nodes: number;
  started: number;
  connected: number;
  synced: number;
  paused: number;
  /** Nodes whose link is cut (chaos) and whose agent is stopped (chaos restarts). */
  cut: number;
  down: number;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  resyncs: number;
  mismatches: number;
  /** Writes applied in the steady stream (with a latency sample each). */
  liveDeliveries: number;
  /** Writes that reached a node inside a resync (after a reconnect): no latency sample. */
  resyncDeliveries: number;
  deletes: number;
  latency: SerializedTimeline;
  /** [written-at, nodes that applied it since the last report, latest apply (wall ms)]. */
  fanout: [string, number, number][];
}

/** Per-node figures since the last `mark`, for resync costs. */
export interface SinceMark {
  markedAt: number;
  /** Per node, in the worker's node order. */
  syncedAt: number[];
  inSync: boolean[];
  bytesIn: number[];
  bytesOut: number[];
  framesIn: number[];
  framesOut: number[];
  names: string[];
}

/** An agent restart of some nodes (chaos), optionally with their cache file damaged while they are down. */
export interface RestartCommand {
  t: 'restart';
  id: number;
  nodes: string[];
  /** How long each agent stays down, ms. */
  downMs: number;
  corruption?: Corruption;
  bytesSeed?: number;
  /** Before damaging a cache, wait at most this long for its outbox to drain, ms. */
  drainMs?: number;
}

export interface RestartOutcome {
  node: string;
  /** When its agent stopped (after its outbox drained, with corruption), wall ms. */
  stoppedAt: number;
  /** With corruption: what was overwritten, and whether the store moved the file aside on open. */
  damage?: string;
  detected?: boolean;
  /** Probe tokens queued in the outbox of a cache that was then damaged (gone with the file). */
  destroyed: string[];
  /** The node's outbox had drained when it was stopped, and how long that took (ms) with corruption. */
  drained: boolean;
  drainedInMs?: number;
  /** When it had not: rows left, the link's state and the pump's frames awaiting an ack, for the timeline. */
  undrained?: { rows: number; link: string; inflightFrames: number };
}

/** Probe events since the last `ledger`, and what waits in the worker's outboxes now. */
export interface Ledger {
  emitted: string[];
  notForwarded: string[];
  overflowed: string[];
  pending: number;
}

/** A probe event still in an outbox: where its node's link stands and what it did with the event. */
export interface StuckEvent {
  token: string;
  node: string;
  id: string;
  link: string;
  /** Frames the pump sent on this connection and still waits an ack for. */
  inflightFrames: number;
  connections?: number;
  connectedAt?: number;
  trace?: { sends: number; lastSentOn: number; lastSentAt: number; ackedAt?: number };
}

export type WorkerCommand =
  | { t: 'pause'; id: number; nodes: string[] }
  | { t: 'cut'; id: number; nodes: string[] }
  | { t: 'restore'; id: number; nodes: string[] }
  | RestartCommand
  | { t: 'probe'; id: number; perSecond: number; runTag: string }
  | { t: 'ledger'; id: number }
  | { t: 'stuck'; id: number }
  | { t: 'applied-since'; id: number; writtenAt: number }
  | { t: 'resume'; id: number; nodes: string[] }
  | { t: 'flap'; id: number; count: number }
  | { t: 'mark'; id: number; nodes?: string[] }
  | { t: 'since-mark'; id: number }
  | { t: 'digests'; id: number }
  | { t: 'stop'; id: number };

export type WorkerReply =
  | { t: 'reply'; id: number; value?: unknown }
  | WorkerStats
  | { t: 'fatal'; message: string };

/** [node, cache digest, objects held, link state]. */
export type NodeDigest = [string, string, number, string];
