/**
 * The default home of forwarded edge events: one structured log line each, de-duplicated by
 * event id (agents deliver at least once), then acked so they leave the agent's outbox.
 */
import type { Logger } from 'pino';
import type { EventFrame } from '../../protocol/index.js';
import type { NodeReply } from '../session/upstream-sink.js';
import type { EventSink } from './kube-upstream.js';

export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** True the first time `id` is seen (within the last `capacity` ids). */
  firstSighting(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
    return true;
  }
}

export class LogEventSink implements EventSink {
  private readonly seen = new RecentIds(100_000);

  constructor(private readonly logger: Logger) {}

  accept(node: string, frame: EventFrame, reply: NodeReply): void {
    for (const event of frame.events) {
      if (!this.seen.firstSighting(event.id)) continue;
      this.logger.info({ node, event }, 'edge event');
    }
    reply.ack(frame.events.map((event) => event.id));
  }
}
