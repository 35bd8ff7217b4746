/**
 * sidecars.ts, the plan both runtimes follow for init containers with `restartPolicy: Always`:
 * which init container starts next, when the Pod is done, and the stop order of a stopping Pod.
 */
import { describe, expect, it } from 'vitest';
import { parsePod } from '../../../edge-agent/runtime/pod-spec.js';
import { initPlan, podDone, stoppable, type SidecarRecord } from '../../../edge-agent/runtime/sidecars.js';
import { makePod, sh } from './helpers.js';

const pod = (restartPolicy: 'Always' | 'Never' = 'Always') =>
  parsePod(
    makePod({
      restartPolicy,
      initContainers: [sh('proxy', 'x', { restartPolicy: 'Always' }), sh('setup', 'x'), sh('logger', 'x', { restartPolicy: 'Always' })],
      containers: [sh('main', 'x')],
    }),
  );
const running = (started = true): SidecarRecord => ({ running: {}, probed: { started } });
const exited = (exitCode: number): SidecarRecord => ({ last: { exitCode } });
const names = (plan: ReturnType<typeof initPlan>) => plan.starts.map((step) => step.spec.name);

describe('the sidecar plan', () => {
  it('starts a sidecar first and holds the next init container until it has started', () => {
    expect(names(initPlan(pod(), {}))).toEqual(['proxy']);
    expect(initPlan(pod(), { proxy: running(false) })).toMatchObject({ starts: [], initialized: false });
    expect(names(initPlan(pod(), { proxy: running() }))).toEqual(['setup']);
    expect(initPlan(pod(), { proxy: running(), setup: { running: {} } })).toMatchObject({ starts: [], initialized: false });
    expect(names(initPlan(pod(), { proxy: running(), setup: exited(0) }))).toEqual(['logger']);
    expect(initPlan(pod(), { proxy: running(), setup: exited(0), logger: running() })).toMatchObject({ starts: [], initialized: true, stop: [] });
  });

  it('restarts an exited sidecar whatever the Pod\'s policy, without holding the app containers', () => {
    const plan = initPlan(pod('Never'), { proxy: exited(1), setup: exited(0), logger: running(), main: { running: {} } });
    expect(plan.starts).toEqual([expect.objectContaining({ start: { restart: true, specChanged: false } })]);
    expect(names(plan)).toEqual(['proxy']);
    expect(plan.initialized).toBe(true);
  });

  it('calls a Never Pod done once its app containers finished (or an init container failed), and stops the sidecars last first', () => {
    const finished = { proxy: running(), setup: exited(0), logger: running(), main: exited(0) };
    expect(podDone(pod('Never'), finished)).toBe(true);
    expect(podDone(pod('Always'), finished)).toBe(false);
    expect(podDone(pod('Never'), { proxy: running(), setup: exited(2) })).toBe(true);
    expect(initPlan(pod('Never'), finished)).toMatchObject({ starts: [], initialized: true, stop: ['logger'] });
    expect(initPlan(pod('Never'), { proxy: running(), setup: exited(2) })).toMatchObject({ starts: [{ start: undefined }], initialized: false, stop: ['proxy'] });
    expect(initPlan(pod('Never'), { ...finished, logger: exited(143) })).toMatchObject({ starts: [], stop: ['proxy'] });
  });

  it('stops app containers before sidecars, sidecars in reverse order, everything once the grace period is over', () => {
    const records = { proxy: running(), logger: running(), main: { running: {} } };
    expect(stoppable(pod(), records, false)).toEqual(['main']);
    expect(stoppable(pod(), { proxy: running(), logger: running() }, false)).toEqual(['logger']);
    expect(stoppable(pod(), { proxy: running() }, false)).toEqual(['proxy']);
    expect(stoppable(pod(), records, true).sort()).toEqual(['logger', 'main', 'proxy']);
  });
});
