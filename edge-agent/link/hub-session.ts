/**
 * The packet half of the hub link (the agent's counterpart of cloud-hub/session/node-session.ts):
 * protocol v1 over one connection at a time. `hello` with the cache's digest, apply `sync`
 * frames (one transaction per batch, acked after commit), answer a failed patch with `need`,
 * verify `synced`, heartbeat, refuse what breaks the rules, and say hello again when the hub
 * lost the session. The cache is never cleared because a connection failed; only the hub's ops
 * change it. Connecting, retrying and timing belong to the reconnect loop (reconnect-loop.ts).
 *
 * Every byte from the hub is hostile: nothing a frame carries can throw out of this class (the
 * transports call it from their socket handlers, where a throw would end the process). A frame
 * that fails validation is answered with a coded `error` and the link goes on; an op whose
 * object breaks the cache's rules is refused alone (refused-ops.ts); a frame whose handling
 * throws anyway is answered with E_INTERNAL and logged; timer values are clamped (hub-limits.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  CLOUD_FRAME_TYPES,
  ErrorCode,
  PROTOCOL_VERSION,
  ProtocolError,
  TUNNEL_CAP,
  byteLength,
  decode,
  encode,
  type CloudFrame,
  type EdgeFrame,
  type NodeInfo,
  type SyncFrame,
  type SyncOp,
  type SyncedFrame,
  type WelcomeFrame,
} from '../../protocol/index.js';
import type { ApplyResult, RefusedOp, SyncCache } from '../store/sync-cache.js';
import { clampWelcome } from './hub-limits.js';
import { RefusedOps, refusalMessages } from './refused-ops.js';

/** Optional hooks for metrics and for the simulator; all are called synchronously. */
export interface HubLinkObserver {
  connected?(welcome: WelcomeFrame): void;
  disconnected?(reason: string): void;
  synced?(outcome: { matched: boolean; ops: number; ms: number }): void;
  applied?(result: ApplyResult, ms: number, ops: readonly SyncOp[]): void;
  frameIn?(type: string, bytes: number): void;
  frameOut?(type: string, bytes: number): void;
  /** The agent refused something the hub sent: a frame (with the code it answered) or ops of a sync. */
  refused?(code: string, count: number): void;
}

/** Status and events waiting to go up; the link tells it when it can send and what was acked. */
export interface UpstreamChannel {
  /** `maxFrameBytes`: the largest frame the hub accepts (its welcome's `max`, clamped). */
  connected(send: (frame: EdgeFrame) => void, limits?: { maxFrameBytes: number }): void;
  acked(ids: readonly string[]): void;
  /**
   * The hub could not take status (`ref: "status"`) or events (`ref: "event"`) now (E_UNAVAILABLE
   * or E_RATE_LIMITED): what it did not ack goes again later.
   */
  deferred?(ref: string, message: string): void;
  disconnected(): void;
}

/** What the session needs of the connection under it (ReconnectLoop). */
export interface SessionConnection {
  /** Whether a connection is up (frames sent while none is are dropped, not queued). */
  readonly open: boolean;
  send(text: string): void;
  reconnect(reason: string): void;
  expectTrafficWithin(ms: number): void;
  helloSent(attempt: number): void;
  welcomed(): void;
  inSync(): void;
}

export interface HubSessionOptions {
  node: string;
  agentVersion: string;
  caps?: string[];
  nodeInfo: () => NodeInfo;
  cache: SyncCache;
  logger: Logger;
  observer?: HubLinkObserver;
  upstream?: UpstreamChannel;
  /** Answers `tunnel` frames (tunnel-dialer.ts); with it the hello's caps say `tunnel`. */
  tunnels?: { dial(id: string, purpose?: string): string | undefined };
}

export type SessionState = 'closed' | 'handshaking' | 'resyncing' | 'synced';

export class HubSession {
  private sessionState: SessionState = 'closed';
  /** Incremented per connection, so a batch scheduled on an old one is not applied on the next. */
  private epoch = 0;
  private pendingSync: SyncFrame[] = [];
  private applyScheduled = false;
  private readonly outstandingNeeds = new Set<string>();
  private readonly refusedOps = new RefusedOps();
  private heartbeatTimer?: NodeJS.Timeout;
  private resyncStarted = 0;
  private resyncOps = 0;
  private hubId = '';
  /** Session id of the current hello; the welcome that answers it echoes it. */
  private sid = '';
  private lastRehello = 0;

  constructor(
    private readonly options: HubSessionOptions,
    private readonly connection: SessionConnection,
  ) {}

  get state(): SessionState {
    return this.sessionState;
  }

  /** The id of the hub that welcomed the latest session ('' before any). */
  get hub(): string {
    return this.hubId;
  }

  /** A connection is up: say hello. */
  opened(): void {
    this.epoch += 1;
    this.sessionState = 'handshaking';
    this.sendHello();
  }

  /** The connection is gone; what was pending on it is dropped (the next resync brings it again). */
  closed(reason: string): void {
    this.epoch += 1;
    this.sessionState = 'closed';
    this.pendingSync = [];
    this.outstandingNeeds.clear();
    this.stopHeartbeat();
    this.options.upstream?.disconnected();
    this.options.observer?.disconnected?.(reason);
    this.options.logger.warn({ reason }, 'disconnected from hub');
  }

  /** The link is stopping. */
  stop(): void {
    this.epoch += 1;
    this.sessionState = 'closed';
    this.stopHeartbeat();
  }

  /** No welcome came for hello number `attempt`: say it again (a broker may have lost it). */
  helloDue(attempt: number): void {
    if (this.sessionState !== 'handshaking') return;
    this.options.logger.info({ attempt: attempt + 1 }, 'no welcome yet; saying hello again');
    this.sendHello(attempt + 1);
  }

  /** Called for every message of the current connection; nothing thrown in here may reach the transport. */
  message(data: Buffer | string): void {
    let frame: CloudFrame;
    try {
      frame = decode(data, { accept: CLOUD_FRAME_TYPES }) as CloudFrame;
    } catch (err) {
      const code = err instanceof ProtocolError ? err.code : ErrorCode.Internal;
      const message = err instanceof ProtocolError ? err.message : `the agent failed to decode the frame: ${(err as Error).message}`;
      this.refuse(code, message);
      return;
    }
    try {
      this.dispatch(frame, data);
    } catch (err) {
      // Not the frame's shape but its handling failed: answer, log, and go on with the next one.
      this.options.logger.error({ err, type: frame.t }, 'failed to handle a frame from the hub');
      if (frame.t === 'error') return; // never answer an error with an error
      const seq = frame.t === 'sync' || frame.t === 'synced' ? { seq: frame.seq } : {};
      this.refuse(ErrorCode.Internal, `the agent failed on this ${frame.t} frame: ${(err as Error).message}`, { ref: frame.t, ...seq });
    }
  }

  private sendHello(attempt = 0): void {
    const { cache, node, agentVersion } = this.options;
    this.resyncStarted = Date.now();
    this.resyncOps = 0;
    // A fresh resync: the hub forgets what it sent, so do we.
    this.refusedOps.clear();
    this.sid = randomBytes(8).toString('base64url');
    this.send({
      v: PROTOCOL_VERSION,
      t: 'hello',
      node,
      agent: agentVersion,
      caps: [...(this.options.caps ?? ['patch', 'need']), ...(this.options.tunnels ? [TUNNEL_CAP] : [])],
      info: this.options.nodeInfo(),
      digest: cache.digest(),
      have: [...cache.entries()].map(([key, rv]) => [key, rv] as [string, string]),
      sid: this.sid,
    });
    this.connection.helloSent(attempt);
  }

  /** The hub lost our session (it restarted behind a broker, or a shard moved): say hello again. */
  private rehello(reason: string): void {
    const now = Date.now();
    if (now - this.lastRehello < 1_000) {
      // Twice in a second is not a hub restart; start the connection over instead.
      this.connection.reconnect(`${reason} (again)`);
      return;
    }
    this.lastRehello = now;
    this.options.logger.info({ reason }, 'hub asked for a new hello; resyncing');
    this.stopHeartbeat();
    this.pendingSync = [];
    this.outstandingNeeds.clear();
    this.options.upstream?.disconnected();
    this.sessionState = 'handshaking';
    this.sendHello();
  }

  /** Answers a refused frame with a coded `error`, logged, and counted as `count` refusals. */
  private refuse(code: string, message: string, about: { seq?: number; ref?: string } = {}, count = 1): void {
    const msg = message.length > 4096 ? `${message.slice(0, 4093)}...` : message;
    this.options.logger.warn({ code, msg, ...about }, 'refused a frame from the hub');
    try {
      if (count > 0) this.options.observer?.refused?.(code, count);
      this.send({ v: PROTOCOL_VERSION, t: 'error', code, msg, ...about });
    } catch (err) {
      this.options.logger.error({ err }, 'could not answer a refused frame');
    }
  }

  private dispatch(frame: CloudFrame, data: Buffer | string): void {
    this.options.observer?.frameIn?.(frame.t, byteLength(data));
    if (this.sessionState === 'handshaking' && !(frame.t === 'welcome' && (frame.sid === undefined || frame.sid === this.sid))) {
      // Left over from an earlier session (a broker delivers what it queued): not ours.
      return;
    }
    const epoch = this.epoch;
    if (frame.t === 'sync') {
      this.pendingSync.push(frame);
      if (!this.applyScheduled) {
        this.applyScheduled = true;
        // Frames that arrive together are applied in one transaction. Outside the transport's
        // call stack now, so nothing thrown may leave the callback either.
        setImmediate(() => {
          try {
            this.applyPending(epoch);
          } catch (err) {
            this.options.logger.error({ err }, 'failed to apply sync frames');
          }
        });
      }
      return;
    }
    // Everything else is ordered after the sync frames that came before it.
    this.applyPending(epoch);
    switch (frame.t) {
      case 'welcome':
        this.onWelcome(frame);
        return;
      case 'synced':
        this.onSynced(frame);
        return;
      case 'ack':
        if (frame.ids) this.options.upstream?.acked(frame.ids);
        return;
      case 'tunnel': {
        const refused = this.options.tunnels ? this.options.tunnels.dial(frame.id, frame.purpose) : 'this agent serves no streams';
        if (refused !== undefined) this.refuse(refused === 'bad-id' ? ErrorCode.Shape : this.options.tunnels ? ErrorCode.RateLimited : ErrorCode.Type, `tunnel refused: ${refused}`, { ref: 'tunnel' });
        return;
      }
      case 'error':
        this.options.logger.warn({ code: frame.code, msg: frame.msg, ref: frame.ref }, 'hub refused a frame');
        if (frame.code === ErrorCode.Hello) this.rehello(frame.msg);
        else if ((frame.code === ErrorCode.Unavailable || frame.code === ErrorCode.RateLimited) && (frame.ref === 'event' || frame.ref === 'status')) {
          this.options.upstream?.deferred?.(frame.ref, frame.msg);
        }
        return;
    }
  }

  private onWelcome(asked: WelcomeFrame): void {
    if (this.sessionState !== 'handshaking') {
      this.refuse(ErrorCode.State, 'unexpected welcome: this session already has one', { ref: 'welcome' });
      return;
    }
    const { welcome, clamped } = clampWelcome(asked);
    if (Object.keys(clamped).length > 0) this.options.logger.warn({ hub: welcome.hub, clamped }, 'hub asked for values out of range; using the nearest allowed ones');
    this.sessionState = 'resyncing';
    this.connection.welcomed();
    this.hubId = welcome.hub;
    this.options.logger.info({ hub: welcome.hub, heartbeatMs: welcome.hb }, 'connected to hub; resyncing');
    this.connection.expectTrafficWithin(welcome.hb * 2 + 1_000);
    this.heartbeatTimer = setInterval(() => this.send({ v: PROTOCOL_VERSION, t: 'heartbeat', ts: Date.now() }), welcome.hb);
    this.heartbeatTimer.unref();
    this.options.observer?.connected?.(welcome);
    this.options.upstream?.connected((frame) => this.send(frame), { maxFrameBytes: welcome.max });
  }

  private applyPending(epoch: number): void {
    this.applyScheduled = false;
    if (epoch !== this.epoch || this.pendingSync.length === 0) return;
    const frames = this.pendingSync;
    this.pendingSync = [];
    const lastSeq = (frames[frames.length - 1] as SyncFrame).seq;
    const ops = frames.length === 1 ? (frames[0] as SyncFrame).ops : frames.flatMap((frame) => frame.ops);
    const started = performance.now();
    let result: ApplyResult;
    try {
      result = this.options.cache.apply(ops);
    } catch (err) {
      // Nothing was committed, so nothing is acked; a fresh resync will bring it again.
      this.options.logger.error({ err: (err as Error).message, ops: ops.length }, 'could not apply a sync batch; reconnecting');
      this.refuse(ErrorCode.Internal, `could not apply sync frames ${frames[0]?.seq}..${lastSeq}: ${(err as Error).message}; reconnecting to resync`, { seq: lastSeq, ref: 'sync' });
      this.connection.reconnect('cache write failed');
      return;
    }
    try {
      this.afterApply(frames, ops, result, performance.now() - started);
    } catch (err) {
      // Committed: the ack below must still go, or the hub's window stalls.
      this.options.logger.error({ err }, 'failed after applying a sync batch');
    }
    this.send({ v: PROTOCOL_VERSION, t: 'ack', seq: lastSeq });
    if (result.needs.length > 0) {
      for (const key of result.needs) this.outstandingNeeds.add(key);
      this.options.logger.info({ keys: result.needs }, 'patch base not held; asking for whole objects');
      this.send({ v: PROTOCOL_VERSION, t: 'need', keys: result.needs });
    }
  }

  private afterApply(frames: readonly SyncFrame[], ops: readonly SyncOp[], result: ApplyResult, ms: number): void {
    if (this.sessionState === 'resyncing') this.resyncOps += ops.length;
    for (const op of ops) this.outstandingNeeds.delete(op.key);
    const refused: readonly RefusedOp[] = result.refused ?? [];
    this.refusedOps.record(ops, refused);
    for (const { seq, msg } of refusalMessages(frames, refused)) this.refuse(ErrorCode.Shape, msg, { seq, ref: 'sync' }, 0);
    if (refused.length > 0) this.options.observer?.refused?.(ErrorCode.Shape, refused.length);
    this.options.observer?.applied?.(result, ms, ops);
  }

  private onSynced(synced: SyncedFrame): void {
    if (this.sessionState !== 'resyncing') {
      this.refuse(ErrorCode.State, `unexpected synced: no resync is in progress (link ${this.sessionState})`, { seq: synced.seq, ref: 'synced' });
      return;
    }
    const ms = Date.now() - this.resyncStarted;
    const { cache, logger } = this.options;
    const digest = cache.digest();
    // With a `need` in flight the cache is knowingly behind; the answer brings it level.
    const exact = digest === synced.digest || this.outstandingNeeds.size > 0;
    // Behind by exactly what this agent refused: reconnecting would only be refused the same again.
    const matched = exact || this.refusedOps.explains(synced.digest, cache);
    if (matched && !exact) {
      logger.warn({ refused: this.refusedOps.size, keys: this.refusedOps.keys(20) }, 'in sync with the hub except for objects this agent refused; they keep what they held until the hub sends valid ones');
    }
    this.options.observer?.synced?.({ matched, ops: this.resyncOps, ms });
    if (!matched) {
      logger.warn({ expected: synced.digest, actual: digest, objects: cache.size, hubObjects: synced.n }, 'cache digest differs from the hub after resync; reconnecting');
      this.connection.reconnect('digest mismatch after resync');
      return;
    }
    this.sessionState = 'synced';
    logger.info({ objects: cache.size, ops: this.resyncOps, ms }, 'in sync with the hub');
    this.connection.inSync();
  }

  private send(frame: EdgeFrame): void {
    if (!this.connection.open) return;
    const text = encode(frame);
    this.connection.send(text);
    this.options.observer?.frameOut?.(frame.t, byteLength(text));
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
