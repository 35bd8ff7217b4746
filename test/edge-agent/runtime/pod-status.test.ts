/** Phase and conditions as the kubelet computes them from container states. */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { parsePod } from '../../../edge-agent/runtime/pod-spec.js';
import type { ContainerRecord, PodState, Termination } from '../../../edge-agent/runtime/pod-state.js';
import { applyConditions, desiredConditions, renderContainers, renderPodStatus } from '../../../edge-agent/runtime/pod-status.js';
import { makePod } from './helpers.js';

const exit = (exitCode: number): Termination => ({ exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: 1_000, finishedAt: 2_000, containerID: 'process://1' });
const running = (extra: Partial<ContainerRecord> = {}): Partial<ContainerRecord> => ({ running: { pid: 42, startTicks: '1', pgid: 42, instance: 1, startedAt: 1_000, exitFile: '', infoFile: '' }, ...extra });
const done = (code: number): Partial<ContainerRecord> => ({ last: exit(code) });
const backingOff = (code: number): Partial<ContainerRecord> => ({ last: exit(code), waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } });
const waiting = (reason: string): Partial<ContainerRecord> => ({ waiting: { reason } });

function state(pod: JsonObject, records: Record<string, Partial<ContainerRecord>>): PodState {
  const containers: Record<string, ContainerRecord> = {};
  for (const [name, record] of Object.entries(records)) containers[name] = { name, init: false, specHash: '', image: '', restartCount: 0, instances: 1, ...record };
  return { version: 1, key: 'Pod/default/p', uid: 'u', pod, firstSeen: 0, startTime: 0, conditions: {}, containers };
}

describe('pod phase', () => {
  it.each<[string, 'Always' | 'OnFailure' | 'Never', Record<string, Partial<ContainerRecord>>, boolean, string]>([
    ['nothing started yet', 'Always', {}, false, 'Pending'],
    ['a container waiting for its configuration', 'Always', { a: running(), b: waiting('CreateContainerConfigError') }, false, 'Pending'],
    ['all running', 'Always', { a: running(), b: running() }, false, 'Running'],
    ['crash looping with Always', 'Always', { a: backingOff(1), b: running() }, false, 'Running'],
    ['all crash looping with Always', 'Always', { a: backingOff(1), b: backingOff(2) }, false, 'Running'],
    ['all exited 0 with Always (restarting)', 'Always', { a: done(0), b: done(0) }, false, 'Running'],
    ['all exited 0 with OnFailure', 'OnFailure', { a: done(0), b: done(0) }, false, 'Succeeded'],
    ['one failed, restarting with OnFailure', 'OnFailure', { a: done(0), b: backingOff(1) }, false, 'Running'],
    ['all exited 0 with Never', 'Never', { a: done(0), b: done(0) }, false, 'Succeeded'],
    ['one failed with Never', 'Never', { a: done(0), b: done(3) }, false, 'Failed'],
    ['one failed, one running with Never', 'Never', { a: running(), b: done(3) }, false, 'Running'],
    ['init running', 'Always', { init: running({ init: true }), a: waiting('PodInitializing'), b: waiting('PodInitializing') }, true, 'Pending'],
    ['init crash looping', 'OnFailure', { init: backingOff(1), a: waiting('PodInitializing'), b: waiting('PodInitializing') }, true, 'Pending'],
    ['init failed with Never', 'Never', { init: done(1), a: waiting('PodInitializing'), b: waiting('PodInitializing') }, true, 'Failed'],
    ['init done, app running', 'Always', { init: done(0), a: running(), b: running() }, true, 'Running'],
  ])('%s (%s) -> %s', (_name, restartPolicy, records, withInit, phase) => {
    const pod = makePod({ restartPolicy, initContainers: withInit ? [{ name: 'init' }] : undefined, containers: [{ name: 'a' }, { name: 'b' }] });
    expect(renderContainers(parsePod(pod), state(pod, records)).phase).toBe(phase);
  });
});

describe('pod conditions and container statuses', () => {
  it('renders states, lastState and conditions with transition times that move only on a flip', () => {
    const pod = makePod({ initContainers: [{ name: 'init', image: 'i' }], containers: [{ name: 'a', image: 'img-a' }, { name: 'b' }] });
    const view = parsePod(pod);
    const s = state(pod, { init: { ...done(0), init: true }, a: running({ last: exit(2), restartCount: 1 }), b: backingOff(1) });
    const rendered = renderContainers(view, s);
    expect(applyConditions(s.conditions, desiredConditions(rendered.initContainerStatuses, rendered.containerStatuses, rendered.phase), 5_000)).toBe(true);
    const status = renderPodStatus(view, s, '10.0.0.9');
    expect(status.phase).toBe('Running');
    expect(status.conditions).toEqual([
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: '1970-01-01T00:00:05Z' },
      { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]', lastProbeTime: null, lastTransitionTime: '1970-01-01T00:00:05Z' },
      { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]', lastProbeTime: null, lastTransitionTime: '1970-01-01T00:00:05Z' },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '1970-01-01T00:00:05Z' },
    ]);
    expect(status.initContainerStatuses).toEqual([
      {
        name: 'init',
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '1970-01-01T00:00:01Z', finishedAt: '1970-01-01T00:00:02Z', containerID: 'process://1' } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: 'i',
        imageID: '',
        started: false,
        containerID: 'process://1',
      },
    ]);
    expect(status.containerStatuses).toEqual([
      {
        name: 'a',
        state: { running: { startedAt: '1970-01-01T00:00:01Z' } },
        lastState: { terminated: { exitCode: 2, reason: 'Error', startedAt: '1970-01-01T00:00:01Z', finishedAt: '1970-01-01T00:00:02Z', containerID: 'process://1' } },
        ready: true,
        restartCount: 1,
        image: 'img-a',
        imageID: '',
        started: true,
        containerID: 'process://42',
      },
      {
        name: 'b',
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: '1970-01-01T00:00:01Z', finishedAt: '1970-01-01T00:00:02Z', containerID: 'process://1' } },
        ready: false,
        restartCount: 0,
        image: '',
        imageID: '',
        started: false,
        containerID: 'process://1',
      },
    ]);
    expect(status).toMatchObject({ hostIP: '10.0.0.9', podIP: '10.0.0.9', hostIPs: [{ ip: '10.0.0.9' }], podIPs: [{ ip: '10.0.0.9' }], startTime: '1970-01-01T00:00:00Z' });

    // b comes up: Ready flips (new time), Initialized does not (old time kept).
    s.containers.b = { ...s.containers.b!, ...running(), waiting: undefined } as ContainerRecord;
    delete s.containers.b.waiting;
    const again = renderContainers(view, s);
    applyConditions(s.conditions, desiredConditions(again.initContainerStatuses, again.containerStatuses, again.phase), 9_000);
    expect(s.conditions.Ready).toEqual({ status: 'True', lastTransitionTime: 9_000 });
    expect(s.conditions.Initialized).toEqual({ status: 'True', lastTransitionTime: 5_000 });
  });

  it('reports a succeeded Pod as not ready with reason PodCompleted', () => {
    const pod = makePod({ restartPolicy: 'Never', containers: [{ name: 'a' }] });
    const rendered = renderContainers(parsePod(pod), state(pod, { a: done(0) }));
    expect(rendered.phase).toBe('Succeeded');
    expect(desiredConditions(rendered.initContainerStatuses, rendered.containerStatuses, rendered.phase).Ready).toEqual({ status: 'False', reason: 'PodCompleted' });
  });
});
