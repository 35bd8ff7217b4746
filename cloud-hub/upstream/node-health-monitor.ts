/**
 * Marks edge nodes NotReady (Ready=Unknown) when their Lease has not been renewed for the
 * grace period, as the node lifecycle controller does on a real cluster. The embedded API
 * has no such controller, so the hub does it; on a real cluster both agree.
 *
 * The Lease is the truth, not this replica's sessions: a node connected to another replica
 * keeps a fresh Lease and is left alone.
 */
import type { Logger } from 'pino';
import { isNotFound, type KubeClient } from '../kube/kube-client.js';
import type { ObjectStore } from '../source/object-store.js';
import { NODE_LEASE_NAMESPACE, paths } from './kube-paths.js';
import type { LeaseRenewer } from './lease-renewer.js';
import type { NodeRegistrar } from './node-registrar.js';

export interface NodeHealthMonitorOptions {
  client: KubeClient;
  store: ObjectStore;
  registrar: NodeRegistrar;
  leases: LeaseRenewer;
  logger: Logger;
  /** Lease age after which a node is NotReady (kube-controller-manager: 40 s). */
  gracePeriodMs: number;
  checkIntervalMs: number;
  /** Every edge node name the hub knows (from the Node informer). */
  edgeNodes: () => Iterable<string>;
}

interface NodeObject {
  status?: { conditions?: { type?: string; status?: string }[] };
}

interface LeaseObject {
  spec?: { renewTime?: string };
}

export class NodeHealthMonitor {
  private timer?: NodeJS.Timeout;
  private running = false;
  /** Nodes this replica already marked, so a long outage costs one write. */
  private readonly marked = new Set<string>();

  constructor(private readonly options: NodeHealthMonitorOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The node reconnected: it may be marked again after its next outage. */
  reset(node: string): void {
    this.marked.delete(node);
  }

  async check(now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const node of this.options.edgeNodes()) {
        if (this.marked.has(node)) continue;
        const seen = this.options.leases.lastHeartbeat(node);
        if (seen !== undefined && now - seen < this.options.gracePeriodMs) continue;
        await this.checkNode(node, now);
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'node health check failed');
    } finally {
      this.running = false;
    }
  }

  private async checkNode(node: string, now: number): Promise<void> {
    const { client } = this.options;
    let renewed = 0;
    try {
      const lease = await client.get<LeaseObject>(paths.lease(NODE_LEASE_NAMESPACE, node));
      renewed = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (now - renewed < this.options.gracePeriodMs) return;
    const object = await client.get<NodeObject>(paths.node(node));
    const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
    this.marked.add(node);
    if (ready?.status !== 'True') return;
    this.options.logger.info({ node, leaseAgeMs: renewed ? now - renewed : null }, 'edge node stopped reporting; marking NotReady');
    this.options.registrar.markUnknown(node, renewed || now);
  }
}
