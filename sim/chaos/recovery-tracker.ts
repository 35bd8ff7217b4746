/**
 * Recovery of each fault, watched in the background while later faults strike: a fault is
 * recovered when every node it affected has been in sync with the hub after the fault ended
 * (hub back, link restored, agent reopened), or, for an API restart, when a write through the
 * restarted API has reached every node that was in sync at the time. A later fault hitting the
 * same nodes can stretch an earlier one's recovery; a hub kill, which drops every connection,
 * closes the faults still open as overtaken (its own recovery covers their nodes).
 */
import type { Fleet } from '../fleet/fleet.js';
import type { FaultRecord } from './model.js';

interface Window {
  record: FaultRecord;
  /** A sync (or an apply) counts only after this (the fault struck), wall ms; per node when they were struck apart. */
  after: number | ReadonlyMap<string, number>;
  /** Recovery is reported from here (the fault ended), wall ms. */
  from: number;
  nodes: readonly string[];
  /** Node -> when it was first seen back after `after`. */
  back: Map<string, number>;
}

interface WriteWatch extends Window {
  writtenAt: string;
}

export class RecoveryTracker {
  private nodeWatches: Window[] = [];
  private writeWatches: WriteWatch[] = [];
  private readonly destroyedTokens: string[] = [];
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(
    private readonly fleet: Fleet,
    readonly nodes: readonly string[],
  ) {}

  /**
   * Recovered when every one of `nodes` has been in sync after `after` (when the fault struck;
   * a node cannot be in sync with a killed hub or over a cut link), timed from `from`.
   */
  nodesInSync(record: FaultRecord, nodes: readonly string[], after: number | ReadonlyMap<string, number>, from: number): void {
    if (nodes.length === 0) {
      record.recoveredMs = 0;
      return;
    }
    this.nodeWatches.push({ record, after, from, nodes, back: new Map() });
  }

  /** Recovered when every one of `nodes` has applied the shared object as written at `writtenAt` (or later), timed from `from`. */
  writeApplied(record: FaultRecord, writtenAt: string, nodes: readonly string[], from: number): void {
    if (nodes.length === 0) {
      record.recoveredMs = 0;
      return;
    }
    this.writeWatches.push({ record, after: 0, from, nodes, back: new Map(), writtenAt });
  }

  /**
   * A hub kill: every connection drops, so the faults still waiting for their nodes are covered
   * by the kill's own recovery from here on; they are marked overtaken instead of timed.
   */
  overtake(by: FaultRecord): void {
    for (const watch of [...this.nodeWatches, ...this.writeWatches]) {
      watch.record.overtakenBy = by.n;
      watch.record.nodesBack = nodesBack(watch);
    }
    this.nodeWatches = [];
    this.writeWatches = [];
  }

  /** Probe tokens that were queued in outboxes whose cache files were destroyed. */
  destroyed(tokens: readonly string[]): void {
    this.destroyedTokens.push(...tokens);
  }

  get destroyedEvents(): readonly string[] {
    return this.destroyedTokens;
  }

  /** Faults not recovered yet. */
  get open(): number {
    return this.nodeWatches.length + this.writeWatches.length;
  }

  start(intervalMs = 500): void {
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => (this.polling = undefined));
    }, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** One look at the fleet; resolves the watches that are done. */
  async poll(): Promise<void> {
    if (this.nodeWatches.length > 0) {
      const syncedAt = new Map<string, number>();
      for (const mark of await this.fleet.sinceMark()) mark.names.forEach((name, i) => syncedAt.set(name, mark.syncedAt[i] ?? 0));
      this.nodeWatches = this.nodeWatches.filter((watch) => open(watch, (node) => {
        const at = syncedAt.get(node) ?? 0;
        const after = typeof watch.after === 'number' ? watch.after : (watch.after.get(node) ?? 0);
        return at > after ? at : 0;
      }));
    }
    for (const watch of [...this.writeWatches]) {
      const applied = await this.fleet.appliedSince(watch.writtenAt);
      if (!open(watch, (node) => applied.get(node) ?? 0)) this.writeWatches.splice(this.writeWatches.indexOf(watch), 1);
    }
  }
}

/** Notes the nodes that are back (`backAt` > 0); when all are, records the recovery and returns false. */
function open(watch: Window, backAt: (node: string) => number): boolean {
  for (const node of watch.nodes) {
    if (watch.back.has(node)) continue;
    const at = backAt(node);
    if (at > 0) watch.back.set(node, at);
  }
  if (watch.back.size < watch.nodes.length) return true;
  watch.record.recoveredMs = Math.max(0, Math.max(...watch.back.values()) - watch.from);
  watch.record.nodesBack = nodesBack(watch);
  return false;
}

function nodesBack(watch: Window): { back: number; of: number; p50Ms: number | null } {
  const times = [...watch.back.values()].map((at) => Math.max(0, at - watch.from)).sort((a, b) => a - b);
  return { back: times.length, of: watch.nodes.length, p50Ms: times.length > 0 ? times[Math.floor((times.length - 1) / 2)]! : null };
}
