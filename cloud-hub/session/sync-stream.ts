/**
 * The hub -> node half of a session: the resync after a hello, then a steady stream of `sync`
 * frames from the node's send queue, within a bounded window of unacked frames and never while
 * the connection's send buffer is full. What to send for a key is decided when the key is taken
 * from the queue, from the desired state at that moment, so a slow node gets the latest version
 * of each object once, not every version in between.
 */
import { PROTOCOL_VERSION, encodeSyncBytes, type CloudFrame, type HelloFrame } from '../../protocol/index.js';
import type { HubMetrics } from '../observability/hub-metrics.js';
import type { Connection } from '../transport/connection.js';
import type { DesiredState } from './desired-state.js';
import { InflightWindow } from './inflight-window.js';
import type { NodeLog } from './node-log.js';
import { NodeView, type PlannedOp } from './node-view.js';
import type { SharedOpBytes } from './op-bytes.js';
import { planResync } from './resync-plan.js';
import { SendQueue } from './send-queue.js';

export interface SyncStreamDeps {
  node: string;
  connection: Connection;
  desired: DesiredState;
  /** Largest frame the hub sends, bytes. */
  maxFrameBytes: number;
  /** Unacked `sync` frames. */
  window: number;
  /** No new `sync` frame while more than this waits in the connection's send buffer. */
  congestionBytes: number;
  metrics: HubMetrics;
  logs: NodeLog;
  /** The bytes of shared ops, one instance for every session of the hub. */
  opBytes: SharedOpBytes;
  /** Sends a frame other than `sync` (the session's own send: counted, nothing after close). */
  send: (frame: CloudFrame) => void;
  /** A flush outside any frame of the node failed (a timer's or a drain's). */
  failed: (err: unknown) => void;
}

interface ResyncProgress {
  pending: Set<string>;
  ops: number;
  bytes: number;
  lastSeq: number;
}

export class SyncStream {
  private running = false;
  private view = new NodeView();
  private readonly queue = new SendQueue();
  private window: InflightWindow;
  private resync?: ResyncProgress;
  /** An op planned for a frame it did not fit in; it leads the next frame. */
  private carry?: { key: string; at: number; op: PlannedOp };
  private seq = 0;
  private flushScheduled = false;
  /** A drain callback is registered with the connection (see congested). */
  private drainPending = false;

  constructor(private readonly deps: SyncStreamDeps) {
    this.window = new InflightWindow(deps.window);
  }

  get queueDepth(): number {
    return this.queue.size + (this.carry ? 1 : 0);
  }

  /**
   * Forgets everything of the previous hello (a new hello starts the session over). Seq numbers
   * keep growing, so acks of the old session cannot ack frames of the new one.
   */
  reset(): void {
    this.running = false;
    this.view = new NodeView();
    this.queue.clear();
    this.window = new InflightWindow(this.deps.window);
    this.carry = undefined;
    this.resync = undefined;
  }

  stop(): void {
    this.running = false;
  }

  /** `key` may have changed for the node. Before a resync starts, the resync itself will compare everything. */
  mark(key: string, at: number): void {
    if (!this.running) return;
    this.queue.mark(key, at);
    this.scheduleFlush();
  }

  /** The node holds these keys at versions it cannot use (`need`): send them whole. */
  need(keys: readonly string[]): void {
    for (const key of keys) {
      this.view.forget(key);
      this.queue.mark(key, Date.now());
    }
    if (this.running) this.scheduleFlush();
  }

  /** Acks are cumulative: every frame up to `seq` left the window. */
  ack(seq: number): void {
    const now = Date.now();
    for (const frame of this.window.ack(seq)) {
      for (const at of frame.eventTimes) this.deps.metrics.deltaLatency.observe((now - at) / 1000);
    }
    this.flush();
  }

  /** Starts streaming after `welcome`: compares the hello with the desired set and sends what differs. */
  start(hello: HelloFrame): void {
    const { desired, metrics, logs, node } = this.deps;
    this.running = true;
    const set = desired.desired(node);
    const plan = planResync(hello, set, this.view);
    if (plan.equal) {
      metrics.resyncs.inc({ result: 'equal' });
      metrics.resyncOps.observe(0);
      metrics.resyncBytes.observe(0);
      this.deps.send({ v: PROTOCOL_VERSION, t: 'synced', seq: 0, digest: plan.digest, n: set.size });
      logs.log('debug', { objects: set.size }, 'resync: digest equal');
      return;
    }
    const now = Date.now();
    // Resync keys go first, in desired-set order (configuration before Pods).
    for (const key of plan.pending) this.queue.mark(key, now);
    this.resync = { pending: plan.pending, ops: 0, bytes: 0, lastSeq: 0 };
    metrics.resyncs.inc({ result: 'diff' });
    logs.log('debug', { objects: set.size, held: hello.have.length, differing: plan.pending.size }, 'resync: sending differences');
    this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      try {
        this.flush();
      } catch (err) {
        this.deps.failed(err);
      }
    });
  }

  /** Sends frames while the window has room and something is pending. */
  private flush(): void {
    if (!this.running) return;
    const { desired, node, connection } = this.deps;
    // Room for the frame envelope: {"v":1,"t":"sync","seq":N,"ops":[...]}.
    const budget = this.deps.maxFrameBytes - 64;
    while (!this.window.full && (this.carry || this.queue.size > 0) && !this.congested()) {
      const ops: Buffer[] = [];
      const eventTimes: number[] = [];
      let bytes = 0;
      for (;;) {
        let next = this.carry;
        this.carry = undefined;
        if (!next) {
          const taken = this.queue.take();
          if (!taken) break;
          const [key, at] = taken;
          const op = this.view.plan(key, desired.wanted(node, key), desired);
          this.resync?.pending.delete(key);
          if (!op) continue;
          next = { key, at, op };
        }
        const opBytes = next.op.shared ? this.deps.opBytes.of(next.op.json) : Buffer.from(next.op.json, 'utf8');
        const size = opBytes.byteLength + 1;
        if (ops.length > 0 && bytes + size > budget) {
          this.carry = next;
          break;
        }
        if (size > budget) this.deps.logs.log('error', { key: next.key, bytes: size }, 'object larger than the frame limit; sent anyway');
        ops.push(opBytes);
        bytes += size;
        if (!this.resync) eventTimes.push(next.at);
      }
      if (ops.length > 0) {
        this.seq += 1;
        const frame = encodeSyncBytes(this.seq, ops);
        const textBytes = frame.byteLength;
        connection.send(frame);
        this.deps.metrics.countFrame('sync', 'out', textBytes);
        this.window.push({ seq: this.seq, eventTimes });
        if (this.resync) {
          this.resync.ops += ops.length;
          this.resync.bytes += textBytes;
          this.resync.lastSeq = this.seq;
        }
      }
      this.finishResyncIfDone();
      if (ops.length === 0) break;
    }
    this.finishResyncIfDone();
  }

  /**
   * More than a frame's worth is still waiting to be written to the node (a slow link, or a
   * node that does not read): no new sync frame until it drains. The send buffer stays near
   * one frame for a slow node, and the transport's hard cap only ever cuts a node that keeps
   * making the hub answer while it reads nothing.
   */
  private congested(): boolean {
    const { connection } = this.deps;
    const buffered = connection.bufferedBytes?.();
    if (buffered === undefined || buffered <= this.deps.congestionBytes) return false;
    if (!this.drainPending && connection.whenDrained) {
      this.drainPending = true;
      connection.whenDrained(() => {
        this.drainPending = false;
        this.scheduleFlush();
      });
    }
    return true;
  }

  private finishResyncIfDone(): void {
    const resync = this.resync;
    if (!resync || resync.pending.size > 0 || this.carry) return;
    this.resync = undefined;
    this.deps.metrics.resyncOps.observe(resync.ops);
    this.deps.metrics.resyncBytes.observe(resync.bytes);
    this.deps.send({ v: PROTOCOL_VERSION, t: 'synced', seq: resync.lastSeq, digest: this.view.digest(), n: this.view.size });
    this.deps.logs.log('debug', { ops: resync.ops, bytes: resync.bytes }, 'resync done');
  }
}
