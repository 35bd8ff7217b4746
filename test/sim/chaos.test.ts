/**
 * `edge-sim --scenario chaos` end to end, through the real binary: 50 virtual agents on real
 * SQLite stores against the simulator's own API and hub (separate processes), ten seeded faults
 * (two of each kind: hub kill -9, API restart, link cuts, agent restarts, damaged caches) while
 * churn goes on and the agents emit priority events. The run must end with every node in sync
 * with its desired set and every priority event in the cluster exactly once. No timing
 * assertions: this machine is shared and small.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../../sim/chaos/plan.js';
import { BIN, run } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';
import { expectWellFormedReport } from './report-checks.js';

const dir = makeTempDir('edge-sim-chaos-test-');
afterAll(() => dir.remove());

const SEED = 20261207;

describe('edge-sim --scenario chaos', () => {
  it('survives every kind of fault: 0 divergent nodes, 0 lost priority events, every damaged cache detected', async () => {
    const report = path.join(dir.path, 'chaos.json');
    const logs = path.join(dir.path, 'logs');
    const args = ['--scenario', 'chaos', '--nodes', '50', '--workers', '2', '--duration', '20', '--faults', '10', '--churn', '20', '--priority-events', '10'];
    const { code, stdout, stderr } = await run(process.execPath, [BIN.edgeSim, ...args, '--seed', String(SEED), '--progress-interval', '5000', '--log-dir', logs, '--report', report], {
      timeoutMs: 400_000,
      env: { LOG_LEVEL: 'info' },
    });
    expect(code, stderr.slice(-4000)).toBe(0);
    const parsed = expectWellFormedReport(report, { nodes: 50, scenarios: ['chaos'] });
    expect(parsed.config).toMatchObject({ sqlite: true, seed: SEED });
    const chaos = parsed.scenarios[0]!.chaos!;
    expect(chaos.seed).toBe(SEED);
    expect(chaos.reproduce).toContain(`--seed ${SEED}`);
    expect(chaos.planned).toBe(10);
    expect(chaos.injected).toBe(10);
    for (const kind of FAULT_KINDS) expect(chaos.byKind[kind].injected, kind).toBe(2);
    expect(chaos.timeline.map((fault) => fault.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Each fault was recovered from, or overtaken by a later hub kill (whose own recovery covers its nodes).
    for (const fault of chaos.timeline) {
      expect(fault.recoveredMs !== null || (fault.overtakenBy !== undefined && chaos.timeline[fault.overtakenBy - 1]!.kind === 'hub-kill'), `fault ${fault.n} (${fault.kind})`).toBe(true);
    }
    expect(chaos.byKind['hub-kill'].recovered).toBeGreaterThanOrEqual(1);
    // Every damaged cache was noticed on open, moved aside, and refilled by the hub (0 divergent).
    expect(chaos.corruptedCaches.injected).toBeGreaterThanOrEqual(2);
    expect(chaos.corruptedCaches.detected).toBe(chaos.corruptedCaches.injected);
    expect(parsed.verification.divergent).toBe(0);
    // Priority events went through filter, outbox, pump and hub into the cluster, each once.
    const events = chaos.priorityEvents;
    expect(events.emitted).toBeGreaterThan(0);
    expect(events.lost, events.lostExamples.join(', ')).toBe(0);
    expect(events.duplicated).toBe(0);
    expect(events.delivered + events.destroyedWithCache).toBeGreaterThanOrEqual(events.emitted);
    expect(events.pendingInOutboxes).toBe(0);
    expect(chaos.convergedMs).not.toBeNull();
    for (const measure of ['chaos: lost priority events', 'chaos: damaged caches the store did not detect', 'chaos: faults not recovered by the end']) {
      expect(parsed.targets.find((row) => row.measure === measure)).toMatchObject({ value: 0, verdict: 'met' });
    }
    // The hub was killed and the API restarted twice each: (at least) three starts of each, a log file per start.
    const files = readdirSync(logs);
    expect(files).toEqual(expect.arrayContaining(['apiserver-1.log', 'apiserver-2.log', 'apiserver-3.log', 'cloud-hub-1.log', 'cloud-hub-2.log', 'cloud-hub-3.log']));
    const lastHub = files.filter((file) => file.startsWith('cloud-hub-')).sort((a, b) => parseInt(a.slice(10), 10) - parseInt(b.slice(10), 10)).pop()!;
    expect(readFileSync(path.join(logs, lastHub), 'utf8')).toContain('"msg":"ready"');
    // The report names the seed and lists the faults in a timeline.
    expect(stdout).toContain('### Fault timeline');
    expect(stdout).toMatch(/\| seed\s+\| 20261207/);
    expect(stderr).toMatch(/chaos: fault \d+\/10 at [\d.]+ s: hub-kill: hub kill -9/);
    expect(stderr).toMatch(/chaos: fault \d+\/10 at [\d.]+ s: cache-corrupt: \d+ caches damaged/);
  }, 420_000);

  it('refuses API restarts against a cluster it did not start', async () => {
    const { code, stderr } = await run(process.execPath, [BIN.edgeSim, '--scenario', 'chaos', '--kubeconfig', '/nonexistent'], { timeoutMs: 20_000 });
    expect(code).not.toBe(0);
    expect(stderr).toContain('--fault-kinds without api-restart');
  });

  it('refuses an unknown fault kind, naming the kinds it knows', async () => {
    const { code, stderr } = await run(process.execPath, [BIN.edgeSim, '--scenario', 'chaos', '--fault-kinds', 'hub-kill,meteor'], { timeoutMs: 20_000 });
    expect(code).not.toBe(0);
    expect(stderr).toContain('unknown fault kind "meteor"');
    expect(stderr).toContain('cache-corrupt');
  });
});
