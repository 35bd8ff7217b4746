/**
 * Marks edge nodes NotReady (Ready=Unknown) when their Lease has not been renewed for the
 * grace period, as the node lifecycle controller does on a real cluster. The embedded API
 * has no such controller, so the hub does it; on a real cluster both agree.
 *
 * The Lease is the truth, not this replica's sessions: a node connected to another replica
 * keeps a fresh Lease and is left alone. A node is alive when any of these holds:
 * - this replica heard its heartbeat within the grace period (its Lease write may still wait
 *   in the queue: a delayed write is not evidence of death);
 * - the Lease's renewTime is within the grace period;
 * - the Lease's renewTime changed within the grace period as this replica observed it (the
 *   lifecycle controller's rule, immune to clock skew between replicas);
 * - the node has no Lease yet and was first seen without one within the grace period (it
 *   just registered; its first renewal is on its way).
 * A node marked NotReady turns Ready again with its next renewal (see LeaseRenewer.onRenewed),
 * without reconnecting.
 */
import type { Logger } from 'pino';
import { isNotFound, type KubeClient } from '../kube/kube-client.js';
import { NODE_LEASE_NAMESPACE, paths } from '../kube/kube-paths.js';
import type { LeaseRenewer } from './lease-renewer.js';
import type { NodeReadiness } from './node-readiness.js';
import type { NodeRegistrar } from './node-registrar.js';

export interface NodeHealthMonitorOptions {
  client: KubeClient;
  registrar: NodeRegistrar;
  leases: LeaseRenewer;
  readiness: NodeReadiness;
  logger: Logger;
  /** Lease age after which a node is NotReady (kube-controller-manager: 40 s). */
  gracePeriodMs: number;
  checkIntervalMs: number;
  /** Every edge node name the hub knows (from the Node informer). */
  edgeNodes: () => Iterable<string>;
}

interface LeaseObject {
  spec?: { renewTime?: string };
}

export class NodeHealthMonitor {
  private timer?: NodeJS.Timeout;
  private running = false;
  /** node -> when this replica marked it, so a long outage (or a slow informer) costs one write. */
  private readonly marked = new Map<string, number>();
  /** node -> the Lease renewTime last seen and when this replica first saw that value. */
  private readonly observed = new Map<string, { renewTime: string; since: number; evidence: boolean }>();

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
      const nodes = new Set(this.options.edgeNodes());
      this.forgetGone(nodes);
      for (const node of nodes) {
        try {
          await this.checkNode(node, now);
        } catch (err) {
          this.options.logger.warn({ node, err: (err as Error).message }, 'node health check failed');
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async checkNode(node: string, now: number): Promise<void> {
    const { gracePeriodMs } = this.options;
    // Already not ready: nothing to write until it reports again.
    if (this.options.readiness.isReady(node) === false) return;
    const marked = this.marked.get(node);
    if (marked !== undefined && now - marked < gracePeriodMs) return;
    const seen = this.options.leases.lastHeartbeat(node);
    if (seen !== undefined && now - seen < gracePeriodMs) {
      // Heard here: alive. Lease changes are tracked only for nodes this replica does not hear.
      this.observed.delete(node);
      return;
    }
    let renewTime = '';
    try {
      const lease = await this.options.client.get<LeaseObject>(paths.lease(NODE_LEASE_NAMESPACE, node));
      renewTime = lease.spec?.renewTime ?? '';
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const previous = this.observed.get(node);
    // A change seen by this replica is evidence of life on this replica's clock; so is a Lease
    // still missing when first looked at (a node that just registered: kube's startup grace).
    if (!previous || previous.renewTime !== renewTime) this.observed.set(node, { renewTime, since: now, evidence: previous !== undefined || renewTime === '' });
    const observed = this.observed.get(node)!;
    const renewed = renewTime ? Date.parse(renewTime) : 0;
    if (now - renewed < gracePeriodMs) return;
    if (observed.evidence && now - observed.since < gracePeriodMs) return;
    this.marked.set(node, now);
    this.options.logger.info({ node, leaseAgeMs: renewed ? now - renewed : null }, 'edge node stopped reporting; marking NotReady');
    this.options.registrar.markUnknown(node, renewed || now);
  }

  private forgetGone(nodes: Set<string>): void {
    for (const node of this.observed.keys()) if (!nodes.has(node)) this.observed.delete(node);
    for (const node of this.marked.keys()) if (!nodes.has(node)) this.marked.delete(node);
  }
}
