/**
 * The events of one Pod's supervision pass, queued until the pass ends and then handed to the
 * runtime's listeners in order. A level-triggered pass retries a failing start on every poll;
 * `dedupe` keeps such a retry from repeating its event while the problem stays the same (one
 * slot per container and reason, as the kubelet's event recorder does by aggregation).
 */
import type { RuntimeEvent } from './runtime.js';

export class PodEvents {
  private queued: RuntimeEvent[] = [];
  /** Last dedupe value reported per container and reason. */
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly pod: string,
    private readonly now: () => number,
  ) {}

  /** Queues an event; with `dedupe`, only when it differs from the last one of its container and reason. */
  add(event: Omit<RuntimeEvent, 'pod' | 'at'>, dedupe?: string, at = this.now()): void {
    if (dedupe !== undefined) {
      const slot = `${event.container ?? ''}\u0000${event.reason}`;
      if (this.reported.get(slot) === dedupe) return;
      this.reported.set(slot, dedupe);
    }
    this.queued.push({ ...event, pod: this.pod, at });
  }

  /** A new instance of the container started: its next problems are worth reporting again. */
  forgetContainer(name: string): void {
    for (const slot of [...this.reported.keys()]) if (slot.startsWith(`${name}\u0000`)) this.reported.delete(slot);
  }

  /** The queued events, oldest first; the queue is empty afterwards. */
  take(): RuntimeEvent[] {
    const events = this.queued;
    this.queued = [];
    return events;
  }
}
