/**
 * `edge-sim --scenario partition` against a control plane that evicts: the own embedded API
 * runs with a 2 s node monitor grace period and 1 s default toleration seconds (its flags read
 * from the environment the simulator passes on), so the 7 s cut outlasts the eviction window
 * (2 s + 1 s, plus the taint's whole-second timeAdded). With the hub's edge autonomy no Pod of a
 * cut node is deleted; with `--no-autonomy` (the control) they are, and the run fails on it.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { SimReport } from '../../sim/report/model.js';
import { BIN, run } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = makeTempDir('edge-sim-partition-');
afterAll(() => dir.remove());

const CONTROL_PLANE = {
  EDGE_NODE_MONITOR_GRACE_PERIOD: '2s',
  EDGE_NODE_MONITOR_PERIOD: '100ms',
  EDGE_DEFAULT_UNREACHABLE_TOLERATION_SECONDS: '1',
  EDGE_DEFAULT_NOT_READY_TOLERATION_SECONDS: '1',
};
const RUN = ['--nodes', '10', '--workers', '1', '--pods-per-node', '2', '--churn', '5', '--duration', '14', '--partition-fraction', '0.3', '--scenario', 'partition', '--progress-interval', '2000'];
// Leases renewed from heartbeats twice a second, so only the cut nodes go silent.
const HUB = ['--hub-arg', '--heartbeat-interval 500 --node-grace-period 2000'];

async function sim(name: string, extra: string[]): Promise<{ code: number | null; stderr: string; report: SimReport }> {
  const report = path.join(dir.path, `${name}.json`);
  // A hang guard, not a speed target.
  const result = await run(process.execPath, [BIN.edgeSim, ...RUN, ...HUB, ...extra, '--report', report], { timeoutMs: 300_000, env: { LOG_LEVEL: 'info', ...CONTROL_PLANE } });
  return { code: result.code, stderr: result.stderr, report: JSON.parse(readFileSync(report, 'utf8')) as SimReport };
}

describe('edge-sim --scenario partition', () => {
  it('deletes no pod of a cut node although the control plane tainted every one', async () => {
    const { code, stderr, report } = await sim('autonomy', []);
    expect(code, stderr.slice(-3000)).toBe(0);
    const partition = report.scenarios[0]!.partition!;
    expect(partition.cutNodes).toBe(3);
    expect(partition.recovered).toBe(3);
    expect(partition.taintedNodes).toBe(3);
    expect(partition.watchedPods).toBe(6);
    expect(partition.podsDeleted).toBe(0);
    expect(partition.evictions).toBe(0);
    expect(report.targets.find((row) => row.measure === 'partition: pods of cut nodes deleted')).toMatchObject({ value: 0, verdict: 'met' });
  }, 320_000);

  it('without autonomy (the control) sees the pods evicted and fails the run', async () => {
    const { code, stderr, report } = await sim('control', ['--hub-arg', '--no-autonomy']);
    expect(code).toBe(1);
    expect(stderr).toContain('partition: pods of cut nodes deleted');
    const partition = report.scenarios[0]!.partition!;
    expect(partition.taintedNodes).toBe(3);
    expect(partition.podsDeleted).toBe(6);
    expect(partition.evictions).toBeGreaterThanOrEqual(6);
  }, 320_000);
});
