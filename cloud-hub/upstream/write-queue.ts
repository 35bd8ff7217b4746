/**
 * Writes to the Kubernetes API from the whole fleet: keyed by object, rate-limited, and fair
 * between nodes.
 *
 * A write for a key that is already waiting replaces it in place (the latest Lease renewal or
 * Pod status is the only one worth sending) and inherits its callbacks, so 10,000
 * heartbeating nodes cost at most `qps` writes per second however often they report.
 *
 * Two lanes, because liveness must never wait behind bulk traffic:
 * - `heartbeat` (Lease renewals, the Node's registration and Ready condition): served first,
 *   with concurrency slots of its own. Each node has at most two keys in it, so the lane is
 *   fair by construction and bounded by the fleet size.
 * - `bulk` (Pod status, Kubernetes Events): one queue per node, served round-robin, and no
 *   node may hold more than half of the lane's slots. A node with 50,000 writes waiting
 *   delays another node's write by at most one turn, never by its backlog.
 *
 * Failed writes are retried with backoff unless the failure is permanent (4xx other than
 * 409/429); a write waiting for its retry holds no slot.
 */
import type { Logger } from 'pino';
import { KubeApiError } from '../kube/kube-client.js';

export type WriteResult = 'ok' | 'failed';
export type WriteLane = 'heartbeat' | 'bulk';

export interface WriteQueueOptions {
  /** Sustained writes per second. */
  qps: number;
  /** Writes allowed in a burst above the sustained rate. */
  burst: number;
  /** Writes in flight at once. */
  concurrency: number;
  /** Of those, slots only the heartbeat lane may use (default: a quarter, at least 2). */
  heartbeatSlots?: number;
  logger: Logger;
  onResult?: (kind: string, result: WriteResult) => void;
}

export interface WriteRequest {
  /** What the write is about; a newer write for the same key replaces a waiting one. */
  key: string;
  /** Object kind, for metrics. */
  kind: string;
  /** The node the write is for: the unit of fairness. */
  node: string;
  lane: WriteLane;
  run: () => Promise<void>;
  /** Called once the write (or the one that replaced it) succeeded or failed for good. */
  settled?: (result: WriteResult) => void;
}

interface Entry {
  key: string;
  kind: string;
  node: string;
  lane: WriteLane;
  run: () => Promise<void>;
  settled: ((result: WriteResult) => void)[];
  attempts: number;
  notBefore: number;
}

const MAX_ATTEMPTS = 8;

export class WriteQueue {
  /** Heartbeat lane, in arrival order. */
  private readonly heartbeat = new Map<string, Entry>();
  /** Bulk lane: node -> its writes in arrival order. The outer map's order is the round-robin ring. */
  private readonly bulk = new Map<string, Map<string, Entry>>();
  /** Failed writes waiting for their retry time. */
  private readonly retrying = new Map<string, Entry>();
  /** Every write in either lane, by key. */
  private readonly queued = new Map<string, Entry>();
  private readonly running = new Map<string, Entry>();
  /** Keys whose write came in while an earlier write for the same key was running. */
  private readonly deferred = new Map<string, Entry>();
  private readonly runningBulkPerNode = new Map<string, number>();
  private runningBulk = 0;
  private bulkQueued = 0;
  private tokens: number;
  private lastRefill = Date.now();
  private tokenTimer?: NodeJS.Timeout;
  private retryTimer?: { at: number; timer: NodeJS.Timeout };
  private closed = false;
  private readonly bulkSlots: number;
  private readonly bulkSlotsPerNode: number;

  constructor(private readonly options: WriteQueueOptions) {
    this.tokens = options.burst;
    const reserved = Math.min(options.concurrency - 1, options.heartbeatSlots ?? Math.max(2, Math.floor(options.concurrency / 4)));
    this.bulkSlots = Math.max(1, options.concurrency - Math.max(0, reserved));
    this.bulkSlotsPerNode = Math.max(1, Math.floor(this.bulkSlots / 2));
  }

  /** Writes not yet settled: waiting, retrying, running or deferred. */
  get size(): number {
    return this.heartbeat.size + this.bulkQueued + this.retrying.size + this.running.size + this.deferred.size;
  }

  submit(request: WriteRequest): void {
    const { key } = request;
    const entry: Entry = { key, kind: request.kind, node: request.node, lane: request.lane, run: request.run, settled: [], attempts: 0, notBefore: 0 };
    if (this.running.has(key)) {
      const previous = this.deferred.get(key);
      entry.settled = previous ? previous.settled : [];
      if (request.settled) entry.settled.push(request.settled);
      this.deferred.set(key, entry);
      return;
    }
    const retrying = this.retrying.get(key);
    if (retrying) this.retrying.delete(key);
    const queued = this.queued.get(key);
    const previous = queued ?? retrying;
    entry.settled = previous ? previous.settled : [];
    if (request.settled) entry.settled.push(request.settled);
    if (queued && queued.lane === entry.lane && queued.node === entry.node) this.replaceQueued(entry);
    else {
      if (queued) this.unqueue(queued);
      this.enqueue(entry);
    }
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.tokenTimer) clearTimeout(this.tokenTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer.timer);
    this.tokenTimer = undefined;
    this.retryTimer = undefined;
  }

  /** Puts `entry` in place of the queued write for its key: a node that reports often keeps its position. */
  private replaceQueued(entry: Entry): void {
    this.queued.set(entry.key, entry);
    if (entry.lane === 'heartbeat') this.heartbeat.set(entry.key, entry);
    else this.bulk.get(entry.node)!.set(entry.key, entry);
  }

  private enqueue(entry: Entry): void {
    this.queued.set(entry.key, entry);
    if (entry.lane === 'heartbeat') {
      this.heartbeat.set(entry.key, entry);
      return;
    }
    let queue = this.bulk.get(entry.node);
    if (!queue) {
      queue = new Map();
      this.bulk.set(entry.node, queue);
    }
    queue.set(entry.key, entry);
    this.bulkQueued += 1;
  }

  private unqueue(entry: Entry): void {
    this.queued.delete(entry.key);
    if (entry.lane === 'heartbeat') {
      this.heartbeat.delete(entry.key);
      return;
    }
    const queue = this.bulk.get(entry.node);
    if (!queue?.delete(entry.key)) return;
    this.bulkQueued -= 1;
    if (queue.size === 0) this.bulk.delete(entry.node);
  }

  private pump(): void {
    if (this.closed) return;
    this.refill();
    while (this.running.size < this.options.concurrency) {
      const lane = this.nextLane();
      if (!lane) return;
      if (this.tokens < 1) {
        this.wakeAfter(Math.ceil((1 - this.tokens) * (1000 / this.options.qps)));
        return;
      }
      const entry = lane === 'heartbeat' ? this.popHeartbeat() : this.popBulk();
      if (!entry) return;
      this.tokens -= 1;
      this.start(entry);
    }
  }

  /** The lane the next write comes from: heartbeat first, bulk while it has a free slot. */
  private nextLane(): WriteLane | undefined {
    if (this.heartbeat.size > 0) return 'heartbeat';
    if (this.bulkQueued > 0 && this.runningBulk < this.bulkSlots) return 'bulk';
    return undefined;
  }

  private popHeartbeat(): Entry | undefined {
    const first = this.heartbeat.values().next();
    if (first.done) return undefined;
    this.heartbeat.delete(first.value.key);
    this.queued.delete(first.value.key);
    return first.value;
  }

  /** The next node's oldest write, skipping nodes that already use their share of the slots. */
  private popBulk(): Entry | undefined {
    for (let turns = this.bulk.size; turns > 0; turns--) {
      const next = this.bulk.entries().next();
      if (next.done) return undefined;
      const [node, queue] = next.value;
      // Move the node to the back of the ring whatever happens: its turn is used.
      this.bulk.delete(node);
      if ((this.runningBulkPerNode.get(node) ?? 0) >= this.bulkSlotsPerNode) {
        this.bulk.set(node, queue);
        continue;
      }
      const first = queue.values().next().value as Entry;
      queue.delete(first.key);
      this.queued.delete(first.key);
      this.bulkQueued -= 1;
      if (queue.size > 0) this.bulk.set(node, queue);
      return first;
    }
    return undefined;
  }

  private start(entry: Entry): void {
    this.running.set(entry.key, entry);
    if (entry.lane === 'bulk') {
      this.runningBulk += 1;
      this.runningBulkPerNode.set(entry.node, (this.runningBulkPerNode.get(entry.node) ?? 0) + 1);
    }
    void this.execute(entry);
  }

  private async execute(entry: Entry): Promise<void> {
    let result: WriteResult | 'retry';
    try {
      await entry.run();
      result = 'ok';
    } catch (err) {
      entry.attempts += 1;
      const permanent = err instanceof KubeApiError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429;
      result = permanent || entry.attempts >= MAX_ATTEMPTS ? 'failed' : 'retry';
      this.options.logger.warn({ key: entry.key, node: entry.node, attempts: entry.attempts, err: (err as Error).message, retry: result === 'retry' }, 'API write failed');
    }
    this.finish(entry);
    if (this.closed) return;
    const newer = this.deferred.get(entry.key);
    if (newer) {
      // A newer write for the key supersedes this one either way.
      this.deferred.delete(entry.key);
      if (result === 'retry') newer.settled.unshift(...entry.settled);
      else this.settle(entry, result);
      this.enqueue(newer);
    } else if (result === 'retry') {
      entry.notBefore = Date.now() + Math.min(30_000, 250 * 2 ** entry.attempts);
      this.retrying.set(entry.key, entry);
      this.scheduleRetry(entry.notBefore);
    } else {
      this.settle(entry, result);
    }
    this.pump();
  }

  private finish(entry: Entry): void {
    this.running.delete(entry.key);
    if (entry.lane !== 'bulk') return;
    this.runningBulk -= 1;
    const left = (this.runningBulkPerNode.get(entry.node) ?? 1) - 1;
    if (left > 0) this.runningBulkPerNode.set(entry.node, left);
    else this.runningBulkPerNode.delete(entry.node);
  }

  private settle(entry: Entry, result: WriteResult): void {
    this.options.onResult?.(entry.kind, result);
    for (const callback of entry.settled) callback(result);
  }

  private scheduleRetry(at: number): void {
    if (this.retryTimer && this.retryTimer.at <= at) return;
    if (this.retryTimer) clearTimeout(this.retryTimer.timer);
    const timer = setTimeout(() => {
      this.retryTimer = undefined;
      this.releaseDueRetries();
    }, Math.max(0, at - Date.now()));
    timer.unref();
    this.retryTimer = { at, timer };
  }

  private releaseDueRetries(): void {
    if (this.closed) return;
    const now = Date.now();
    let next = Infinity;
    for (const [key, entry] of this.retrying) {
      if (entry.notBefore > now) {
        next = Math.min(next, entry.notBefore);
        continue;
      }
      this.retrying.delete(key);
      entry.notBefore = 0;
      this.enqueue(entry);
    }
    if (next !== Infinity) this.scheduleRetry(next);
    this.pump();
  }

  private wakeAfter(ms: number): void {
    if (this.tokenTimer) return;
    this.tokenTimer = setTimeout(() => {
      this.tokenTimer = undefined;
      this.pump();
    }, Math.max(1, ms));
    this.tokenTimer.unref();
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.options.qps);
    this.lastRefill = now;
  }
}
