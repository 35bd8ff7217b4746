/**
 * One connected node: hello, digest resync, then a steady stream of `sync` frames from the
 * node's send queue within a bounded window of unacked frames.
 *
 * The session keeps no state beyond its connection: every hello starts from the node's digest
 * and `have` list (DESIGN.md "Resync is stateless on the hub").
 */
import type { Logger } from 'pino';
import {
  EDGE_FRAME_TYPES,
  ErrorCode,
  PROTOCOL_VERSION,
  ProtocolError,
  byteLength,
  decode,
  encode,
  encodeSync,
  type CloudFrame,
  type Frame,
  type HelloFrame,
} from '../../protocol/index.js';
import type { HubMetrics } from '../observability/hub-metrics.js';
import type { NodeScope } from '../scope/node-scope.js';
import type { ObjectStore } from '../source/object-store.js';
import { CLOSE_INTERNAL, CLOSE_PROTOCOL, type Connection, type ConnectionHandler } from '../transport/connection.js';
import { InboundGate } from './inbound-gate.js';
import type { InboundLimiter, NodeBudget } from './inbound-limiter.js';
import { InflightWindow } from './inflight-window.js';
import type { LimitMetrics } from './node-limits.js';
import { NodeLog } from './node-log.js';
import { NodeView, type PlannedOp } from './node-view.js';
import { SendQueue } from './send-queue.js';
import type { NodeReply, UpstreamSink } from './upstream-sink.js';

export interface SessionSettings {
  hubId: string;
  heartbeatMs: number;
  /** Largest frame the hub sends or accepts, bytes. */
  maxFrameBytes: number;
  /** Unacked `sync` frames per node. */
  window: number;
  /**
   * No new `sync` frame while more than this is waiting to be written to the node (default:
   * maxFrameBytes). Kept well under the transport's send buffer cap, so a slow node is only
   * slowed, never cut.
   */
  congestionBytes?: number;
}

export interface SessionDeps {
  node: string;
  connection: Connection;
  store: ObjectStore;
  scope: NodeScope;
  upstream: UpstreamSink;
  settings: SessionSettings;
  metrics: HubMetrics;
  logger: Logger;
  /** Resolves once every informer has listed: no hello is answered before. */
  sourceReady: () => Promise<void>;
  onClosed: (session: NodeSession) => void;
  /** The node's inbound budget (frames, bytes, events per second), shared by its sessions. */
  limiter: InboundLimiter;
  limitMetrics: LimitMetrics;
}

type State = 'awaiting-hello' | 'waiting-for-source' | 'syncing' | 'closed';

interface Resync {
  pending: Set<string>;
  ops: number;
  bytes: number;
  lastSeq: number;
}

export class NodeSession implements ConnectionHandler {
  readonly node: string;
  private state: State = 'awaiting-hello';
  private view = new NodeView();
  private readonly queue = new SendQueue();
  private window: InflightWindow;
  private resync?: Resync;
  /** An op planned for a frame it did not fit in; it leads the next frame. */
  private carry?: { key: string; at: number; op: PlannedOp };
  private seq = 0;
  private hellos = 0;
  private flushScheduled = false;
  /** A drain callback is registered with the connection (see congested). */
  private drainPending = false;
  /** The type of the frame being handled, for E_INTERNAL's `ref`. */
  private handling?: string;
  private readonly budget: NodeBudget;
  private readonly gate: InboundGate;
  private readonly logs: NodeLog;
  private readonly reply: NodeReply;

  constructor(private readonly deps: SessionDeps) {
    this.node = deps.node;
    this.window = new InflightWindow(deps.settings.window);
    this.logs = new NodeLog(deps.logger, deps.node);
    this.budget = deps.limiter.acquire(deps.node);
    this.gate = new InboundGate({
      budget: this.budget,
      connection: deps.connection,
      handle: (data) => this.process(data),
      limited: (kind, dropped) => deps.limitMetrics.refused(dropped ? 'rate-dropped' : `rate-${kind}`),
      notice: (message, ref) => this.sendError(ErrorCode.RateLimited, message, ref),
      maxQueuedBytes: 2 * deps.settings.maxFrameBytes,
    });
    this.reply = {
      ack: (ids) => this.send({ v: PROTOCOL_VERSION, t: 'ack', ids: [...ids] }),
      error: (code, message, ref) => this.sendError(code, message, ref),
    };
  }

  get queueDepth(): number {
    return this.queue.size + (this.carry ? 1 : 0);
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** The scope says `key` may have changed for this node. */
  markDirty(key: string, at: number): void {
    // Before the resync starts, the resync itself will compare everything.
    if (this.state !== 'syncing') return;
    this.queue.mark(key, at);
    this.scheduleFlush();
  }

  /**
   * One frame from the node. Nothing it sends can throw out of here: a bad frame is answered
   * with its error code, a failure of the hub with E_INTERNAL, and the session stays up. The
   * gate holds the node to its inbound budget first.
   */
  receive(data: Buffer | string): void {
    if (this.state === 'closed') return;
    this.gate.receive(data);
  }

  /** Charges the budget for one frame and handles it; returns its type when it had one. */
  private process(data: Buffer | string): string | undefined {
    if (this.state === 'closed') return undefined;
    this.handling = undefined;
    try {
      this.budget.charge('frames', 1);
      this.budget.charge('bytes', byteLength(data));
      this.handle(data);
    } catch (err) {
      this.failed(err, this.handling ?? 'frame', false);
    }
    return this.handling;
  }

  /** Decodes and dispatches one frame. */
  private handle(data: Buffer | string): void {
    let frame: Frame;
    try {
      frame = decode(data, { maxBytes: this.deps.settings.maxFrameBytes, accept: EDGE_FRAME_TYPES });
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.sendError(err.code, err.message);
        return;
      }
      throw err;
    }
    this.handling = frame.t;
    this.countIn(frame.t, byteLength(data));
    if (frame.t === 'event' || frame.t === 'status') {
      // Over its event rate a node is still read (heartbeats pass); these frames are refused
      // unacked and stay in the agent's outbox until it sends them again.
      const waitMs = this.budget.debtMs('events');
      if (waitMs > 0) {
        this.gate.refuseEvents(waitMs, frame.t);
        if (frame.t === 'event') this.deps.metrics.events.inc({ result: 'rate-limited' }, frame.events.length);
        else this.deps.metrics.statusRefused.inc(frame.pods.length);
        return;
      }
      this.budget.charge('events', frame.t === 'event' ? frame.events.length : frame.pods.length);
    }
    if (frame.t === 'error') {
      this.logs.warnLimited({ code: frame.code, msg: frame.msg, seq: frame.seq }, 'node refused a frame');
      return;
    }
    if (frame.t === 'hello') {
      this.onHello(frame);
      return;
    }
    if (this.state === 'awaiting-hello') {
      this.sendError(ErrorCode.State, `"${frame.t}" before "hello"`, frame.t);
      return;
    }
    switch (frame.t) {
      case 'ack':
        if (frame.seq !== undefined) this.onAck(frame.seq);
        break;
      case 'need':
        for (const key of frame.keys) {
          this.view.forget(key);
          this.queue.mark(key, Date.now());
        }
        if (this.state === 'syncing') this.scheduleFlush();
        break;
      case 'heartbeat':
        this.deps.upstream.heartbeat(this.node, frame.ts);
        break;
      case 'status':
        this.deps.upstream.status(this.node, frame, this.reply);
        break;
      case 'event':
        this.deps.upstream.event(this.node, frame, this.reply);
        break;
    }
  }

  /**
   * The hub failed while serving this node: logged, answered with E_INTERNAL, counted. Outside
   * a frame (a timer's flush or resync) the session's state is unknown, so it is closed and the
   * agent's next hello resyncs it from scratch.
   */
  private failed(err: unknown, ref: string, fatal: boolean): void {
    this.logs.log('error', { ref, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'internal error while serving the node');
    this.deps.limitMetrics.refused('internal');
    try {
      this.sendError(ErrorCode.Internal, `the hub failed while handling ${ref}; sending it again may work`, ref);
    } catch {
      // The connection is gone as well; closing below is all that is left.
    }
    if (fatal) this.close(CLOSE_INTERNAL, 'internal error');
  }

  closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.gate.close();
    this.deps.limiter.release(this.node);
    try {
      this.deps.upstream.disconnected(this.node);
    } finally {
      this.deps.onClosed(this);
    }
  }

  close(code: number, reason: string): void {
    this.deps.connection.close(code, reason);
    this.closed();
  }

  private onHello(hello: HelloFrame): void {
    if (hello.node !== this.node) {
      this.sendError(ErrorCode.State, `hello names node "${hello.node}" but this connection belongs to "${this.node}"`, 'hello');
      this.close(CLOSE_PROTOCOL, 'node mismatch');
      return;
    }
    if (this.state !== 'awaiting-hello') {
      // A new hello starts the session over (an agent that lost track, or a broker connection
      // that outlived a hub restart). Seq numbers keep growing, so acks of the old session
      // cannot ack frames of the new one.
      this.logs.log('debug', {}, 'hello on an open session: starting over');
      this.view = new NodeView();
      this.queue.clear();
      this.window = new InflightWindow(this.deps.settings.window);
      this.carry = undefined;
      this.resync = undefined;
    }
    this.state = 'waiting-for-source';
    this.deps.upstream.connected(this.node, hello, this.reply);
    const started = ++this.hellos;
    void this.deps.sourceReady().then(() => {
      // Only the latest hello is answered.
      if (this.state !== 'waiting-for-source' || started !== this.hellos) return;
      try {
        this.startResync(hello);
      } catch (err) {
        this.failed(err, 'hello', true);
      }
    });
  }

  private startResync(hello: HelloFrame): void {
    const { settings, scope, store, metrics } = this.deps;
    this.send({
      v: PROTOCOL_VERSION,
      t: 'welcome',
      hub: settings.hubId,
      hb: settings.heartbeatMs,
      max: settings.maxFrameBytes,
      ts: Date.now(),
      ...(hello.sid ? { sid: hello.sid } : {}),
    });
    this.state = 'syncing';
    const desired = scope.desired(this.node);
    const wanted = new NodeView();
    for (const [key, object] of desired) wanted.set(key, object.rv);
    const desiredDigest = wanted.digest();
    if (hello.digest === desiredDigest) {
      for (const [key, object] of desired) this.view.set(key, object.rv);
      metrics.resyncs.inc({ result: 'equal' });
      metrics.resyncOps.observe(0);
      metrics.resyncBytes.observe(0);
      this.send({ v: PROTOCOL_VERSION, t: 'synced', seq: 0, digest: desiredDigest, n: desired.size });
      this.logs.log('debug', { objects: desired.size }, 'resync: digest equal');
      return;
    }
    const now = Date.now();
    const pending = new Set<string>();
    for (const [key, rv] of hello.have) this.view.set(key, rv);
    for (const [key, object] of desired) {
      if (this.view.rvOf(key) !== object.rv) pending.add(key);
    }
    for (const key of this.view.keys()) if (!desired.has(key)) pending.add(key);
    // Resync keys go first, in desired-set order (configuration before Pods).
    for (const key of pending) this.queue.mark(key, now);
    this.resync = { pending, ops: 0, bytes: 0, lastSeq: 0 };
    metrics.resyncs.inc({ result: 'diff' });
    this.logs.log('debug', { objects: desired.size, held: hello.have.length, differing: pending.size }, 'resync: sending differences');
    this.flush();
  }

  private onAck(seq: number): void {
    const now = Date.now();
    for (const frame of this.window.ack(seq)) {
      for (const at of frame.eventTimes) this.deps.metrics.deltaLatency.observe((now - at) / 1000);
    }
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
        this.failed(err, 'sync', true);
      }
    });
  }

  /** Sends frames while the window has room and something is pending. */
  private flush(): void {
    if (this.state !== 'syncing') return;
    const { store, scope, settings } = this.deps;
    // Room for the frame envelope: {"v":1,"t":"sync","seq":N,"ops":[...]}.
    const budget = settings.maxFrameBytes - 64;
    while (!this.window.full && (this.carry || this.queue.size > 0) && !this.congested()) {
      const ops: string[] = [];
      const eventTimes: number[] = [];
      let bytes = 0;
      for (;;) {
        let next = this.carry;
        this.carry = undefined;
        if (!next) {
          const taken = this.queue.take();
          if (!taken) break;
          const [key, at] = taken;
          const wanted = scope.inScope(this.node, key) ? store.get(key) : undefined;
          const op = this.view.plan(key, wanted, store);
          this.resync?.pending.delete(key);
          if (!op) continue;
          next = { key, at, op };
        }
        const size = byteLength(next.op.json) + 1;
        if (ops.length > 0 && bytes + size > budget) {
          this.carry = next;
          break;
        }
        if (size > budget) this.logs.log('error', { key: next.key, bytes: size }, 'object larger than the frame limit; sent anyway');
        ops.push(next.op.json);
        bytes += size;
        if (!this.resync) eventTimes.push(next.at);
      }
      if (ops.length > 0) {
        this.seq += 1;
        const text = encodeSync(this.seq, ops);
        const textBytes = byteLength(text);
        this.deps.connection.send(text);
        this.countOut('sync', textBytes);
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
    const buffered = this.deps.connection.bufferedBytes?.();
    if (buffered === undefined || buffered <= (this.deps.settings.congestionBytes ?? this.deps.settings.maxFrameBytes)) return false;
    if (!this.drainPending && this.deps.connection.whenDrained) {
      this.drainPending = true;
      this.deps.connection.whenDrained(() => {
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
    this.send({ v: PROTOCOL_VERSION, t: 'synced', seq: resync.lastSeq, digest: this.view.digest(), n: this.view.size });
    this.logs.log('debug', { ops: resync.ops, bytes: resync.bytes }, 'resync done');
  }

  private send(frame: CloudFrame): void {
    if (this.state === 'closed') return;
    const text = encode(frame);
    this.deps.connection.send(text);
    this.countOut(frame.t, byteLength(text));
  }

  private sendError(code: ErrorCode, message: string, ref?: string): void {
    this.deps.metrics.frameErrors.inc({ code });
    this.logs.warnLimited({ code, msg: message }, 'refused a frame from the node');
    this.send({ v: PROTOCOL_VERSION, t: 'error', code, msg: message.slice(0, 4096), ...(ref ? { ref } : {}) });
  }

  private countIn(type: string, bytes: number): void {
    this.deps.metrics.countFrame(type, 'in', bytes);
  }

  private countOut(type: string, bytes: number): void {
    this.deps.metrics.countFrame(type, 'out', bytes);
  }
}
