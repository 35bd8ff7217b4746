/**
 * The main thread's view of the fleet: starts the worker threads, splits the nodes between
 * them, merges their reports, and sends them the scenario's commands.
 */
import { Worker } from 'node:worker_threads';
import { LatencyHistogram } from '../metrics/latency-histogram.js';
import { LatencyTimeline } from '../metrics/timeline.js';
import { SeededRandom } from '../random/seeded-random.js';
import type { Ledger, NodeDigest, RestartCommand, RestartOutcome, SinceMark, StuckEvent, WorkerCommand, WorkerInit, WorkerReply, WorkerStats } from './worker-protocol.js';

export interface FleetOptions {
  hubUrl: string;
  /** Node name -> token. */
  tokens: ReadonlyMap<string, string>;
  workers: number;
  sqliteDir?: string;
  connectPerSecond: number;
  fanoutKey: string;
  namespace: string;
  logLevel: string;
  reportIntervalMs?: number;
  /** Seed of the workers' own random choices (each worker derives its stream from it). */
  seed: number;
}

export type FleetTotals = Omit<WorkerStats, 't' | 'worker' | 'latency' | 'fanout'>;

type Command = WorkerCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

export class Fleet {
  readonly timeline = new LatencyTimeline();
  /** Every live delivery's latency so far (the progress line's p99). */
  readonly overall = new LatencyHistogram();
  /** Fan-out writes: written-at -> nodes that applied it, and the latest apply (wall ms). */
  readonly fanout = new Map<string, { count: number; last: number }>();
  private readonly workers: Worker[] = [];
  private readonly latest = new Map<number, WorkerStats>();
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private failure?: Error;
  private stopping = false;
  readonly size: number;

  constructor(private readonly options: FleetOptions) {
    this.size = options.tokens.size;
  }

  /** Starts the workers; each begins connecting its nodes at once (ramped). */
  start(): void {
    const entries = [...this.options.tokens];
    const count = Math.max(1, Math.min(this.options.workers, entries.length));
    const seeds = new SeededRandom(this.options.seed);
    for (let w = 0; w < count; w++) {
      const nodes = entries.filter((_, i) => i % count === w).map(([name, token]) => ({ name, token }));
      const init: WorkerInit = {
        workerId: w,
        hubUrl: this.options.hubUrl,
        nodes,
        ...(this.options.sqliteDir ? { sqliteDir: this.options.sqliteDir } : {}),
        connectPerSecond: this.options.connectPerSecond / count,
        reportIntervalMs: this.options.reportIntervalMs ?? 500,
        fanoutKey: this.options.fanoutKey,
        namespace: this.options.namespace,
        logLevel: this.options.logLevel,
        seed: seeds.derive(w).seed,
      };
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
      worker.on('message', (message: WorkerReply) => this.onMessage(message));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0 && !this.stopping) this.fail(new Error(`fleet worker ${w} exited with code ${code}`));
      });
      this.workers.push(worker);
    }
  }

  /** Set when a worker failed; the simulation stops at its next check. */
  get error(): Error | undefined {
    return this.failure;
  }

  totals(): FleetTotals {
    const totals: FleetTotals = {
      nodes: 0,
      started: 0,
      connected: 0,
      synced: 0,
      paused: 0,
      cut: 0,
      down: 0,
      bytesIn: 0,
      bytesOut: 0,
      framesIn: 0,
      framesOut: 0,
      resyncs: 0,
      mismatches: 0,
      liveDeliveries: 0,
      resyncDeliveries: 0,
      deletes: 0,
    };
    for (const stats of this.latest.values()) {
      for (const key of Object.keys(totals) as (keyof FleetTotals)[]) totals[key] += stats[key];
    }
    return totals;
  }

  /** Whether every worker has reported at least once (totals cover the whole fleet). */
  get reported(): boolean {
    return this.latest.size === this.workers.length;
  }

  async pause(nodes: readonly string[]): Promise<void> {
    await this.broadcast({ t: 'pause', nodes: [...nodes] });
  }

  async resume(nodes: readonly string[]): Promise<void> {
    await this.broadcast({ t: 'resume', nodes: [...nodes] });
  }

  /** Drops about `count` random connections, spread over the workers; returns how many. */
  async flap(count: number): Promise<number> {
    const share = count / this.workers.length;
    const results = await Promise.all(
      this.workers.map((worker, i) => this.request(worker, { t: 'flap', count: Math.floor(share * (i + 1)) - Math.floor(share * i) })),
    );
    return results.reduce<number>((sum, value) => sum + Number(value), 0);
  }

  /** Drops these nodes' connections and makes their reconnects fail until `restore`. */
  async cut(nodes: readonly string[]): Promise<void> {
    await this.broadcast({ t: 'cut', nodes: [...nodes] });
  }

  async restore(nodes: readonly string[]): Promise<void> {
    await this.broadcast({ t: 'restore', nodes: [...nodes] });
  }

  /** Restarts these nodes' agents over their SQLite stores (optionally damaging the cache file while down). */
  async restart(command: Omit<RestartCommand, 't' | 'id'>): Promise<RestartOutcome[]> {
    return ((await this.broadcast({ t: 'restart', ...command, nodes: [...command.nodes] })) as RestartOutcome[][]).flat();
  }

  /** Starts (or with 0, stops) the fleet's priority probe events, `perSecond` in all. */
  async probeEvents(perSecond: number, runTag: string): Promise<void> {
    const share = perSecond / Math.max(1, this.workers.length);
    await this.broadcast({ t: 'probe', perSecond: share, runTag });
  }

  /** Probe events since the last call, and the rows waiting in every outbox now. */
  async ledger(): Promise<Ledger> {
    const parts = (await this.broadcast({ t: 'ledger' })) as Ledger[];
    return {
      emitted: parts.flatMap((part) => part.emitted),
      notForwarded: parts.flatMap((part) => part.notForwarded),
      overflowed: parts.flatMap((part) => part.overflowed),
      pending: parts.reduce((sum, part) => sum + part.pending, 0),
    };
  }

  /** Every probe event still queued in an outbox, with what its node's link did with it. */
  async stuckEvents(): Promise<StuckEvent[]> {
    return ((await this.broadcast({ t: 'stuck' })) as StuckEvent[][]).flat();
  }

  /** Node -> when it first applied the shared object as written at `writtenAt` or later (wall ms; 0: not yet). */
  async appliedSince(writtenAt: string): Promise<Map<string, number>> {
    const parts = (await this.broadcast({ t: 'applied-since', writtenAt: Number(writtenAt) })) as [string, number][][];
    return new Map(parts.flat());
  }

  async mark(): Promise<void> {
    await this.broadcast({ t: 'mark' });
  }

  async sinceMark(): Promise<SinceMark[]> {
    return (await this.broadcast({ t: 'since-mark' })) as SinceMark[];
  }

  async digests(): Promise<NodeDigest[]> {
    return ((await this.broadcast({ t: 'digests' })) as NodeDigest[][]).flat();
  }

  async stop(): Promise<void> {
    if (this.workers.length === 0) return;
    this.stopping = true;
    try {
      // A worker stuck on a full event loop is terminated anyway after a while.
      await Promise.race([this.broadcast({ t: 'stop' }), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    } finally {
      await Promise.all(this.workers.map((worker) => worker.terminate()));
      this.workers.length = 0;
    }
  }

  private broadcast(command: Command): Promise<unknown[]> {
    return Promise.all(this.workers.map((worker) => this.request(worker, command)));
  }

  private request(worker: Worker, command: Command): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...command, id } as WorkerCommand);
    });
  }

  private onMessage(message: WorkerReply): void {
    switch (message.t) {
      case 'stats':
        this.latest.set(message.worker, message);
        this.timeline.merge(message.latency);
        for (const [, histogram] of message.latency) this.overall.merge(histogram);
        for (const [written, count, last] of message.fanout) {
          const entry = this.fanout.get(written);
          if (entry) {
            entry.count += count;
            entry.last = Math.max(entry.last, last);
          } else {
            this.fanout.set(written, { count, last });
          }
        }
        return;
      case 'reply': {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        waiter?.resolve(message.value);
        return;
      }
      case 'fatal':
        this.fail(new Error(`fleet worker failed: ${message.message}`));
        return;
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
