/**
 * `edge-sim` end to end: 200 virtual nodes through the real binary, against its own embedded
 * API and hub (separate processes), every scenario in one run (one cluster start instead of
 * five keeps the suite short), zero divergent nodes and a well-formed report. No timing
 * assertions: this machine is shared and small.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, run } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';
import { expectWellFormedReport } from './report-checks.js';

const dir = makeTempDir('edge-sim-test-');
afterAll(() => dir.remove());

const SMALL = ['--nodes', '200', '--workers', '2', '--pods-per-node', '2', '--churn', '40', '--duration', '2', '--progress-interval', '2000'];

// A hang guard, not a speed target: the full run took 100-140 s on a loaded 2-core machine.
async function sim(args: string[], timeoutMs = 400_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [BIN.edgeSim, ...args], { timeoutMs, env: { LOG_LEVEL: 'info' } });
}

describe('edge-sim', () => {
  it('documents every flag with its environment variable', async () => {
    const { code, stdout } = await sim(['--help'], 60_000);
    expect(code).toBe(0);
    for (const flag of ['--hub', '--kubeconfig', '--nodes', '--pods-per-node', '--churn', '--duration', '--transport', '--workers', '--report', '--scenario', '--sqlite']) {
      expect(stdout).toContain(flag);
    }
    const flags = stdout.split('\n').filter((line) => /^\s+--[a-z]/.test(line) && !line.includes('--help'));
    expect(flags.length).toBeGreaterThan(10);
    // commander prints the variable on the flag's (possibly wrapped) description.
    expect(stdout.match(/env:\s+EDGE_SIM_[A-Z_]+/g)?.length).toBe(flags.length);
  });

  it('refuses the storm scenario against a hub it did not start', async () => {
    const { code, stderr } = await sim(['--hub', 'ws://127.0.0.1:9', '--kubeconfig', '/nonexistent', '--scenario', 'storm'], 60_000);
    expect(code).not.toBe(0);
    expect(stderr).toContain('storm');
  });

  it('every scenario with SQLite caches: 200 nodes, no divergent node', async () => {
    const report = path.join(dir.path, 'all.json');
    const scenarios = ['steady', 'fanout', 'partition', 'flap', 'storm'];
    const { code, stdout, stderr } = await sim([...SMALL, '--sqlite', '--scenario', scenarios.join(','), '--fanout-interval', '500', '--flap-fraction', '0.05', '--report', report]);
    expect(code, stderr.slice(-3000)).toBe(0);
    const parsed = expectWellFormedReport(report, { nodes: 200, scenarios });
    expect(parsed.config.sqlite).toBe(true);
    const [steady, fanout, partition, flap, storm] = parsed.scenarios;
    expect(steady!.churn!.done).toBeGreaterThan(0);
    expect(parsed.latency.samples).toBeGreaterThan(0);
    expect(fanout!.fanout!.rounds).toBeGreaterThan(0);
    expect(fanout!.fanout!.incomplete).toBe(0);
    // The cut nodes missed changes (at least the shared ConfigMap's) and caught up after the heal.
    expect(partition!.partition!.cutNodes).toBe(20);
    expect(partition!.partition!.recovered).toBe(20);
    expect(partition!.partition!.bytesDownPerNode.p50).toBeGreaterThan(0);
    expect(flap!.flap!.flaps).toBeGreaterThan(0);
    // The hub was killed with every node connected and restarted; each node said hello to it,
    // and as nothing had changed, each cost exactly welcome + synced.
    expect(storm!.storm!.recovered).toBe(200);
    expect(storm!.storm!.resyncsEqual + storm!.storm!.resyncsDiff).toBeGreaterThanOrEqual(200);
    expect(storm!.storm!.framesDownPerNode.max).toBe(2);
    expect(storm!.storm!.bytesDownPerNode.max).toBeLessThanOrEqual(1024);
    expect(stdout).toContain('| divergent nodes');
    // Not a TTY: plain progress lines.
    expect(stderr).toMatch(/edge-sim: \[\s*\d+s\] .*connected \d+\/200 synced \d+ events\/s \d+ p99/);
  }, 420_000);
});
