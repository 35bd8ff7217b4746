/**
 * `flap`: while churn goes on, a share of the fleet loses its connection every second and
 * reconnects through the agent's own backoff, so resyncs and the live stream interleave.
 */
import { sleep, type Scenario } from './context.js';

export const flap: Scenario = async ({ options, fleet, churn, nodes, progress }) => {
  const startedAt = Date.now();
  const before = fleet.totals();
  const perSecond = Math.max(1, Math.round(nodes.length * options.flapFraction));
  progress.phase = `flap: ${perSecond} nodes/s dropped, churn ${options.churn}/s`;
  let running = true;
  const churnDone = churn.run(options.churn, options.durationS * 1000).finally(() => (running = false));
  let flaps = 0;
  while (running) {
    flaps += await fleet.flap(perSecond);
    await sleep(1_000);
  }
  const stats = await churnDone;
  await sleep(600);
  const after = fleet.totals();
  return {
    name: 'flap',
    startedAt,
    endedAt: Date.now(),
    churn: stats,
    flap: { flaps, resyncs: after.resyncs - before.resyncs, resyncDeliveries: after.resyncDeliveries - before.resyncDeliveries },
  };
};
