/**
 * Per-node inbound budgets: frames, bytes and events per second, as token buckets that every
 * session of a node shares (a node cannot reset its budget by reconnecting, nor double it
 * with a second transport).
 *
 * A bucket may go into debt by one frame: a frame that arrives while the budget is positive is
 * always taken whole, so a frame larger than what is left is never stuck. While any bucket is
 * in debt the node is over its limit. Over frames or bytes the session stops reading the
 * node's connection until the debt is paid (WebSocket) or queues its frames (a transport that
 * cannot stop reading one node); over events it refuses event and status frames, unacked, so
 * they stay in the agent's outbox, while heartbeats and acks still pass.
 */
import type { NodeLimits } from './node-limits.js';

export type LimitKind = 'frames' | 'bytes' | 'events';

/** A token bucket: `rate` tokens per second up to `capacity`, allowed to go into debt. */
export class TokenBucket {
  private tokens: number;
  private updated: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updated = now;
  }

  private refill(now: number): void {
    if (now > this.updated) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updated) / 1000) * this.rate);
      this.updated = now;
    }
  }

  charge(amount: number, now: number): void {
    this.refill(now);
    this.tokens -= amount;
  }

  /** Milliseconds until the bucket is out of debt (0: it is not in debt). */
  debtMs(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }

  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}

/** One node's three buckets. */
export class NodeBudget {
  private readonly buckets: Record<LimitKind, TokenBucket>;

  constructor(
    private readonly limits: NodeLimits,
    minByteCapacity: number,
    now: number,
  ) {
    const bucket = (rate: number, floor = 1): TokenBucket => new TokenBucket(rate, Math.max(floor, rate * limits.burstSeconds), now);
    this.buckets = {
      frames: bucket(limits.frameRate),
      // A burst always holds two of the largest frames, whatever the rate.
      bytes: bucket(limits.byteRate, minByteCapacity),
      events: bucket(limits.eventRate),
    };
  }

  /**
   * The read limit the node is over (its longest debt), or undefined. Only frames and bytes
   * stop the hub reading a node: over its event rate a node is still read (its heartbeats must
   * keep arriving) and only its events and status reports are refused (`debtMs('events')`).
   */
  over(now = Date.now()): { kind: LimitKind; waitMs: number } | undefined {
    let worst: { kind: LimitKind; waitMs: number } | undefined;
    for (const kind of ['frames', 'bytes'] as const) {
      const waitMs = this.buckets[kind].debtMs(now);
      if (waitMs > 0 && (!worst || waitMs > worst.waitMs)) worst = { kind, waitMs };
    }
    return worst;
  }

  /** Milliseconds until `kind` is out of debt (0: within its budget). */
  debtMs(kind: LimitKind, now = Date.now()): number {
    return this.buckets[kind].debtMs(now);
  }

  /** The sustained rate of `kind`, per second. */
  rateOf(kind: LimitKind): number {
    return kind === 'frames' ? this.limits.frameRate : kind === 'bytes' ? this.limits.byteRate : this.limits.eventRate;
  }

  charge(kind: LimitKind, amount: number, now = Date.now()): void {
    if (amount > 0) this.buckets[kind].charge(amount, now);
  }

  idle(now: number): boolean {
    return this.buckets.frames.full(now) && this.buckets.bytes.full(now) && this.buckets.events.full(now);
  }
}

export class InboundLimiter {
  private readonly budgets = new Map<string, { budget: NodeBudget; sessions: number }>();
  /** Nodes without a session whose budget is not full again yet: forgotten once it is. */
  private readonly debtors = new Set<string>();
  private lastSweep = 0;

  constructor(
    private readonly limits: NodeLimits,
    /** The largest frame a node may send, bytes. */
    private readonly maxFrameBytes: number,
  ) {}

  /** The budget of `node`, held until `release`. */
  acquire(node: string): NodeBudget {
    let entry = this.budgets.get(node);
    if (!entry) {
      entry = { budget: new NodeBudget(this.limits, 2 * this.maxFrameBytes, Date.now()), sessions: 0 };
      this.budgets.set(node, entry);
    }
    entry.sessions += 1;
    this.debtors.delete(node);
    return entry.budget;
  }

  /** A session of `node` ended. A budget in debt is kept, so reconnecting does not clear it. */
  release(node: string): void {
    const entry = this.budgets.get(node);
    if (!entry) return;
    entry.sessions -= 1;
    const now = Date.now();
    if (entry.sessions <= 0) {
      if (entry.budget.idle(now)) this.budgets.delete(node);
      else this.debtors.add(node);
    }
    if (now - this.lastSweep >= 1_000) this.sweep(now);
  }

  /** Budgets held (connected nodes and nodes still in debt). */
  get size(): number {
    return this.budgets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const node of this.debtors) {
      const entry = this.budgets.get(node);
      if (!entry || entry.sessions > 0) this.debtors.delete(node);
      else if (entry.budget.idle(now)) {
        this.budgets.delete(node);
        this.debtors.delete(node);
      }
    }
  }
}
