/**
 * Whether an exited container is started again, by the Pod's restartPolicy (the kubelet's
 * ShouldContainerBeRestarted). Init containers must succeed: a failed one is retried unless the
 * policy is Never (then the Pod fails); a successful one is done. App containers: Always
 * restarts on any exit, OnFailure on a non-zero exit, Never not at all. A container whose
 * definition changed while it ran is started again whatever the policy.
 */
import type { RestartPolicy } from './pod-spec.js';

export function shouldRestart(policy: RestartPolicy, exitCode: number, init: boolean): boolean {
  if (init) return exitCode !== 0 && policy !== 'Never';
  switch (policy) {
    case 'Always':
      return true;
    case 'OnFailure':
      return exitCode !== 0;
    case 'Never':
      return false;
  }
}

/** How a container that is not running starts now: its first start, or a restart (`specChanged`: its definition changed, which resets the backoff). */
export interface StartKind {
  restart: boolean;
  specChanged: boolean;
}

/** Whether and how a container that is not running starts now; undefined: it stays terminated (for good, by the policy). */
export function nextStart(policy: RestartPolicy, record: { last?: { exitCode: number }; restartRequested?: boolean }, init: boolean): StartKind | undefined {
  if (!record.last) return { restart: false, specChanged: false };
  if (record.restartRequested) return { restart: true, specChanged: true };
  if (shouldRestart(policy, record.last.exitCode, init)) return { restart: true, specChanged: false };
  return undefined;
}
