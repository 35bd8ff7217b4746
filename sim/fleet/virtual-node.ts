/**
 * One simulated edge node: the agent's own HubLink and transport over a real socket, with an
 * in-memory cache (or any SyncCache) and, with a SQLite store, the agent's upstream pump.
 * Nothing here re-implements the protocol. The node can be cut off (pause, or a link cut that
 * the link rides out with its own backoff) and stopped and started again over a reopened
 * store, as an agent restart would.
 */
import type { Logger } from 'pino';
import type { NodeInfo, SyncOp } from '../../protocol/index.js';
import { FullJitterBackoff } from '../../edge-agent/link/backoff.js';
import { HubLink, type HubLinkObserver, type UpstreamChannel } from '../../edge-agent/link/hub-link.js';
import { transportForUrl } from '../../edge-agent/link/transport-for-url.js';
import { MemoryCache } from '../../edge-agent/store/memory-cache.js';
import type { CacheChange, SyncCache } from '../../edge-agent/store/sync-cache.js';
import { CuttableTransport } from './cuttable-transport.js';

export interface VirtualNodeCounters {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  resyncs: number;
  mismatches: number;
  ops: number;
}

export interface VirtualNodeOptions {
  name: string;
  hubUrl: string;
  token: string;
  logger: Logger;
  cache?: SyncCache;
  /** Pod status and events going up (the agent's UpstreamPump over its outbox). */
  upstream?: UpstreamChannel;
  info?: NodeInfo;
  /** Called after each committed batch with the changes (latency measurement). */
  onChanges?: (node: VirtualNode, changes: readonly CacheChange[]) => void;
  onSynced?: (node: VirtualNode, outcome: { matched: boolean; ops: number; ms: number }) => void;
  backoff?: FullJitterBackoff;
}

const DEFAULT_INFO: NodeInfo = { arch: 'amd64', os: 'linux', capacity: { cpu: '2', memory: '2Gi', pods: '110' }, labels: { 'edge-sync.io/simulated': 'true' } };

export class VirtualNode {
  readonly counters: VirtualNodeCounters = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, resyncs: 0, mismatches: 0, ops: 0 };
  syncedAt = 0;
  private store: SyncCache;
  private upstream?: UpstreamChannel;
  private readonly transport: CuttableTransport;
  private current: HubLink;
  private paused = false;
  private down = false;
  private readonly observer: HubLinkObserver;
  private unsubscribe?: () => void;

  constructor(readonly options: VirtualNodeOptions) {
    this.store = options.cache ?? new MemoryCache();
    this.upstream = options.upstream;
    this.transport = new CuttableTransport(transportForUrl({ hubUrl: options.hubUrl, node: options.name, token: options.token }));
    this.observer = {
      frameIn: (_type, bytes) => {
        this.counters.framesIn += 1;
        this.counters.bytesIn += bytes;
      },
      frameOut: (_type, bytes) => {
        this.counters.framesOut += 1;
        this.counters.bytesOut += bytes;
      },
      applied: (_result, _ms, ops: readonly SyncOp[]) => {
        this.counters.ops += ops.length;
      },
      synced: (outcome) => {
        this.counters.resyncs += 1;
        if (!outcome.matched) this.counters.mismatches += 1;
        else this.syncedAt = Date.now();
        options.onSynced?.(this, outcome);
      },
    };
    this.current = this.makeLink();
    this.subscribe();
  }

  get name(): string {
    return this.options.name;
  }

  get cache(): SyncCache {
    return this.store;
  }

  /** The link of the current connection period (a new one after `resume` or `startAgain`). */
  get link(): HubLink {
    return this.current;
  }

  get inSync(): boolean {
    return this.current.status === 'synced';
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Stopped by `stopAgent` and not started again yet. */
  get isDown(): boolean {
    return this.down;
  }

  get isCut(): boolean {
    return this.transport.isCut;
  }

  start(): void {
    this.current.start();
  }

  /**
   * Cuts the node off (a network partition, a device switched off): the link stops, the cache
   * stays. `resume` connects again with a fresh link over the same cache, as an agent restart
   * would, so the hub resyncs it by digest.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.current.stop();
    // A stopped link does not tell its upstream; reports in flight must go again on the next link.
    this.upstream?.disconnected();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.down) return;
    this.current = this.makeLink();
    this.current.start();
  }

  /**
   * A network cut: the live connection drops and connecting fails until `restoreLink`; the
   * agent's link keeps retrying with its backoff meanwhile, as it would on a real outage.
   */
  cutLink(): void {
    this.transport.cutOff();
    this.current.reconnect('simulated link cut');
  }

  restoreLink(): void {
    this.transport.restore();
  }

  /** The agent stops: the link closes and the node lets go of its cache (the caller closes the store). */
  stopAgent(): void {
    if (this.down) return;
    this.down = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.current.stop();
    this.upstream?.disconnected();
  }

  /** The agent starts again over a (re)opened cache and a new upstream pump, with a fresh link. */
  startAgain(parts: { cache: SyncCache; upstream?: UpstreamChannel }): void {
    if (!this.down) throw new Error(`${this.name}: startAgain without stopAgent`);
    this.down = false;
    this.store = parts.cache;
    this.upstream = parts.upstream;
    this.subscribe();
    this.current = this.makeLink();
    if (!this.paused) this.current.start();
  }

  stop(): void {
    this.unsubscribe?.();
    this.current.stop();
  }

  private subscribe(): void {
    const { onChanges } = this.options;
    if (onChanges) this.unsubscribe = this.store.onChange((changes) => onChanges(this, changes));
  }

  private makeLink(): HubLink {
    const { options } = this;
    return new HubLink({
      node: options.name,
      agentVersion: 'edge-sim',
      nodeInfo: () => options.info ?? DEFAULT_INFO,
      cache: this.store,
      transport: this.transport,
      logger: options.logger,
      observer: this.observer,
      ...(this.upstream ? { upstream: this.upstream } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }
}
