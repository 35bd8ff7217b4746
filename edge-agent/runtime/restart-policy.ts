/**
 * Whether an exited container is started again, by the Pod's restartPolicy (the kubelet's
 * ShouldContainerBeRestarted). Init containers must succeed: a failed one is retried unless the
 * policy is Never (then the Pod fails); a successful one is done. App containers: Always
 * restarts on any exit, OnFailure on a non-zero exit, Never not at all.
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
