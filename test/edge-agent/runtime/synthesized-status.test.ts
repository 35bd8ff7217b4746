/** Statuses the agent reports without a runtime record: a deleted Pod's last one, a quarantined Pod's. */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { invalidSpecPodStatus, terminatedPodStatus } from '../../../edge-agent/runtime/synthesized-status.js';

const NOW = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const AT = '2030-01-02T03:04:05Z';

describe('terminatedPodStatus', () => {
  it('terminates running containers (keeping their start), keeps terminated ones, and marks the Pod not ready', () => {
    const previous: JsonObject = {
      phase: 'Running',
      hostIP: '10.0.0.1',
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: '2030-01-01T00:00:00Z' },
        { type: 'Ready', status: 'True', lastTransitionTime: '2030-01-01T00:00:00Z' },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: '2030-01-01T00:00:00Z' },
      ],
      initContainerStatuses: [{ name: 'init', ready: true, started: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      containerStatuses: [
        { name: 'main', ready: true, started: true, restartCount: 2, state: { running: { startedAt: '2030-01-01T12:00:00Z' } } },
        { name: 'waiting', ready: false, started: false, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ],
    };
    expect(terminatedPodStatus(previous, NOW)).toEqual({
      phase: 'Failed',
      hostIP: '10.0.0.1',
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: '2030-01-01T00:00:00Z' },
        { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: AT },
        { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', lastTransitionTime: AT },
      ],
      initContainerStatuses: [{ name: 'init', ready: false, started: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      containerStatuses: [
        { name: 'main', ready: false, started: false, restartCount: 2, state: { terminated: { exitCode: 137, reason: 'Killed', message: 'stopped for Pod deletion', startedAt: '2030-01-01T12:00:00Z', finishedAt: AT } } },
        { name: 'waiting', ready: false, started: false, state: { terminated: { exitCode: 137, reason: 'Killed', message: 'stopped for Pod deletion', finishedAt: AT } } },
      ],
    });
  });

  it('a Succeeded Pod stays Succeeded; with nothing reported before, the lists are empty', () => {
    expect(terminatedPodStatus({ phase: 'Succeeded' }, NOW).phase).toBe('Succeeded');
    expect(terminatedPodStatus({}, NOW)).toEqual({ phase: 'Failed', conditions: [], containerStatuses: [], initContainerStatuses: [] });
  });
});

describe('invalidSpecPodStatus', () => {
  it('is Failed with reason InvalidSpec, not initialized or ready, scheduled', () => {
    const status = invalidSpecPodStatus('metadata.uid: must not contain "/"', NOW);
    const message = 'metadata.uid: must not contain "/"';
    expect(status).toEqual({
      phase: 'Failed',
      reason: 'InvalidSpec',
      message,
      conditions: [
        { type: 'Initialized', status: 'False', reason: 'InvalidSpec', message, lastTransitionTime: AT },
        { type: 'Ready', status: 'False', reason: 'InvalidSpec', message, lastTransitionTime: AT },
        { type: 'ContainersReady', status: 'False', reason: 'InvalidSpec', message, lastTransitionTime: AT },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: AT },
      ],
    });
  });
});
