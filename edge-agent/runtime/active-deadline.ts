/**
 * `spec.activeDeadlineSeconds` as the kubelet's activeDeadlineHandler applies it, for both
 * runtimes: once the Pod has been active (since its startTime) that long, it fails for good:
 * phase Failed, reason DeadlineExceeded, a Warning event, every container stopped and none
 * started again, whatever the restart policy.
 */
import type { PodEvents } from './pod-events.js';
import type { PodView } from './pod-spec.js';

export const DEADLINE_EXCEEDED = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' } as const;

export interface PodFailure {
  reason: string;
  message: string;
}

/** When the deadline runs out (ms since the epoch), or undefined without one. */
export function deadlineAt(view: PodView, startTime: number | undefined): number | undefined {
  return view.activeDeadlineSeconds === undefined || startTime === undefined ? undefined : startTime + view.activeDeadlineSeconds * 1000;
}

/**
 * Whether the Pod has failed for good: already (`holder.failure`), or now because its deadline
 * passed (then `holder.failure` is set and the event queued).
 */
export function checkDeadline(holder: { failure?: PodFailure }, view: PodView, startTime: number | undefined, now: number, events: PodEvents): boolean {
  if (holder.failure) return true;
  const at = deadlineAt(view, startTime);
  if (at === undefined || now < at) return false;
  holder.failure = { ...DEADLINE_EXCEEDED };
  events.add({ type: 'Warning', ...DEADLINE_EXCEEDED });
  return true;
}
