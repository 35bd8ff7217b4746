/**
 * `fanout`: one object every node references (the shared ConfigMap) changes, again and again;
 * each round is timed from the write to the last node applying it. Churn is paused meanwhile
 * so a round measures that one change reaching the whole fleet and nothing else.
 */
import { median } from '../metrics/statistics.js';
import { sleep, type Scenario } from './context.js';

const ROUND_DEADLINE_MS = 60_000;

export const fanout: Scenario = async ({ options, fleet, churn, progress }) => {
  const startedAt = Date.now();
  const rounds = Math.max(1, Math.floor((options.durationS * 1000) / options.fanoutIntervalMs));
  const roundMs: number[] = [];
  let incomplete = 0;
  await sleep(600); // a fresh fleet report before counting bytes
  const bytesBefore = fleet.totals().bytesIn;
  for (let round = 1; round <= rounds; round++) {
    progress.phase = `fanout, round ${round}/${rounds}`;
    const roundStart = Date.now();
    const expected = fleet.size - fleet.totals().paused;
    const written = await churn.fanoutWrite(round);
    const deadline = Date.now() + ROUND_DEADLINE_MS;
    while ((fleet.fanout.get(written)?.count ?? 0) < expected && Date.now() < deadline) await sleep(5);
    const entry = fleet.fanout.get(written);
    if (!entry || entry.count < expected) incomplete += 1;
    if (entry) roundMs.push(entry.last - Number(written));
    await sleep(options.fanoutIntervalMs - (Date.now() - roundStart));
  }
  await sleep(600);
  const frameBytes = (fleet.totals().bytesIn - bytesBefore) / Math.max(1, fleet.size * rounds);
  return {
    name: 'fanout',
    startedAt,
    endedAt: Date.now(),
    fanout: { rounds, roundMs, medianMs: median(roundMs), maxMs: Math.max(...roundMs, 0), incomplete, frameBytes: Math.round(frameBytes) },
  };
};
