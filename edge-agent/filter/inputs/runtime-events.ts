/**
 * Pod and container lifecycle as event inputs: what the runtime reports (a container started,
 * exited, was OOM-killed, backed off...) and what the reconciler reports about Pods it will not
 * run (InvalidSpec), as upstream event candidates. The filter decides what goes up.
 */
import type { RuntimeEvent } from '../../runtime/runtime.js';
import type { NewCandidate } from '../upstream-events.js';

/** The candidate for a runtime event about the Pod `key`: a container's own (its name leads the message), or the Pod's. */
export function runtimeCandidate(key: string, event: RuntimeEvent): NewCandidate {
  return {
    source: event.container ? 'container' : 'pod',
    type: event.type,
    reason: event.reason,
    message: event.container ? `${event.container}: ${event.message}` : event.message,
    object: key,
    ts: event.at,
  };
}
