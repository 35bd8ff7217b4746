/**
 * Sends what waits in the outbox (pod status, forwarded events) while the link is up, in the
 * outbox's order (priority, then age), and removes rows only when the hub acks them. Rows sent
 * on a connection that drops stay in the outbox and go again on the next one: at-least-once,
 * and the hub de-duplicates by id. When the hub says it cannot take them now (its per-node
 * bounds: E_UNAVAILABLE or E_RATE_LIMITED), or leaves a frame unacked for `ackTimeoutMs`, what
 * is unacked goes again on the same connection after a jittered, growing delay.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { PROTOCOL_VERSION, type EdgeFrame } from '../../protocol/index.js';
import type { OutboxItem, UpstreamOutbox, UpstreamReport } from '../store/outbox.js';
import { FullJitterBackoff } from './backoff.js';
import type { UpstreamChannel } from './hub-link.js';

export interface UpstreamPumpOptions {
  outbox: UpstreamOutbox;
  logger: Logger;
  /** Frames sent and not yet acked. */
  maxInflightFrames?: number;
  /** Rows per frame. */
  batchItems?: number;
  /** Body bytes per frame (well under the 4 MiB frame limit; at most half the hub's `welcome.max`). */
  batchBytes?: number;
  /** A frame unacked this long is sent again (default 60 s). */
  ackTimeoutMs?: number;
  /** Delay before sending again what the hub deferred (default 1 s doubling to 30 s, full jitter). */
  retryBackoff?: FullJitterBackoff;
}

type StatusItem = OutboxItem<Extract<UpstreamReport, { kind: 'status' }>>;
type EventItem = OutboxItem<Extract<UpstreamReport, { kind: 'event' }>>;

interface PendingAck {
  frame: number;
  rows: number[];
}

export class UpstreamPump implements UpstreamChannel {
  private send?: (frame: EdgeFrame) => void;
  /** Ack id (a status frame's id, or an event's id) -> the frame it came in and the outbox rows it covers. */
  private readonly pending = new Map<string, PendingAck>();
  /** Frame number -> acks still missing and when it was sent. */
  private readonly openFrames = new Map<number, { missing: number; sentAt: number }>();
  private readonly inflightRows = new Set<number>();
  private readonly bootId = randomBytes(6).toString('base64url');
  private frames = 0;
  private scheduled = false;
  /** Body bytes per frame the hub's limit allows on this connection. */
  private frameBudget = Infinity;
  private readonly retryBackoff: FullJitterBackoff;
  private retryTimer?: NodeJS.Timeout;
  private ackTimer?: NodeJS.Timeout;

  constructor(private readonly options: UpstreamPumpOptions) {
    this.retryBackoff = options.retryBackoff ?? new FullJitterBackoff({ baseMs: 1_000, capMs: 30_000 });
  }

  /** Frames sent on this connection and not fully acked. */
  get inflightFrames(): number {
    return this.openFrames.size;
  }

  connected(send: (frame: EdgeFrame) => void, limits?: { maxFrameBytes: number }): void {
    this.send = send;
    // Half the hub's frame limit leaves room for the envelope and JSON escaping of the bodies.
    this.frameBudget = limits ? Math.max(1, Math.floor(limits.maxFrameBytes / 2)) : Infinity;
    this.options.outbox.expire();
    this.retryBackoff.reset();
    const ackTimeoutMs = this.options.ackTimeoutMs ?? 60_000;
    this.ackTimer = setInterval(() => this.checkAckTimeout(ackTimeoutMs), Math.max(100, Math.floor(ackTimeoutMs / 4)));
    this.ackTimer.unref();
    this.pump();
  }

  disconnected(): void {
    this.send = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.ackTimer) clearInterval(this.ackTimer);
    this.retryTimer = undefined;
    this.ackTimer = undefined;
    this.forgetInflight();
  }

  /**
   * The hub did not take what is in flight (or a part of it): once a jittered delay has passed,
   * everything unacked is sent again. The hub de-duplicates by id, so a row it did take meanwhile
   * costs nothing but bytes.
   */
  deferred(ref: string, message: string): void {
    if (!this.send || this.retryTimer) return;
    const delayMs = this.retryBackoff.next();
    this.options.logger.warn({ ref, msg: message, retryInMs: delayMs }, 'hub deferred upstream reports; sending them again later');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.forgetInflight();
      this.pump();
    }, delayMs);
    this.retryTimer.unref();
  }

  private checkAckTimeout(ackTimeoutMs: number): void {
    const now = Date.now();
    for (const { sentAt } of this.openFrames.values()) {
      if (now - sentAt >= ackTimeoutMs) {
        this.deferred('ack-timeout', `a frame has waited ${now - sentAt} ms for its ack`);
        return;
      }
    }
  }

  private forgetInflight(): void {
    this.pending.clear();
    this.openFrames.clear();
    this.inflightRows.clear();
  }

  acked(ids: readonly string[]): void {
    const rows: number[] = [];
    for (const id of ids) {
      const ack = this.pending.get(id);
      if (!ack) continue;
      this.pending.delete(id);
      for (const row of ack.rows) {
        this.inflightRows.delete(row);
        rows.push(row);
      }
      const open = this.openFrames.get(ack.frame);
      if (open && open.missing > 1) open.missing -= 1;
      else this.openFrames.delete(ack.frame);
    }
    if (rows.length > 0) {
      this.options.outbox.remove(rows);
      this.retryBackoff.reset();
    }
    this.pump();
  }

  /** Something was added to the outbox. */
  notify(): void {
    if (this.scheduled || !this.send) return;
    this.scheduled = true;
    // Reports added in the same tick travel in one frame.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const max = this.options.maxInflightFrames ?? 4;
    const batchItems = this.options.batchItems ?? 200;
    const batchBytes = Math.min(this.options.batchBytes ?? 512 * 1024, this.frameBudget);
    while (this.send && this.openFrames.size < max) {
      const items = this.options.outbox.peek(this.inflightRows.size + batchItems).filter((item) => !this.inflightRows.has(item.id));
      if (items.length === 0) return;
      let bytes = 0;
      const statuses: StatusItem[] = [];
      const events: EventItem[] = [];
      for (const item of items) {
        if (statuses.length + events.length >= batchItems || (bytes > 0 && bytes + item.bytes > batchBytes)) break;
        bytes += item.bytes;
        if (item.kind === 'status') statuses.push(item);
        else events.push(item);
      }
      if (statuses.length > 0) {
        const frame = this.open(1);
        const id = `s-${this.bootId}-${frame}`;
        this.track(id, frame, statuses);
        this.send({ v: PROTOCOL_VERSION, t: 'status', id, pods: statuses.map((item) => item.body) });
      }
      if (events.length > 0) {
        const frame = this.open(events.length);
        for (const item of events) this.track(item.body.id, frame, [item]);
        this.send({ v: PROTOCOL_VERSION, t: 'event', events: events.map((item) => item.body) });
      }
    }
  }

  private open(acks: number): number {
    this.frames += 1;
    this.openFrames.set(this.frames, { missing: acks, sentAt: Date.now() });
    return this.frames;
  }

  private track(id: string, frame: number, items: readonly OutboxItem<UpstreamReport>[]): void {
    this.pending.set(id, { frame, rows: items.map((item) => item.id) });
    for (const item of items) this.inflightRows.add(item.id);
  }
}
