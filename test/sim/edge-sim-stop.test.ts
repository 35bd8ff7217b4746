/**
 * `edge-sim` stops what it started: its embedded API and hub are its child processes, and none
 * of them survives a SIGTERM while the fleet connects, a SIGTERM while the API is still starting
 * (before the simulator knows its address), or a run that fails (a hub that refuses its flags).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isSameProcessAlive, readProcStat } from '../../edge-agent/runtime/proc-stat.js';
import { processTable } from '../helpers/host-cleanup.js';
import { BIN, startProcess, type RunningProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

interface Child {
  pid: number;
  startTicks: string;
  argv: string[];
}

/** An edge-sim process and every child process it had, seen by polling /proc every 20 ms. */
class WatchedSim {
  readonly children = new Map<number, Child>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly proc: RunningProcess) {
    this.timer = setInterval(() => this.look(), 20);
    void proc.exited.then(() => clearInterval(this.timer));
  }

  look(): void {
    for (const entry of processTable()) {
      if (entry.ppid !== this.proc.pid) continue;
      const known = this.children.get(entry.pid);
      // A child seen between fork and exec still shows edge-sim's argv: keep the latest one.
      if (known) {
        known.argv = entry.argv;
        continue;
      }
      const stat = readProcStat(entry.pid);
      if (stat) this.children.set(entry.pid, { pid: entry.pid, startTicks: stat.startTicks, argv: entry.argv });
    }
  }

  survivors(): Child[] {
    return [...this.children.values()].filter((child) => isSameProcessAlive(child.pid, child.startTicks));
  }
}

const started: WatchedSim[] = [];
afterAll(async () => {
  // A failed test must not leave processes behind either.
  for (const sim of started) {
    await sim.proc.kill();
    for (const child of sim.survivors()) process.kill(child.pid, 'SIGKILL');
  }
});

async function startSim(args: string[]): Promise<WatchedSim> {
  const proc = await startProcess(BIN.edgeSim, ['--nodes', '20', '--workers', '1', '--pods-per-node', '1', '--churn', '5', '--progress-interval', '1000', ...args], { ready: null, env: { LOG_LEVEL: 'info' } });
  const sim = new WatchedSim(proc);
  started.push(sim);
  return sim;
}

const stderrOf = (sim: WatchedSim): string => sim.proc.stderr.join('\n');

describe('edge-sim stops its child processes', () => {
  it('on SIGTERM while the fleet connects: the API and the hub are gone when it exits', async () => {
    const sim = await startSim(['--duration', '60', '--scenario', 'steady']);
    await waitFor(() => stderrOf(sim).includes('connecting 20 nodes'), { timeoutMs: 120_000, what: `edge-sim to start its fleet\n${stderrOf(sim)}` });
    sim.look();
    const roles = [...sim.children.values()].map((child) => child.argv.includes('apiserver') ? 'apiserver' : 'hub').sort();
    expect(roles).toEqual(['apiserver', 'hub']);
    expect(sim.survivors()).toHaveLength(2);
    // SIGKILL after 60 s is a hang guard: an edge-sim that exits on its own has exit code 130.
    const exit = await sim.proc.stop('SIGTERM', 60_000);
    expect(exit, stderrOf(sim)).toEqual({ code: 130, signal: null });
    expect(stderrOf(sim)).toContain('SIGTERM, stopping');
    expect(sim.survivors()).toEqual([]);
  });

  it('on SIGTERM while the API it started is not ready yet', async () => {
    const sim = await startSim(['--duration', '60', '--scenario', 'steady']);
    await waitFor(() => (sim.look(), sim.children.size > 0), { timeoutMs: 60_000, what: 'the API process' });
    const exit = await sim.proc.stop('SIGTERM', 60_000);
    expect(exit.signal, stderrOf(sim)).toBeNull();
    expect(exit.code).not.toBe(0);
    expect(sim.children.size).toBeGreaterThan(0);
    expect(sim.survivors()).toEqual([]);
  });

  it('when the run fails: a hub that refuses its flags leaves no API behind', async () => {
    const sim = await startSim(['--duration', '5', '--scenario', 'steady', '--hub-arg', '--no-such-flag']);
    await waitFor(() => !sim.proc.running, { timeoutMs: 120_000, what: 'edge-sim to fail' });
    const exit = await sim.proc.exited;
    expect(exit, stderrOf(sim)).toEqual({ code: 1, signal: null });
    expect(stderrOf(sim)).toMatch(/cloud-hub exited/);
    expect([...sim.children.values()].some((child) => child.argv.includes('apiserver'))).toBe(true);
    expect(sim.survivors()).toEqual([]);
  });
});
