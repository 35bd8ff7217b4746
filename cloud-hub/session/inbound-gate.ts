/**
 * Holds a node to its inbound budget (inbound-limiter.ts) without losing a well-behaved
 * node's frames:
 * - a transport that can stop reading one peer (WebSocket) is told to, for as long as the
 *   debt takes to pay: the frames wait in the network;
 * - otherwise (MQTT: one subscription carries every node) frames over the budget wait in a
 *   small queue and are handled at the node's rate; only a node that floods past the queue
 *   has frames dropped.
 * Either way the node hears E_RATE_LIMITED, at most once a second.
 */
import { byteLength } from '../../protocol/index.js';
import type { Connection } from '../transport/connection.js';
import type { LimitKind, NodeBudget } from './inbound-limiter.js';

/** Frames waiting for budget, per node (a well-behaved agent has at most a handful in flight). */
export const MAX_QUEUED_FRAMES = 256;
/** At most one E_RATE_LIMITED notice per node per this long: answers to a flood must not be one. */
const NOTICE_INTERVAL_MS = 1_000;

export interface InboundGateDeps {
  budget: NodeBudget;
  connection: Connection;
  /** Charges the budget for one frame and handles it; returns its type when it had one. */
  handle: (data: Buffer | string) => string | undefined;
  /** Counts a frame that met a limit: slowed (or queued), or dropped. */
  limited: (kind: LimitKind, dropped: boolean) => void;
  /** Sends E_RATE_LIMITED with this message. */
  notice: (message: string, ref?: string) => void;
  /** Bytes the queue may hold (a few of the largest frames). */
  maxQueuedBytes: number;
}

export class InboundGate {
  private readonly queue: (Buffer | string)[] = [];
  private queuedBytes = 0;
  private timer?: NodeJS.Timeout;
  private lastNotice = 0;
  private closed = false;

  constructor(private readonly deps: InboundGateDeps) {}

  /** Frames waiting for budget. */
  get queued(): number {
    return this.queue.length;
  }

  receive(data: Buffer | string): void {
    if (this.closed) return;
    const { budget, connection } = this.deps;
    if (connection.throttle) {
      const type = this.deps.handle(data);
      const over = budget.over();
      if (over && !this.closed) {
        this.deps.limited(over.kind, false);
        connection.throttle(over.waitMs);
        this.notify(over, `the hub reads nothing more from it for ${over.waitMs} ms`, type);
      }
      return;
    }
    const over = budget.over();
    if (!over && this.queue.length === 0) {
      this.deps.handle(data);
      return;
    }
    const kind = over?.kind ?? 'frames';
    const bytes = byteLength(data);
    if (this.queue.length >= MAX_QUEUED_FRAMES || this.queuedBytes + bytes > this.deps.maxQueuedBytes) {
      this.deps.limited(kind, true);
      this.notify(over ?? { kind, waitMs: 0 }, `${this.queue.length} frames are already waiting: frame dropped unhandled; send it again later`);
      return;
    }
    this.deps.limited(kind, false);
    this.queue.push(data);
    this.queuedBytes += bytes;
    this.notify(over ?? { kind, waitMs: 0 }, 'the hub handles its frames at that rate');
    this.schedule(over?.waitMs ?? 0);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, Math.max(1, ms));
    this.timer.unref();
  }

  /** Handles queued frames while the budget allows, in order. */
  private drain(): void {
    while (this.queue.length > 0 && !this.closed) {
      const over = this.deps.budget.over();
      if (over) {
        this.schedule(over.waitMs);
        return;
      }
      const data = this.queue.shift()!;
      this.queuedBytes -= byteLength(data);
      this.deps.handle(data);
    }
  }

  /** Tells the node it is over its event rate (throttled like every notice). */
  refuseEvents(waitMs: number, ref: string): void {
    this.deps.limited('events', false);
    this.notify({ kind: 'events', waitMs }, `${ref} frames are refused, unacked, for ${waitMs} ms: send them again later`, ref);
  }

  private notify(over: { kind: LimitKind; waitMs: number }, what: string, ref?: string): void {
    const now = Date.now();
    if (now - this.lastNotice < NOTICE_INTERVAL_MS) return;
    this.lastNotice = now;
    this.deps.notice(`over this node's limit of ${this.deps.budget.rateOf(over.kind)} ${over.kind}/s: ${what}`, ref);
  }
}
