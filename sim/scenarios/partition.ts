/**
 * `partition`: a share of the fleet is cut off (their links stop, caches kept) for the middle
 * half of the run while churn goes on and the shared object changes; then they come back and
 * must catch up with everything written meanwhile (checked by the final digest comparison).
 * The initial Pods of the cut nodes must survive it, whatever the control plane does to silent
 * nodes (pod-survival.ts): pods deleted is a verdict.
 */
import { FleetNames } from '../workload/names.js';
import { sleep, type Scenario } from './context.js';
import { PodSurvival } from './pod-survival.js';
import { recoveryFigures, waitRecovered } from './recovery.js';

const CATCH_UP_DEADLINE_MS = 120_000;

export const partition: Scenario = async ({ options, fleet, churn, nodes, progress, kube }) => {
  const startedAt = Date.now();
  const count = Math.max(1, Math.round(nodes.length * options.partitionFraction));
  const stride = nodes.length / count;
  const cut = Array.from({ length: count }, (_, i) => nodes[Math.floor(i * stride)]!);
  const cutSet = new Set(cut);
  const durationMs = options.durationS * 1000;
  progress.phase = `partition: churn ${options.churn}/s`;
  const churnDone = churn.run(options.churn, durationMs);
  await sleep(durationMs * 0.2);
  const survival = await PodSurvival.before(kube, new FleetNames(options.nodePrefix, options.namespace), options.podsPerNode, cutSet);
  await fleet.pause(cut);
  const cutAt = Date.now();
  progress.phase = `partition: ${count} nodes cut off`;
  // One change every node must see, so every cut node has something to catch up on.
  await churn.fanoutWrite(0);
  await sleep(durationMs * 0.5);
  await survival.beforeHeal();
  await fleet.mark();
  const healAt = Date.now();
  await fleet.resume(cut);
  progress.phase = 'partition: healed';
  const stats = await churnDone;
  const marks = await waitRecovered(fleet, healAt, CATCH_UP_DEADLINE_MS, cutSet);
  return {
    name: 'partition',
    startedAt,
    endedAt: Date.now(),
    churn: stats,
    partition: { ...recoveryFigures(marks, healAt, cutSet), cutNodes: count, cutSeconds: (healAt - cutAt) / 1000, ...(await survival.after()) },
  };
};
