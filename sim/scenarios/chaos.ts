/**
 * `chaos`: for `--duration`, churn goes on and the fleet's agents emit priority events while a
 * seeded schedule of faults strikes: the hub killed (-9) and restarted, the API server
 * restarted, node links cut and restored, agents restarted over their SQLite stores, caches
 * damaged while their agent was down. Then the fleet must converge: every node in sync with
 * its desired set (the run's final check) and every priority event in the cluster, once.
 * Needs the simulator's own hub (and, for API restarts, its own API).
 */
import { FaultInjector } from '../chaos/injector.js';
import type { ChaosResult, FaultRecord, KindSummary, PriorityEventSummary } from '../chaos/model.js';
import { FAULT_KINDS, defaultFaultCount, planChaos, type FaultKind, type PlannedFault } from '../chaos/plan.js';
import { PriorityEventLedger } from '../chaos/priority-events.js';
import { RecoveryTracker } from '../chaos/recovery-tracker.js';
import type { StuckEvent } from '../fleet/worker-protocol.js';
import type { SimOptions } from './options.js';
import { sleep, type Scenario } from './context.js';

const PROCESS_FAULTS_LIST: readonly FaultKind[] = ['hub-kill', 'api-restart'];

export const chaos: Scenario = async ({ options, fleet, churn, nodes, cluster, kube, progress, settle }) => {
  if (!cluster) throw new Error('the chaos scenario kills and restarts the hub and the API: run it with --hub auto (the simulator starts its own)');
  const startedAt = Date.now();
  const durationMs = options.durationS * 1000;
  const faults = options.faults ?? defaultFaultCount(options.durationS, options.faultKinds.length);
  const plan = planChaos({ seed: options.seed, nodes, durationMs, faults, kinds: options.faultKinds });
  const runTag = `${options.seed.toString(36)}-${startedAt.toString(36)}`;
  const recovery = new RecoveryTracker(fleet, nodes);
  // A cache is damaged once its outbox has drained (the outbox lives in the same file): that
  // can take until the faults stop, so the wait may last the rest of the run and its settling.
  const drainMs = durationMs + options.settleTimeoutS * 1000;
  const injector = new FaultInjector({ cluster, fleet, churn, recovery, startedAt, drainMs });
  const ledger = new PriorityEventLedger(fleet, kube);
  progress.note(`chaos: seed ${options.seed}, ${plan.length} faults over ${options.durationS} s (${options.faultKinds.join(', ')}), ${options.priorityEvents} priority events/s`);

  recovery.start();
  await fleet.probeEvents(options.priorityEvents, runTag);
  progress.phase = `chaos: churn ${options.churn}/s`;
  const churnDone = churn.run(options.churn, durationMs);
  const timeline: FaultRecord[] = [];
  // Faults of one process take turns (a hub is not killed while it is still starting); the hub,
  // the API and the nodes are struck independently, each on time when it can be.
  const lanes = new Map<FaultKind, Promise<void>>(PROCESS_FAULTS_LIST.map((kind) => [kind, Promise.resolve()]));
  const running = new Set<Promise<void>>();
  let failure: Error | undefined;
  const run = async (fault: PlannedFault): Promise<void> => {
    try {
      if (failure || fleet.error) return;
      const record = await injector.inject(fault);
      timeline.push(record);
      progress.note(`chaos: fault ${record.n}/${plan.length} at ${(record.atMs / 1000).toFixed(1)} s: ${record.kind}: ${record.detail}`);
    } catch (err) {
      failure ??= err as Error;
    }
  };
  for (const fault of plan) {
    await sleep(startedAt + fault.atMs - Date.now());
    if (failure) break;
    if (fleet.error) throw fleet.error;
    progress.phase = `chaos: fault ${fault.n}/${plan.length} (${fault.kind})`;
    const lane = lanes.get(fault.kind);
    const done = lane ? lane.then(() => run(fault)) : run(fault);
    if (lane) lanes.set(fault.kind, done);
    running.add(done);
    void done.finally(() => running.delete(done));
    await ledger.collect();
  }
  progress.phase = 'chaos: churn goes on, no new faults';
  await Promise.all([...running, ...lanes.values()]);
  const stats = await churnDone;
  await injector.restoreAll();
  if (failure) throw failure;
  timeline.sort((a, b) => a.n - b.n);
  const faultsEndedAt = Date.now();
  // From here the set of events to find is fixed.
  await fleet.probeEvents(0, runTag);

  progress.phase = 'chaos: converging';
  const deadlineMs = options.settleTimeoutS * 1000;
  const settled = await settle(deadlineMs);
  const settledAt = Date.now();
  progress.phase = 'chaos: checking priority events in the cluster';
  const destroyed = new Set(recovery.destroyedEvents);
  const { found, missing } = await ledger.waitDelivered(runTag, deadlineMs, destroyed);
  const deliveredAt = Date.now();
  // The fleet has settled: a last look or two closes the faults whose nodes are all back.
  await recovery.stop();
  const recoveryDeadline = Date.now() + 10_000;
  while (recovery.open > 0 && Date.now() < recoveryDeadline) {
    await recovery.poll();
    if (recovery.open > 0) await sleep(250);
  }

  const lost = [...missing, ...[...ledger.overflowedTokens].filter((token) => !found.has(token))];
  const stuck = lost.length > 0 ? (await fleet.stuckEvents()).filter((event) => lost.includes(event.token)).slice(0, 10).map(describeStuck) : [];
  for (const line of stuck) progress.note(`chaos: lost priority event ${line}`);
  const priorityEvents: PriorityEventSummary = {
    emitted: ledger.emittedTokens.size,
    delivered: [...ledger.emittedTokens].filter((token) => found.has(token)).length,
    lost: lost.length,
    duplicated: [...found.values()].filter((count) => count > 1).length,
    destroyedWithCache: destroyed.size,
    overflowed: ledger.overflowedTokens.size,
    pendingInOutboxes: ledger.pending,
    drainMs: deliveredAt - faultsEndedAt,
    lostExamples: lost.slice(0, 5),
    stuck,
    guarantee:
      'at least once on the wire (the agent resends what the hub did not ack), exactly once in the cluster (the hub names the Kubernetes Event after the event id, so a resend finds it and is acked)',
  };
  const result: ChaosResult = {
    seed: options.seed,
    reproduce: reproduceCommand(options, faults),
    planned: plan.length,
    injected: timeline.length,
    byKind: summarizeKinds(timeline),
    timeline,
    priorityEvents,
    corruptedCaches: {
      injected: timeline.filter((record) => record.kind === 'cache-corrupt').reduce((sum, record) => sum + record.nodes.length, 0),
      detected: timeline.reduce((sum, record) => sum + (record.detected ?? 0), 0),
    },
    convergedMs: settled && recovery.open === 0 ? settledAt - faultsEndedAt : null,
  };
  return { name: 'chaos', startedAt, endedAt: Date.now(), churn: stats, chaos: result };
};

function summarizeKinds(timeline: readonly FaultRecord[]): Record<FaultKind, KindSummary> {
  const summary = {} as Record<FaultKind, KindSummary>;
  for (const kind of FAULT_KINDS) {
    const records = timeline.filter((record) => record.kind === kind);
    const times = records.flatMap((record) => (record.recoveredMs === null ? [] : [record.recoveredMs])).sort((a, b) => a - b);
    summary[kind] = {
      injected: records.length,
      nodes: records.reduce((sum, record) => sum + record.nodes.length, 0),
      recovered: times.length,
      overtaken: records.filter((record) => record.overtakenBy !== undefined).length,
      recoveryP50Ms: times.length > 0 ? times[Math.floor((times.length - 1) / 2)]! : null,
      recoveryMaxMs: times.length > 0 ? times[times.length - 1]! : null,
    };
  }
  return summary;
}

function describeStuck(event: StuckEvent): string {
  const at = (ms: number | undefined): string => (ms ? new Date(ms).toISOString() : '-');
  const trace = event.trace
    ? `sent ${event.trace.sends}x, last on connection ${event.trace.lastSentOn} at ${at(event.trace.lastSentAt)}, ${event.trace.ackedAt ? `acked at ${at(event.trace.ackedAt)}` : 'never acked'}`
    : 'never sent';
  return `${event.token} (event ${event.id}) on ${event.node}: still in its outbox; link ${event.link}, connection ${event.connections ?? '-'} since ${at(event.connectedAt)}, ${event.inflightFrames} frames unacked; ${trace}`;
}

/** The command line that replays this run's fault schedule (same seed, same shape). */
export function reproduceCommand(options: SimOptions, faults: number): string {
  const args = [
    'edge-sim',
    `--scenario ${options.scenarios.join(',')}`,
    `--seed ${options.seed}`,
    `--nodes ${options.nodes}`,
    `--duration ${options.durationS}`,
    `--faults ${faults}`,
    `--churn ${options.churn}`,
    `--priority-events ${options.priorityEvents}`,
    `--pods-per-node ${options.podsPerNode}`,
    `--transport ${options.transport}`,
  ];
  if (options.faultKinds.length !== FAULT_KINDS.length) args.push(`--fault-kinds ${options.faultKinds.join(',')}`);
  if (options.nodePrefix !== 'sim') args.push(`--node-prefix ${options.nodePrefix}`);
  return args.join(' ');
}
