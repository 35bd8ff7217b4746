/** The kubelet's probe timing with a fake clock: initial delay, period, thresholds, hold after a liveness failure, the startup gate. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProbeOutcome } from '../../../../edge-agent/runtime/probes/probe-result.js';
import { containerProbes, type ProbeSpec } from '../../../../edge-agent/runtime/probes/probe-spec.js';
import { ProbeWorker, type ProbeState } from '../../../../edge-agent/runtime/probes/probe-worker.js';

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

function probe(kind: 'liveness' | 'readiness' | 'startup', fields: Record<string, number>): ProbeSpec {
  const key = { liveness: 'livenessProbe', readiness: 'readinessProbe', startup: 'startupProbe' }[kind];
  const problems: string[] = [];
  const spec = containerProbes({ name: 'c', [key]: { exec: { command: ['x'] }, ...fields } }, 'c', problems)[kind];
  expect(problems).toEqual([]);
  return spec!;
}

function worker(spec: ProbeSpec, results: boolean[], gate = () => true) {
  const runs: number[] = [];
  const changes: ProbeState[] = [];
  const failures: string[] = [];
  const w = new ProbeWorker({
    probe: spec,
    startedAt: Date.now(),
    now: Date.now,
    gate,
    run: async (): Promise<ProbeOutcome> => {
      runs.push(Date.now());
      return { ok: results.shift() ?? true, output: 'out' };
    },
    failed: (_kind, outcome) => failures.push(outcome.output),
    changed: (_kind, state) => changes.push(state),
  });
  w.start();
  return { w, runs, changes, failures };
}

describe('probe defaults', () => {
  it('are the kubelet defaults, and 0 means the default', () => {
    expect(probe('readiness', {})).toMatchObject({ initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
    expect(probe('readiness', { periodSeconds: 0, failureThreshold: 0 })).toMatchObject({ periodSeconds: 10, failureThreshold: 3 });
  });
});

describe('ProbeWorker', () => {
  it('waits initialDelaySeconds, then runs every periodSeconds', async () => {
    const { runs, w } = worker(probe('readiness', { initialDelaySeconds: 5, periodSeconds: 2 }), []);
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(4_001);
    expect(runs.map((at) => at - t0)).toEqual([5_000, 7_000, 9_000]);
    w.stop();
  });

  it('readiness starts as failure and needs successThreshold successes, failureThreshold failures to flip', async () => {
    const { changes, failures, w } = worker(probe('readiness', { periodSeconds: 1, successThreshold: 2, failureThreshold: 3 }), [true, true, false, false, true, false, false, false]);
    expect(w.state).toBe('failure');
    await vi.advanceTimersByTimeAsync(1);
    expect(w.state).toBe('failure'); // one success is not enough
    await vi.advanceTimersByTimeAsync(1_000);
    expect(changes).toEqual(['success']);
    await vi.advanceTimersByTimeAsync(6_000); // F F S F F F, one per second
    expect(changes).toEqual(['success', 'failure']);
    expect(failures).toHaveLength(5);
    w.stop();
  });

  it('liveness starts as success, fails once after failureThreshold, then holds (no more runs)', async () => {
    const { changes, runs, w } = worker(probe('liveness', { periodSeconds: 1, failureThreshold: 2 }), [false, false, false, false]);
    expect(w.state).toBe('success');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(changes).toEqual(['failure']);
    expect(runs).toHaveLength(2);
    w.stop();
  });

  it('does not run while the gate is closed, and a startup probe stops once it succeeded', async () => {
    let open = false;
    const gated = worker(probe('liveness', { periodSeconds: 1 }), [], () => open);
    const startup = worker(probe('startup', { periodSeconds: 1 }), [false, true]);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(gated.runs).toEqual([]);
    expect(startup.changes).toEqual(['success']);
    expect(startup.runs).toHaveLength(2);
    open = true;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(gated.runs.length).toBeGreaterThanOrEqual(1);
    gated.w.stop();
    startup.w.stop();
  });
});
