/**
 * Pod statuses the agent reports without a runtime record to render them from (pod-status.ts
 * renders those that have one), in the same shapes:
 * - after a deletion the Pod's processes are gone and so are its records: the last reported
 *   status with every container terminated, so the hub can finish the deletion (it deletes the
 *   Pod with grace 0, as after a kubelet's final report);
 * - a Pod the node refuses to run (quarantine, reconcile/reconciler.ts): Failed with reason
 *   InvalidSpec, as the kubelet reports a Pod it rejects at admission.
 */
import type { JsonObject } from '../../protocol/index.js';
import { kubeTime as rfc3339 } from '../../protocol/kube/index.js';

/** `previous` (the last status reported, or {}) with every container terminated at `now`. */
export function terminatedPodStatus(previous: JsonObject, now: number): JsonObject {
  const at = rfc3339(now);
  const finish = (statuses: unknown): JsonObject[] =>
    (Array.isArray(statuses) ? (statuses as JsonObject[]) : []).map((status) => {
      const state = status.state as JsonObject | undefined;
      if (state?.terminated) return { ...status, ready: false, started: false };
      const running = state?.running as JsonObject | undefined;
      return {
        ...status,
        ready: false,
        started: false,
        state: { terminated: { exitCode: 137, reason: 'Killed', message: 'stopped for Pod deletion', ...(running?.startedAt ? { startedAt: running.startedAt } : {}), finishedAt: at } },
      };
    });
  return {
    ...previous,
    phase: previous.phase === 'Succeeded' ? 'Succeeded' : 'Failed',
    conditions: ((previous.conditions as JsonObject[] | undefined) ?? []).map((condition) =>
      condition.type === 'Ready' || condition.type === 'ContainersReady' ? { ...condition, status: 'False', reason: 'PodCompleted', lastTransitionTime: at } : condition,
    ),
    containerStatuses: finish(previous.containerStatuses),
    initContainerStatuses: finish(previous.initContainerStatuses),
  };
}

/** The status of a Pod refused for `message` at `now`: Failed, InvalidSpec, not initialized or ready. */
export function invalidSpecPodStatus(message: string, now: number): JsonObject {
  const at = rfc3339(now);
  const condition = (type: string) => ({ type, status: 'False', reason: 'InvalidSpec', message, lastTransitionTime: at });
  return {
    phase: 'Failed',
    reason: 'InvalidSpec',
    message,
    conditions: [condition('Initialized'), condition('Ready'), condition('ContainersReady'), { type: 'PodScheduled', status: 'True', lastTransitionTime: at }],
  };
}
