/**
 * preStop hooks for a runtime that stops containers without blocking (the process runtime):
 * the kubelet runs the hook first and sends the stop signal when it returns, the hook's time
 * counted against the grace period (a hook still running when the grace period ends is cut
 * and the container stopped at once). `before` is asked on each pass that wants the instance
 * stopped: undefined while the hook runs, then the grace left for the signal. A failed hook is
 * a `FailedPreStopHook` event; the stop goes ahead.
 */
import type { ProbeEvent } from './pod-probes.js';
import type { ProbeTarget, Prober } from './prober.js';
import type { Handler } from './probe-spec.js';
import { hookFailure } from './hook-messages.js';

export interface PreStopDeps {
  prober: Prober;
  event(event: ProbeEvent): void;
  /** The hook ended: the runtime should look again. */
  wake(): void;
}

interface Running {
  deadline: number;
  done: boolean;
}

export class PreStopHooks {
  private readonly running = new Map<string, Running>();

  constructor(private readonly deps: PreStopDeps) {}

  /** Whether the hook for `instance` has been started (the caller reported Killing then). */
  begun(container: string, instance: string): boolean {
    return this.running.has(`${container}/${instance}`);
  }

  /** Starts the hook on the first call; undefined while it runs, then the grace (ms) left for the stop signal. */
  before(container: string, instance: string, hook: Handler | undefined, target: ProbeTarget, graceMs: number, now: number): number | undefined {
    if (!hook) return graceMs;
    const key = `${container}/${instance}`;
    let entry = this.running.get(key);
    if (!entry) {
      entry = { deadline: now + graceMs, done: false };
      this.running.set(key, entry);
      const started = entry;
      void this.deps.prober
        .run(hook, target, Math.max(1, graceMs))
        .then((result) => {
          if (!result.ok) this.deps.event({ container, type: 'Warning', reason: 'FailedPreStopHook', message: hookFailure('PreStop', hook, container, result.output) });
        })
        .catch(() => undefined) // the event could not be queued: the stop goes ahead anyway
        .finally(() => {
          started.done = true;
          this.deps.wake();
        });
    }
    entry.deadline = Math.min(entry.deadline, now + graceMs);
    if (!entry.done && now < entry.deadline) return undefined;
    return Math.max(0, entry.deadline - now);
  }

  /** The instance is gone. */
  forget(container: string, instance: string): void {
    this.running.delete(`${container}/${instance}`);
  }
}
