/**
 * What a new Pod spec means for the containers the worker already has records of (the part of
 * the kubelet's computePodActions about changed specs): a container removed from the spec is
 * stopped, and forgotten once it is not running; a running container whose definition changed
 * is restarted, whatever the restart policy; a stopped one takes the new definition at its next
 * start (a completed init container is not run again), with a fresh backoff, as the kubelet keys
 * backoff by spec hash. Updates the records that need no process action and returns the kills
 * to make, in order.
 */
import type { PodView } from './pod-spec.js';
import type { ContainerRecord, PodState, RunningInstance } from './pod-state.js';
import { specHash } from './spec-hash.js';

export interface SpecKill {
  record: ContainerRecord;
  running: RunningInstance;
  /** The Killing event's message. */
  reason: string;
}

export function specChanges(view: PodView, state: PodState): SpecKill[] {
  const kills: SpecKill[] = [];
  const specs = [...view.initContainers, ...view.containers];
  const names = new Set(specs.map((container) => container.name));
  for (const record of Object.values(state.containers)) {
    if (names.has(record.name)) continue;
    if (record.running) kills.push({ record, running: record.running, reason: 'Container removed from the Pod spec' });
    else delete state.containers[record.name];
  }
  for (const container of specs) {
    const record = state.containers[container.name];
    if (!record) continue;
    const hash = specHash(container.raw);
    if (record.specHash === hash) continue;
    if (record.running) {
      if (record.running.killing) continue;
      record.restartRequested = true;
      kills.push({ record, running: record.running, reason: `Container ${container.name} definition changed, will be restarted` });
    } else {
      record.specHash = hash;
      record.image = container.image;
      delete record.backoff;
      if (record.waiting?.reason === 'CrashLoopBackOff') delete record.waiting;
    }
  }
  return kills;
}
