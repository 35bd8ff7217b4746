/**
 * `edge-sim` end to end: 200 virtual nodes through the real binary, against its own embedded
 * API and hub (separate processes). Every scenario runs in one shared run (one cluster start
 * instead of five keeps the suite short), and each scenario's figures are a test of their own.
 * No timing assertions: this machine is shared and small.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioReport, SimReport } from '../../sim/report/model.js';
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
});

describe('edge-sim, every scenario in one run with SQLite caches (200 nodes)', () => {
  const SCENARIOS = ['steady', 'fanout', 'partition', 'flap', 'storm'];
  const file = path.join(dir.path, 'all.json');
  let result: { code: number | null; stdout: string; stderr: string };
  let parsed: SimReport | undefined;

  beforeAll(async () => {
    result = await sim([...SMALL, '--sqlite', '--scenario', SCENARIOS.join(','), '--fanout-interval', '500', '--flap-fraction', '0.05', '--report', file]);
  }, 420_000);

  /** The run's report, once the run is known to have succeeded (else its stderr, as the failure). */
  function report(): SimReport {
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    parsed ??= expectWellFormedReport(file, { nodes: 200, scenarios: SCENARIOS });
    return parsed;
  }
  function scenario(name: string): ScenarioReport {
    const found = report().scenarios.find((s) => s.name === name);
    expect(found, `scenario ${name} in the report`).toBeDefined();
    return found!;
  }

  it('ends with every node in sync: exit 0, a well-formed report, no divergent node', () => {
    expect(report().config.sqlite).toBe(true);
    expect(result.stdout).toContain('| divergent nodes');
  });

  it('steady: the churn was written and its changes reached the nodes', () => {
    expect(scenario('steady').churn!.done).toBeGreaterThan(0);
    expect(report().latency.samples).toBeGreaterThan(0);
  });

  it('fanout: every round of the shared ConfigMap reached every node', () => {
    const { fanout } = scenario('fanout');
    expect(fanout!.rounds).toBeGreaterThan(0);
    expect(fanout!.incomplete).toBe(0);
  });

  it('partition: the cut nodes missed changes and caught up after the heal', () => {
    const { partition } = scenario('partition');
    expect(partition!.cutNodes).toBe(20);
    expect(partition!.recovered).toBe(20);
    // At least the shared ConfigMap's change was resent to each of them.
    expect(partition!.bytesDownPerNode.p50).toBeGreaterThan(0);
  });

  it('flap: nodes dropped their links and came back', () => {
    expect(scenario('flap').flap!.flaps).toBeGreaterThan(0);
  });

  it('storm: after kill -9 of the hub each node resynced with welcome + synced only', () => {
    const { storm } = scenario('storm');
    // Every node said hello to the restarted hub, and as nothing had changed, each cost two frames.
    expect(storm!.recovered).toBe(200);
    expect(storm!.resyncsEqual + storm!.resyncsDiff).toBeGreaterThanOrEqual(200);
    expect(storm!.framesDownPerNode.max).toBe(2);
    expect(storm!.bytesDownPerNode.max).toBeLessThanOrEqual(1024);
  });

  it('prints plain progress lines when stderr is not a terminal', () => {
    expect(result.stderr).toMatch(/edge-sim: \[\s*\d+s\] .*connected \d+\/200 synced \d+ events\/s \d+ p99/);
  });
});
