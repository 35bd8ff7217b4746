/**
 * A fleet worker (worker_threads): runs its share of the virtual nodes, each the agent's own
 * HubLink over a real socket (with --sqlite, also the agent's store, outbox, upstream pump and
 * event filter), reports counters and latency to the main thread, and carries out the
 * scenario's commands (cut nodes off, flap them, restart their agents, emit priority events,
 * report digests).
 */
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import { CACHE_FILE } from '../../edge-agent/store/open.js';
import { SeededRandom } from '../random/seeded-random.js';
import { AgentStorage, movedAsideCount } from './agent-storage.js';
import { corruptCacheFile } from './cache-corruption.js';
import { DeliveryProbe } from './delivery-probe.js';
import { ProbeEmitter, probeToken, type ProbeTarget } from './probe-events.js';
import { TracedUpstream } from './traced-upstream.js';
import { VirtualNode } from './virtual-node.js';
import type { Ledger, NodeDigest, RestartCommand, RestartOutcome, SinceMark, StuckEvent, WorkerCommand, WorkerInit, WorkerReply, WorkerStats } from './worker-protocol.js';

/** A node and, with --sqlite, the agent's storage it runs on. */
interface Slot {
  node: VirtualNode;
  logger: Logger;
  dir?: string;
  storage?: AgentStorage;
  /** The storage's pump, watched (which events went out on which connection, which were acked). */
  upstream?: TracedUpstream;
  /** Being stopped by a restart: emits nothing meanwhile. */
  stopping: boolean;
}

class FleetWorker {
  private readonly nodes: VirtualNode[] = [];
  private readonly byName = new Map<string, VirtualNode>();
  private readonly slots = new Map<string, Slot>();
  private readonly probe: DeliveryProbe;
  private readonly emitter: ProbeEmitter;
  private overflowed: string[] = [];
  private stopped = false;
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
      const nodeLogger = logger.child({ node: name });
      const dir = init.sqliteDir ? path.join(init.sqliteDir, name) : undefined;
      const storage = dir ? this.openStorage(dir, nodeLogger) : undefined;
      const upstream = storage ? new TracedUpstream(storage.pump) : undefined;
      const node = new VirtualNode({
        name,
        hubUrl: init.hubUrl,
        token,
        logger: nodeLogger,
        ...(storage && upstream ? { cache: storage.store.cache, upstream } : {}),
        onChanges: (changed, changes) => this.probe.observe(changes, changed.inSync, changed.name),
      });
      this.nodes.push(node);
      this.byName.set(name, node);
      this.slots.set(name, { node, logger: nodeLogger, ...(dir ? { dir } : {}), ...(storage ? { storage } : {}), ...(upstream ? { upstream } : {}), stopping: false });
    }
    this.emitter = new ProbeEmitter(() => this.probeTargets(), new SeededRandom(init.seed));
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
        return this.nodes.map((node): NodeDigest =>
          node.isDown ? [node.name, '', 0, 'down'] : [node.name, node.cache.digest(), node.cache.size, node.isPaused ? 'paused' : node.isCut ? 'cut' : node.link.status],
        );
      case 'cut':
        for (const name of command.nodes) this.byName.get(name)?.cutLink();
        return undefined;
      case 'restore':
        for (const name of command.nodes) this.byName.get(name)?.restoreLink();
        return undefined;
      case 'restart':
        // The node's place in the command (not in this worker) seeds its garbage: the same whatever the worker count.
        return (await Promise.all(command.nodes.map((name, i) => this.slots.get(name) && this.restart(this.slots.get(name)!, command, i)))).filter(
          (outcome) => outcome !== undefined,
        );
      case 'probe':
        this.emitter.start(command.perSecond, command.runTag);
        return undefined;
      case 'ledger':
        return this.ledger();
      case 'stuck':
        return this.stuck();
      case 'applied-since':
        return this.nodes.map((node): [string, number] => [node.name, this.probe.appliedSince(node.name, command.writtenAt)]);
      case 'stop':
        return this.stop();
    }
  }

  private openStorage(dir: string, logger: Logger): AgentStorage {
    return new AgentStorage(dir, logger, (event) => {
      const token = probeToken(event.message);
      if (token) this.overflowed.push(token);
    });
  }

  private probeTargets(): ProbeTarget[] {
    const targets: ProbeTarget[] = [];
    for (const slot of this.slots.values()) {
      if (slot.storage && !slot.stopping && !slot.node.isDown) targets.push({ name: slot.node.name, events: slot.storage.events });
    }
    return targets;
  }

  private ledger(): Ledger {
    const { emitted, notForwarded } = this.emitter.drain();
    const overflowed = this.overflowed;
    this.overflowed = [];
    let pending = 0;
    for (const slot of this.slots.values()) pending += slot.storage?.pending ?? 0;
    return { emitted, notForwarded, overflowed, pending };
  }

  /** Every probe event still queued in an outbox, with what its node's link did with it. */
  private stuck(): StuckEvent[] {
    const stuck: StuckEvent[] = [];
    for (const slot of this.slots.values()) {
      if (!slot.storage || slot.storage.pending === 0) continue;
      for (const event of slot.storage.queuedEvents()) {
        const token = probeToken(event.message);
        if (!token) continue;
        const trace = slot.upstream?.trace(event.id);
        stuck.push({
          token,
          node: slot.node.name,
          id: event.id,
          link: slot.node.isDown ? 'down' : slot.node.isCut ? 'cut' : slot.node.link.status,
          inflightFrames: slot.storage.pump.inflightFrames,
          ...(trace ? { connections: trace.connections, connectedAt: trace.connectedAt, ...(trace.event ? { trace: trace.event } : {}) } : {}),
        });
      }
    }
    return stuck;
  }

  /**
   * The agent stops (its filter flushes, the link closes, the store closes), stays down for a
   * while, and starts again on the same directory: the store reopens through its corruption
   * guard and the outbox's rows go up again. With `corruption`, the cache file is damaged while
   * the agent is down, after its outbox drained (the outbox lives in the same file).
   */
  private async restart(slot: Slot, command: RestartCommand, index: number): Promise<RestartOutcome | undefined> {
    const { node } = slot;
    const storage = slot.storage;
    // Memory caches cannot restart; a node already restarting is left to that restart.
    if (!storage || !slot.dir || node.isDown || slot.stopping) return undefined;
    slot.stopping = true;
    let drained = storage.pending === 0;
    const drainStarted = Date.now();
    if (command.corruption) {
      const deadline = drainStarted + (command.drainMs ?? 60_000);
      while (storage.pending > 0 && Date.now() < deadline && !this.stopped) await sleep(50);
      drained = storage.pending === 0;
    }
    const drainedInMs = Date.now() - drainStarted;
    const undrained = drained ? undefined : { rows: storage.pending, link: node.isCut ? 'cut' : node.link.status, inflightFrames: storage.pump.inflightFrames };
    storage.flushEvents();
    const stoppedAt = Date.now();
    node.stopAgent();
    const destroyed = command.corruption ? storage.queuedEvents().flatMap((event) => probeToken(event.message) ?? []) : [];
    storage.close();
    const outcome: RestartOutcome = { node: node.name, stoppedAt, destroyed, drained, ...(command.corruption ? { drainedInMs } : {}), ...(undrained ? { undrained } : {}) };
    const before = movedAsideCount(slot.dir);
    if (command.corruption) outcome.damage = corruptCacheFile(path.join(slot.dir, CACHE_FILE), command.corruption, (command.bytesSeed ?? 0) + index);
    await sleep(command.downMs);
    const reopened = this.openStorage(slot.dir, slot.logger);
    slot.storage = reopened;
    slot.upstream?.attach(reopened.pump);
    node.startAgain({ cache: reopened.store.cache, ...(slot.upstream ? { upstream: slot.upstream } : {}) });
    slot.stopping = false;
    if (command.corruption) outcome.detected = movedAsideCount(slot.dir) > before;
    return outcome;
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
      cut: 0,
      down: 0,
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
      if (node.isCut) stats.cut += 1;
      if (node.isDown) stats.down += 1;
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
    this.stopped = true;
    clearInterval(this.rampTimer);
    this.emitter.stop();
    this.report();
    clearInterval(this.reportTimer);
    for (const node of this.nodes) node.stop();
    // Let the close frames leave before the thread ends.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const slot of this.slots.values()) slot.storage?.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
