/**
 * A fleet worker (worker_threads): runs its share of the virtual nodes, each the agent's own
 * HubLink over a real socket, reports counters and latency to the main thread, and carries out
 * the scenario's commands (cut nodes off, flap them, report digests).
 */
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { openCacheStore } from '../../edge-agent/store/open.js';
import type { CacheStore } from '../../edge-agent/store/cache-store.js';
import { DeliveryProbe } from './delivery-probe.js';
import { VirtualNode } from './virtual-node.js';
import type { NodeDigest, SinceMark, WorkerCommand, WorkerInit, WorkerReply, WorkerStats } from './worker-protocol.js';

class FleetWorker {
  private readonly nodes: VirtualNode[] = [];
  private readonly byName = new Map<string, VirtualNode>();
  private readonly stores: CacheStore[] = [];
  private readonly probe: DeliveryProbe;
  private started = 0;
  private mark?: { at: number; counters: { bytesIn: number; bytesOut: number; framesIn: number; framesOut: number }[] };
  private reportTimer?: NodeJS.Timeout;
  private rampTimer?: NodeJS.Timeout;

  constructor(
    private readonly init: WorkerInit,
    private readonly post: (message: WorkerReply) => void,
  ) {
    this.probe = new DeliveryProbe(init.fanoutKey, init.namespace);
    const logger = pino({ level: init.logLevel, base: { worker: init.workerId } }, pino.destination(2));
    for (const { name, token } of init.nodes) {
      let cache: CacheStore | undefined;
      if (init.sqliteDir) {
        cache = openCacheStore({ dir: path.join(init.sqliteDir, name), logger });
        this.stores.push(cache);
      }
      const node = new VirtualNode({
        name,
        hubUrl: init.hubUrl,
        token,
        logger: logger.child({ node: name }),
        ...(cache ? { cache } : {}),
        onChanges: (changed, changes) => this.probe.observe(changes, changed.inSync),
      });
      this.nodes.push(node);
      this.byName.set(name, node);
    }
  }

  start(): void {
    // Connecting all at once would overflow the hub's listen backlog; ramp up instead.
    const tickMs = 20;
    const perTick = Math.max(1, Math.round((this.init.connectPerSecond * tickMs) / 1000));
    this.rampTimer = setInterval(() => {
      for (let i = 0; i < perTick && this.started < this.nodes.length; i++) this.nodes[this.started++]!.start();
      if (this.started >= this.nodes.length) clearInterval(this.rampTimer);
    }, tickMs);
    this.reportTimer = setInterval(() => this.report(), this.init.reportIntervalMs);
  }

  async handle(command: WorkerCommand): Promise<unknown> {
    switch (command.t) {
      case 'pause':
        for (const name of command.nodes) this.byName.get(name)?.pause();
        return undefined;
      case 'resume':
        for (const name of command.nodes) this.byName.get(name)?.resume();
        return undefined;
      case 'flap':
        return this.flap(command.count);
      case 'mark':
        this.mark = { at: Date.now(), counters: this.nodes.map((node) => ({ ...node.counters })) };
        return undefined;
      case 'since-mark':
        return this.sinceMark();
      case 'digests':
        return this.nodes.map((node): NodeDigest => [node.name, node.cache.digest(), node.cache.size, node.isPaused ? 'paused' : node.link.status]);
      case 'stop':
        return this.stop();
    }
  }

  /** Drops the connections of `count` random connected nodes; their links reconnect after backoff. */
  private flap(count: number): number {
    let flapped = 0;
    for (let tries = 0; flapped < count && tries < count * 4; tries++) {
      const node = this.nodes[Math.floor(Math.random() * this.nodes.length)]!;
      if (node.isPaused || !node.link.connected) continue;
      node.link.reconnect('simulated flap');
      flapped += 1;
    }
    return flapped;
  }

  private sinceMark(): SinceMark {
    const mark = this.mark ?? { at: 0, counters: this.nodes.map(() => ({ bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 })) };
    const delta = (field: 'bytesIn' | 'bytesOut' | 'framesIn' | 'framesOut') => this.nodes.map((node, i) => node.counters[field] - (mark.counters[i]?.[field] ?? 0));
    return {
      markedAt: mark.at,
      names: this.nodes.map((node) => node.name),
      syncedAt: this.nodes.map((node) => node.syncedAt),
      inSync: this.nodes.map((node) => node.inSync),
      bytesIn: delta('bytesIn'),
      bytesOut: delta('bytesOut'),
      framesIn: delta('framesIn'),
      framesOut: delta('framesOut'),
    };
  }

  private report(): void {
    const stats: WorkerStats = {
      t: 'stats',
      worker: this.init.workerId,
      nodes: this.nodes.length,
      started: this.started,
      connected: 0,
      synced: 0,
      paused: 0,
      bytesIn: 0,
      bytesOut: 0,
      framesIn: 0,
      framesOut: 0,
      resyncs: 0,
      mismatches: 0,
      liveDeliveries: this.probe.liveDeliveries,
      resyncDeliveries: this.probe.resyncDeliveries,
      deletes: this.probe.deletes,
      latency: this.probe.timeline.drain(),
      fanout: this.probe.drainFanout(),
    };
    for (const node of this.nodes) {
      if (node.isPaused) stats.paused += 1;
      else if (node.inSync) stats.synced += 1;
      if (!node.isPaused && node.link.connected) stats.connected += 1;
      stats.bytesIn += node.counters.bytesIn;
      stats.bytesOut += node.counters.bytesOut;
      stats.framesIn += node.counters.framesIn;
      stats.framesOut += node.counters.framesOut;
      stats.resyncs += node.counters.resyncs;
      stats.mismatches += node.counters.mismatches;
    }
    this.post(stats);
  }

  private async stop(): Promise<void> {
    clearInterval(this.rampTimer);
    this.report();
    clearInterval(this.reportTimer);
    for (const node of this.nodes) node.stop();
    // Let the close frames leave before the thread ends.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const store of this.stores) store.close();
  }
}

const port = parentPort;
if (!port) throw new Error('sim/fleet/worker.js runs as a worker thread of edge-sim');
const worker = new FleetWorker(workerData as WorkerInit, (message) => port.postMessage(message));
port.on('message', (command: WorkerCommand) => {
  worker.handle(command).then(
    (value) => port.postMessage({ t: 'reply', id: command.id, value } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ t: 'fatal', message: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerReply),
  );
});
worker.start();
