/**
 * The agent's upstream pump with a recorder in front, for the chaos report: which event ids went
 * out on which connection and which were acked. When a priority event is lost, the report can
 * say whether the agent never sent it again, sent it and got no ack, or never sent it at all.
 * It only watches; the pump does the work.
 */
import type { EdgeFrame } from '../../protocol/index.js';
import type { UpstreamChannel } from '../../edge-agent/link/hub-link.js';

export interface EventTrace {
  /** Times it was sent, and on which connection (1-based, counted by this node) the last time. */
  sends: number;
  lastSentOn: number;
  lastSentAt: number;
  ackedAt?: number;
}

export class TracedUpstream implements UpstreamChannel {
  private connection = 0;
  private connectedAt = 0;
  private readonly events = new Map<string, EventTrace>();

  constructor(private inner: UpstreamChannel) {}

  /** The pump of a reopened store (agent restart); the record carries on. */
  attach(inner: UpstreamChannel): void {
    this.inner = inner;
  }

  connected(send: (frame: EdgeFrame) => void): void {
    this.connection += 1;
    this.connectedAt = Date.now();
    const on = this.connection;
    this.inner.connected((frame) => {
      if (frame.t === 'event') {
        for (const event of frame.events) {
          const trace = this.events.get(event.id) ?? { sends: 0, lastSentOn: 0, lastSentAt: 0 };
          trace.sends += 1;
          trace.lastSentOn = on;
          trace.lastSentAt = Date.now();
          this.events.set(event.id, trace);
        }
      }
      send(frame);
    });
  }

  acked(ids: readonly string[]): void {
    const now = Date.now();
    for (const id of ids) {
      const trace = this.events.get(id);
      if (trace && trace.ackedAt === undefined) trace.ackedAt = now;
    }
    this.inner.acked(ids);
  }

  disconnected(): void {
    this.inner.disconnected();
  }

  /** What happened to one event, and the node's connection count and latest connect time. */
  trace(id: string): { event?: EventTrace; connections: number; connectedAt: number } {
    const event = this.events.get(id);
    return { ...(event ? { event } : {}), connections: this.connection, connectedAt: this.connectedAt };
  }
}
