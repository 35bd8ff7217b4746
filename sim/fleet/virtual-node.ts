/**
 * One simulated edge node: the agent's own HubLink and transport over a real socket, with an
 * in-memory cache (or any SyncCache). Nothing here re-implements the protocol.
 */
import type { Logger } from 'pino';
import type { NodeInfo, SyncOp } from '../../protocol/index.js';
import { FullJitterBackoff } from '../../edge-agent/link/backoff.js';
import { HubLink, type HubLinkObserver } from '../../edge-agent/link/hub-link.js';
import { transportForUrl } from '../../edge-agent/link/transport-for-url.js';
import { MemoryCache } from '../../edge-agent/store/memory-cache.js';
import type { CacheChange, SyncCache } from '../../edge-agent/store/sync-cache.js';

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
  info?: NodeInfo;
  /** Called after each committed batch with the changes (latency measurement). */
  onChanges?: (node: VirtualNode, changes: readonly CacheChange[]) => void;
  onSynced?: (node: VirtualNode, outcome: { matched: boolean; ops: number; ms: number }) => void;
  backoff?: FullJitterBackoff;
}

const DEFAULT_INFO: NodeInfo = { arch: 'amd64', os: 'linux', capacity: { cpu: '2', memory: '2Gi', pods: '110' }, labels: { 'edge-sync.io/simulated': 'true' } };

export class VirtualNode {
  readonly cache: SyncCache;
  readonly counters: VirtualNodeCounters = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, resyncs: 0, mismatches: 0, ops: 0 };
  syncedAt = 0;
  private current: HubLink;
  private paused = false;
  private readonly observer: HubLinkObserver;
  private unsubscribe?: () => void;

  constructor(readonly options: VirtualNodeOptions) {
    this.cache = options.cache ?? new MemoryCache();
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
    if (options.onChanges) this.unsubscribe = this.cache.onChange((changes) => options.onChanges!(this, changes));
  }

  get name(): string {
    return this.options.name;
  }

  /** The link of the current connection period (a new one after `resume`). */
  get link(): HubLink {
    return this.current;
  }

  get inSync(): boolean {
    return this.current.status === 'synced';
  }

  get isPaused(): boolean {
    return this.paused;
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
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.current = this.makeLink();
    this.current.start();
  }

  stop(): void {
    this.unsubscribe?.();
    this.current.stop();
  }

  private makeLink(): HubLink {
    const { options } = this;
    return new HubLink({
      node: options.name,
      agentVersion: 'edge-sim',
      nodeInfo: () => options.info ?? DEFAULT_INFO,
      cache: this.cache,
      transport: transportForUrl({ hubUrl: options.hubUrl, node: options.name, token: options.token }),
      logger: options.logger,
      observer: this.observer,
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }
}
