/**
 * Carries out one planned fault against the simulator's own processes and its fleet, and
 * says what happened (the fault timeline's line). Process faults (hub kill -9, API restart)
 * and agent restarts are awaited; a link cut returns at once and is restored by a timer after
 * its hold, so cuts overlap with the faults that follow.
 */
import type { OwnCluster } from '../cluster/own-cluster.js';
import type { Fleet } from '../fleet/fleet.js';
import type { ChurnDriver } from '../workload/churn.js';
import type { FaultRecord } from './model.js';
import type { PlannedFault } from './plan.js';
import type { RecoveryTracker } from './recovery-tracker.js';

export interface FaultInjectorDeps {
  cluster: OwnCluster;
  fleet: Fleet;
  churn: ChurnDriver;
  recovery: RecoveryTracker;
  /** Wall-clock ms the scenario started (fault times are relative to it). */
  startedAt: number;
  /** Before damaging a cache, how long to wait for its outbox to drain, ms. */
  drainMs: number;
}

export class FaultInjector {
  /** Nodes whose link is cut now, and the timers that will restore them. */
  private readonly cutNodes = new Set<string>();
  private readonly restores = new Set<{ timer: NodeJS.Timeout; run: () => Promise<void> }>();
  private readonly pendingRestores = new Set<Promise<void>>();
  private probeRound = 0;

  constructor(private readonly deps: FaultInjectorDeps) {}

  async inject(fault: PlannedFault): Promise<FaultRecord> {
    const { startedAt } = this.deps;
    const at = Date.now();
    const record: FaultRecord = {
      n: fault.n,
      kind: fault.kind,
      plannedAtMs: fault.atMs,
      atMs: at - startedAt,
      nodes: fault.nodes,
      holdMs: fault.holdMs,
      ...(fault.signal ? { signal: fault.signal } : {}),
      ...(fault.corruption ? { corruption: fault.corruption } : {}),
      detail: '',
      recoveredMs: null,
    };
    switch (fault.kind) {
      case 'hub-kill':
        return this.hubKill(record);
      case 'api-restart':
        return this.apiRestart(record, fault.signal ?? 'SIGTERM');
      case 'link-cut':
        return this.linkCut(record);
      case 'agent-restart':
      case 'cache-corrupt':
        return this.agentRestart(record, fault);
    }
  }

  /** Restores every link still cut (the end of the fault window) and waits for the restores. */
  async restoreAll(): Promise<void> {
    for (const restore of [...this.restores]) {
      clearTimeout(restore.timer);
      this.pendingRestores.add(restore.run());
    }
    await Promise.all(this.pendingRestores);
  }

  private async hubKill(record: FaultRecord): Promise<FaultRecord> {
    const { cluster, recovery } = this.deps;
    const killedAt = Date.now();
    const survivors = this.notCut();
    recovery.overtake(record);
    await cluster.restartHub(record.holdMs);
    record.downMs = cluster.hubReadyAt - killedAt;
    record.detail = `hub kill -9, down ${record.holdMs} ms, ready again after ${fmtS(record.downMs)}`;
    // Every node not cut off reconnects to the new hub and resyncs.
    recovery.nodesInSync(record, survivors, killedAt, cluster.hubReadyAt);
    return record;
  }

  private async apiRestart(record: FaultRecord, signal: 'SIGTERM' | 'SIGKILL'): Promise<FaultRecord> {
    const { cluster, churn, recovery } = this.deps;
    const stoppedAt = Date.now();
    await cluster.restartApi(signal, record.holdMs);
    record.downMs = cluster.apiReadyAt - stoppedAt;
    record.detail = `API ${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'}, down ${record.holdMs} ms, serving again after ${fmtS(record.downMs)}`;
    // The write path is back when a write through the restarted API reaches the nodes in sync
    // now (or, when none is, every node not cut off: they will hold it once they resync).
    const inSync = await this.inSync();
    const expected = inSync.length > 0 ? inSync : this.notCut();
    const written = await retry(() => churn.fanoutWrite(-++this.probeRound));
    recovery.writeApplied(record, written, expected, cluster.apiReadyAt);
    return record;
  }

  private async linkCut(record: FaultRecord): Promise<FaultRecord> {
    const { fleet, recovery } = this.deps;
    // A node still cut by an earlier fault stays with that one.
    const nodes = record.nodes.filter((node) => !this.cutNodes.has(node));
    record.nodes = nodes;
    for (const node of nodes) this.cutNodes.add(node);
    const cutAt = Date.now();
    await fleet.cut(nodes);
    record.detail = `${nodes.length} node links cut for ${fmtS(record.holdMs)}`;
    const restore = {
      timer: setTimeout(() => {
        this.pendingRestores.add(restore.run());
      }, record.holdMs),
      run: async (): Promise<void> => {
        this.restores.delete(restore);
        await fleet.restore(nodes);
        for (const node of nodes) this.cutNodes.delete(node);
        recovery.nodesInSync(record, nodes, cutAt, Date.now());
      },
    };
    this.restores.add(restore);
    return record;
  }

  private async agentRestart(record: FaultRecord, fault: PlannedFault): Promise<FaultRecord> {
    const { fleet, recovery, drainMs } = this.deps;
    const outcomes = await fleet.restart({
      nodes: fault.nodes,
      downMs: fault.holdMs,
      ...(fault.corruption ? { corruption: fault.corruption, bytesSeed: fault.bytesSeed ?? 0, drainMs } : {}),
    });
    const reopenedAt = Date.now();
    // In the plan's order, whichever worker answered first.
    outcomes.sort((a, b) => fault.nodes.indexOf(a.node) - fault.nodes.indexOf(b.node));
    const restarted = outcomes.map((outcome) => outcome.node);
    record.nodes = restarted;
    if (fault.kind === 'cache-corrupt') {
      record.detected = outcomes.filter((outcome) => outcome.detected).length;
      const damage = outcomes.map((outcome) => {
        const left = outcome.undrained;
        const queued = left
          ? `, outbox not drained in ${(drainMs / 1000).toFixed(0)} s (${left.rows} rows, link ${left.link}, ${left.inflightFrames} frames unacked): ${outcome.destroyed.length} priority events destroyed`
          : (outcome.drainedInMs ?? 0) >= 1_000
            ? ` after its outbox drained (${((outcome.drainedInMs ?? 0) / 1000).toFixed(1)} s)`
            : '';
        return `${outcome.node}: ${outcome.damage ?? 'not damaged'}${outcome.detected ? '' : ' (NOT detected)'}${queued}`;
      });
      record.detail = `${restarted.length} caches damaged (${fault.corruption}) while the agent was down ${fault.holdMs} ms; ${record.detected} moved aside on open. ${damage.join('; ')}`;
      recovery.destroyed(outcomes.flatMap((outcome) => outcome.destroyed));
    } else {
      record.detail = `${restarted.length} agents stopped, down ${fault.holdMs} ms, reopened their SQLite store`;
    }
    // A restarted node whose link is also cut comes back only after the restore: its recovery includes the cut.
    recovery.nodesInSync(record, restarted, new Map(outcomes.map((outcome) => [outcome.node, outcome.stoppedAt])), reopenedAt);
    return record;
  }

  private async inSync(): Promise<string[]> {
    const nodes: string[] = [];
    for (const mark of await this.deps.fleet.sinceMark()) mark.names.forEach((name, i) => mark.inSync[i] && !this.cutNodes.has(name) && nodes.push(name));
    return nodes;
  }

  private notCut(): string[] {
    return this.deps.recovery.nodes.filter((node) => !this.cutNodes.has(node));
  }
}

async function retry<T>(action: () => Promise<T>, attempts = 40): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
