/** `steady`: the fleet connected and in sync, churn at the asked rate for the duration. */
import type { Scenario } from './context.js';

export const steady: Scenario = async ({ options, churn, progress }) => {
  const startedAt = Date.now();
  progress.phase = `steady, ${options.churn} changes/s`;
  const stats = await churn.run(options.churn, options.durationS * 1000);
  return { name: 'steady', startedAt, endedAt: Date.now(), churn: stats };
};
