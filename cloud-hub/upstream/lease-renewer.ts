/**
 * Keeps each live node's Lease in `kube-node-lease` fresh, as a kubelet does, from the
 * heartbeats its agent sends. Renewals go through the write queue's heartbeat lane (ahead of
 * every node's bulk writes, so no node's event or status flood can delay another node's
 * Lease), a node that heartbeats every second still costs one Lease write per renew
 * interval, and a large fleet is spread over time by the queue's rate limit.
 */
import type { Logger } from 'pino';
import { isNotFound, type KubeClient } from '../kube/kube-client.js';
import { NODE_LEASE_NAMESPACE, kubeMicroTime, paths } from '../kube/kube-paths.js';
import type { WriteQueue } from './write-queue.js';

export interface LeaseRenewerOptions {
  client: KubeClient;
  writes: WriteQueue;
  logger: Logger;
  /** How often a live node's Lease is renewed (kubelet: 10 s). */
  renewIntervalMs: number;
  /** Written into the Lease (kubelet: 40 s). */
  leaseDurationSeconds: number;
  /** Identity written as holder, so an operator sees which replica renews it. */
  holder: (node: string) => string;
  /** The write queue's sustained rate: renewals may use half of it. */
  apiQps?: number;
  /** Lease age at which a node turns NotReady; renewals slower than a third of it are warned about. */
  gracePeriodMs?: number;
  /** Called after each successful renewal (the hub marks a NotReady node Ready again). */
  onRenewed?: (node: string) => void;
}

export class LeaseRenewer {
  /** node -> last heartbeat seen by this replica (ms). */
  private readonly lastSeen = new Map<string, number>();
  private readonly lastRenewed = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private lastWarning = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LeaseRenewerOptions) {}

  start(): void {
    const tick = Math.max(100, Math.floor(this.options.renewIntervalMs / 4));
    this.timer = setInterval(() => this.renewDue(), tick);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The node is alive now; renew at once if it has not been renewed this interval. */
  heartbeat(node: string, now = Date.now()): void {
    this.lastSeen.set(node, now);
    if (now - (this.lastRenewed.get(node) ?? 0) >= this.effectiveIntervalMs(now)) this.renew(node, now);
  }

  /**
   * A node (re)connected. Its first renewal comes at a random point within the first quarter
   * interval rather than at once, so a fleet reconnecting together (after a hub restart)
   * spreads its Lease writes instead of queueing them all at the same moment; a new node's
   * Lease still appears within seconds.
   */
  connected(node: string, now = Date.now()): void {
    this.lastSeen.set(node, now);
    if (this.lastRenewed.has(node)) return;
    const delay = Math.floor(Math.random() * (this.options.renewIntervalMs / 4));
    this.lastRenewed.set(node, now - this.options.renewIntervalMs + delay);
  }

  /** The node's session ended; stop renewing so the Lease can expire. */
  forget(node: string): void {
    this.lastSeen.delete(node);
    this.lastRenewed.delete(node);
  }

  /** When this replica last heard from `node`. */
  lastHeartbeat(node: string): number | undefined {
    return this.lastSeen.get(node);
  }

  /**
   * The renewal interval for the current fleet: the configured one, stretched when renewing
   * every live node that often would take more than half of the API write budget (10,000
   * nodes every 10 s is 1,000 writes/s). Stretching spreads the writes instead of letting them
   * queue; past a third of the grace period it is a risk, and is logged as one.
   */
  effectiveIntervalMs(now = Date.now()): number {
    const { renewIntervalMs, apiQps, gracePeriodMs, logger } = this.options;
    if (!apiQps) return renewIntervalMs;
    const needed = Math.ceil((this.lastSeen.size / (apiQps / 2)) * 1000);
    const interval = Math.max(renewIntervalMs, needed);
    if (gracePeriodMs && interval > gracePeriodMs / 3 && now - this.lastWarning > 60_000) {
      this.lastWarning = now;
      logger.warn({ nodes: this.lastSeen.size, apiQps, renewIntervalMs: interval, gracePeriodMs }, 'Lease renewals for this many nodes need more API writes per second; raise --api-qps or nodes may turn NotReady');
    }
    return interval;
  }

  private renewDue(): void {
    const now = Date.now();
    const interval = this.effectiveIntervalMs(now);
    for (const [node, seen] of this.lastSeen) {
      // Only nodes heard from within the last interval are alive enough to renew.
      if (now - seen > interval * 2) continue;
      if (now - (this.lastRenewed.get(node) ?? 0) >= interval) this.renew(node, now);
    }
  }

  private renew(node: string, now: number): void {
    this.lastRenewed.set(node, now);
    const { client, writes } = this.options;
    const run = async (): Promise<void> => {
      const spec = {
        holderIdentity: this.options.holder(node),
        leaseDurationSeconds: this.options.leaseDurationSeconds,
        renewTime: kubeMicroTime(Date.now()),
      };
      try {
        await client.mergePatch(paths.lease(NODE_LEASE_NAMESPACE, node), { spec });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await client.create(paths.leases(NODE_LEASE_NAMESPACE), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: node, namespace: NODE_LEASE_NAMESPACE },
          spec: { ...spec, acquireTime: spec.renewTime },
        });
      }
    };
    writes.submit({
      key: `Lease/${node}`,
      kind: 'Lease',
      node,
      lane: 'heartbeat',
      run,
      settled: (result) => {
        if (result === 'ok') this.options.onRenewed?.(node);
      },
    });
  }
}
