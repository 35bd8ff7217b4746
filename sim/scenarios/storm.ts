/**
 * `storm`: churn, let the fleet settle, then kill -9 the hub with every node connected and
 * restart it on the same port. Measures the time until every node is back in sync and what
 * the resync cost per node; nodes whose objects did not change should cost two frames
 * (welcome, synced). Needs the simulator's own hub (it must be able to kill it).
 */
import type { Scenario } from './context.js';
import { recoveryFigures, waitRecovered } from './recovery.js';

const RECOVERY_DEADLINE_MS = 180_000;

export const storm: Scenario = async ({ options, fleet, churn, cluster, hub, progress, settle }) => {
  if (!cluster) throw new Error('the storm scenario kills and restarts the hub: run it with --hub auto (the simulator starts its own hub)');
  const startedAt = Date.now();
  progress.phase = `storm: churn ${options.churn}/s before the kill`;
  const stats = await churn.run(options.churn, options.durationS * 1000);
  progress.phase = 'storm: settling before the kill';
  await settle();
  await fleet.mark();
  const killAt = Date.now();
  progress.phase = 'storm: hub killed (SIGKILL), restarting';
  await cluster.killHub();
  await cluster.startHub();
  const hubRestartMs = cluster.hubReadyAt - killAt;
  progress.phase = 'storm: nodes resyncing';
  const marks = await waitRecovered(fleet, killAt, RECOVERY_DEADLINE_MS);
  const figures = recoveryFigures(marks, killAt);
  const sample = await hub.sample();
  return {
    name: 'storm',
    startedAt,
    endedAt: Date.now(),
    churn: stats,
    storm: {
      ...figures,
      fromHubReadyMs: figures.recoveryMs - hubRestartMs,
      hubRestartMs,
      resyncsEqual: sample?.resyncsEqual ?? NaN,
      resyncsDiff: sample?.resyncsDiff ?? NaN,
    },
  };
};
