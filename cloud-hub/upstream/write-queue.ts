/**
 * Writes to the Kubernetes API from the whole fleet, keyed by object and rate-limited.
 *
 * A write for a key that is already waiting replaces it (the latest Lease renewal or Pod
 * status is the only one worth sending) and inherits its callbacks, so 10,000 heartbeating
 * nodes cost at most `qps` writes per second however often they report. Failed writes are
 * retried with backoff unless the failure is permanent (4xx other than 409/429).
 */
import type { Logger } from 'pino';
import { KubeApiError } from '../kube/kube-client.js';

export type WriteResult = 'ok' | 'failed';

export interface WriteQueueOptions {
  /** Sustained writes per second. */
  qps: number;
  /** Writes allowed in a burst above the sustained rate. */
  burst: number;
  /** Writes in flight at once. */
  concurrency: number;
  logger: Logger;
  onResult?: (kind: string, result: WriteResult) => void;
}

interface Entry {
  kind: string;
  run: () => Promise<void>;
  settled: ((result: WriteResult) => void)[];
  attempts: number;
  notBefore: number;
}

export class WriteQueue {
  private readonly pending = new Map<string, Entry>();
  private readonly running = new Set<string>();
  /** Keys whose write came in while an earlier write for the same key was running. */
  private readonly deferred = new Map<string, Entry>();
  private tokens: number;
  private lastRefill = Date.now();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: WriteQueueOptions) {
    this.tokens = options.burst;
  }

  get size(): number {
    return this.pending.size + this.deferred.size + this.running.size;
  }

  /**
   * Queues `run` under `key`, replacing a waiting write for the same key. `settled` is called
   * once the write (or the one that replaced it) succeeded or failed for good.
   */
  submit(key: string, kind: string, run: () => Promise<void>, settled?: (result: WriteResult) => void): void {
    const target = this.running.has(key) ? this.deferred : this.pending;
    const previous = target.get(key);
    const callbacks = previous ? previous.settled : [];
    if (settled) callbacks.push(settled);
    target.set(key, { kind, run, settled: callbacks, attempts: 0, notBefore: 0 });
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private pump(): void {
    if (this.closed) return;
    this.refill();
    const now = Date.now();
    let wait = Infinity;
    for (const [key, entry] of this.pending) {
      if (this.running.size >= this.options.concurrency) break;
      if (entry.notBefore > now) {
        wait = Math.min(wait, entry.notBefore - now);
        continue;
      }
      if (this.tokens < 1) {
        wait = Math.min(wait, Math.ceil(1000 / this.options.qps));
        break;
      }
      this.tokens -= 1;
      this.pending.delete(key);
      this.running.add(key);
      void this.execute(key, entry);
    }
    if (wait !== Infinity && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      this.timer.unref();
    }
  }

  private async execute(key: string, entry: Entry): Promise<void> {
    let result: WriteResult | 'retry';
    try {
      await entry.run();
      result = 'ok';
    } catch (err) {
      entry.attempts += 1;
      const permanent = err instanceof KubeApiError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429;
      result = permanent || entry.attempts >= 8 ? 'failed' : 'retry';
      this.options.logger.warn({ key, attempts: entry.attempts, err: (err as Error).message, retry: result === 'retry' }, 'API write failed');
    }
    this.running.delete(key);
    const newer = this.deferred.get(key);
    if (newer) {
      // A newer write for the key supersedes this one either way.
      this.deferred.delete(key);
      if (result === 'retry') newer.settled.unshift(...entry.settled);
      else this.settle(entry, result);
      this.pending.set(key, newer);
    } else if (result === 'retry') {
      entry.notBefore = Date.now() + Math.min(30_000, 250 * 2 ** entry.attempts);
      this.pending.set(key, entry);
    } else {
      this.settle(entry, result);
    }
    this.pump();
  }

  private settle(entry: Entry, result: WriteResult): void {
    this.options.onResult?.(entry.kind, result);
    for (const callback of entry.settled) callback(result);
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.options.qps);
    this.lastRefill = now;
  }
}
