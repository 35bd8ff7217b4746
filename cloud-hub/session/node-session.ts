/**
 * One connected node: the handshake (hello, welcome), the frames it sends (dispatched to the
 * sync stream or upstream), its inbound budget, and what happens when the hub fails while
 * serving it. The hub -> node stream (resync, then `sync` frames) is sync-stream.ts.
 *
 * The session keeps no state beyond its connection: every hello starts from the node's digest
 * and `have` list (resync is stateless on the hub: protocol/README.md).
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
  type CloudFrame,
  type Frame,
  type HelloFrame,
  TUNNEL_CAP,
} from '../../protocol/index.js';
import type { HubMetrics } from '../observability/hub-metrics.js';
import { CLOSE_INTERNAL, CLOSE_PROTOCOL, type Connection, type ConnectionHandler } from '../transport/connection.js';
import type { DesiredState } from './desired-state.js';
import type { SharedOpBytes } from './op-bytes.js';
import { InboundGate } from './inbound-gate.js';
import type { InboundLimiter, NodeBudget } from './inbound-limiter.js';
import type { LimitMetrics } from './node-limits.js';
import { NodeLog } from './node-log.js';
import { SyncStream } from './sync-stream.js';
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
  /** What the node should hold (the fleet view). */
  desired: DesiredState;
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
  /** The bytes of ops many nodes are sent, shared by every session of the hub. */
  opBytes: SharedOpBytes;
}

type State = 'awaiting-hello' | 'waiting-for-source' | 'syncing' | 'closed';

export class NodeSession implements ConnectionHandler {
  readonly node: string;
  private state: State = 'awaiting-hello';
  private readonly stream: SyncStream;
  private hellos = 0;
  /** The latest hello's `caps` has `tunnel`: the agent answers `tunnel` frames. */
  private tunnels = false;
  /** The type of the frame being handled, for E_INTERNAL's `ref`. */
  private handling?: string;
  private readonly budget: NodeBudget;
  private readonly gate: InboundGate;
  private readonly logs: NodeLog;
  private readonly reply: NodeReply;

  constructor(private readonly deps: SessionDeps) {
    this.node = deps.node;
    this.logs = new NodeLog(deps.logger, deps.node);
    this.stream = new SyncStream({
      node: deps.node,
      connection: deps.connection,
      desired: deps.desired,
      maxFrameBytes: deps.settings.maxFrameBytes,
      window: deps.settings.window,
      congestionBytes: deps.settings.congestionBytes ?? deps.settings.maxFrameBytes,
      metrics: deps.metrics,
      opBytes: deps.opBytes,
      logs: this.logs,
      send: (frame) => this.send(frame),
      failed: (err) => this.failed(err, 'sync', true),
    });
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
    return this.stream.queueDepth;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** The session is past hello, open, and its agent takes stream tunnels. */
  get servesTunnels(): boolean {
    return this.tunnels && this.state !== 'closed' && this.state !== 'awaiting-hello';
  }

  /**
   * Asks the agent to dial stream tunnel `id` (cloud-hub/streams/); false when the session is
   * not past its hello or the agent does not take tunnels.
   */
  requestTunnel(id: string, purpose: string): boolean {
    if (!this.servesTunnels) return false;
    this.send({ v: PROTOCOL_VERSION, t: 'tunnel', id, purpose });
    return true;
  }

  /** The desired state says `key` may have changed for this node. */
  markDirty(key: string, at: number): void {
    this.stream.mark(key, at);
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
      this.sendError(ErrorCode.Hello, `"${frame.t}" before "hello": this hub has no session for the node; say hello`, frame.t);
      return;
    }
    switch (frame.t) {
      case 'ack':
        if (frame.seq !== undefined) this.stream.ack(frame.seq);
        break;
      case 'need':
        this.stream.need(frame.keys);
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
    this.stream.stop();
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
      // that outlived a hub restart).
      this.logs.log('debug', {}, 'hello on an open session: starting over');
      this.stream.reset();
    }
    this.state = 'waiting-for-source';
    this.tunnels = hello.caps.includes(TUNNEL_CAP);
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
    const { settings } = this.deps;
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
    this.stream.start(hello);
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
