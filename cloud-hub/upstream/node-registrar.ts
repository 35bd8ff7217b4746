/**
 * Makes a connecting node a Kubernetes Node: creates the Node if it is missing (with the edge
 * role label and the labels the node may set on itself, see node-self-report.ts) and writes
 * its status (capacity, node info, addresses, Ready) on every connect. Status is written on
 * change only, never on a timer: liveness travels in the node's Lease (see lease-renewer.ts),
 * as with a kubelet. The health monitor flips Ready to Unknown when the Lease goes stale, and
 * the first renewal after that flips it back.
 *
 * All of a node's status writes share one key in the write queue's heartbeat lane, and each
 * write sends what is wanted when it runs: a NotReady mark arriving while a registration
 * waits does not erase the registration, and the latest Ready state always wins.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { formatKey, type NodeInfo } from '../../protocol/index.js';
import { nodeSystemInfo } from '../../protocol/kube/node-system-info.js';
import type { FleetView } from '../fleet/fleet-view.js';
import { isConflict, type KubeClient } from '../kube/kube-client.js';
import { kubeMicroTime, kubeTime, paths } from '../kube/kube-paths.js';
import { sanitizeNodeInfo } from './node-self-report.js';
import type { WriteQueue, WriteResult } from './write-queue.js';

export { EDGE_ROLE_LABEL } from './node-self-report.js';

export interface NodeRegistrarDeps {
  client: KubeClient;
  /** The Node as the hub's informer has it: created only when missing. */
  fleet: FleetView;
  writes: WriteQueue;
  logger: Logger;
  /**
   * The hub's kubelet endpoint port, written as status.daemonEndpoints.kubeletEndpoint.Port:
   * where kube-apiserver dials the Node's address for logs, exec and stats (deploy/README.md).
   */
  kubeletPort?: () => number | undefined;
}

interface ReadyState {
  status: 'True' | 'Unknown';
  /** Last time the node was heard from (ms). */
  heartbeat: number;
}

/** What the next status write for a node sends. Replaced, never mutated, so a write can tell it was superseded. */
interface Wanted {
  registration?: { info: NodeInfo; agent: string };
  ready: ReadyState;
}

const READY_TRUE = { reason: 'EdgeAgentReady', message: 'edge agent is connected and posting heartbeats' };
const READY_UNKNOWN = { reason: 'NodeStatusUnknown', message: 'Edge agent stopped posting node status.' };

export class NodeRegistrar {
  private readonly wanted = new Map<string, Wanted>();

  constructor(private readonly deps: NodeRegistrarDeps) {}

  /** The node (re)connected and described itself. */
  connected(node: string, info: NodeInfo, agentVersion: string, settled?: (result: WriteResult) => void): void {
    this.want(node, { registration: { info, agent: agentVersion }, ready: { status: 'True', heartbeat: Date.now() } }, settled);
  }

  /** Marks the node not ready: its agent stopped reporting (called by the health monitor). */
  markUnknown(node: string, since: number, settled?: (result: WriteResult) => void): void {
    const previous = this.wanted.get(node);
    this.want(node, { ...previous, ready: { status: 'Unknown', heartbeat: since } }, settled);
  }

  /** Marks the node ready again: its heartbeats renewed its Lease while it was marked not ready. */
  markReady(node: string, settled?: (result: WriteResult) => void): void {
    const previous = this.wanted.get(node);
    this.want(node, { ...previous, ready: { status: 'True', heartbeat: Date.now() } }, settled);
  }

  private want(node: string, wanted: Wanted, settled?: (result: WriteResult) => void): void {
    this.wanted.set(node, wanted);
    this.deps.writes.submit({ key: `NodeStatus/${node}`, kind: 'Node', node, lane: 'heartbeat', run: () => this.write(node), ...(settled ? { settled } : {}) });
  }

  private async write(node: string): Promise<void> {
    const wanted = this.wanted.get(node);
    if (!wanted) return;
    const condition = this.readyCondition(wanted.ready);
    if (wanted.registration) await this.register(node, wanted.registration.info, wanted.registration.agent, condition);
    else await this.deps.client.mergePatch(paths.nodeStatus(node), { status: { conditions: [condition] } });
    if (wanted.ready.status === 'True' && !wanted.registration) this.deps.logger.info({ node }, 'edge node reporting again; marked Ready');
    // Only what this write sent is done; a newer wish waits for its own write.
    if (this.wanted.get(node) === wanted) this.wanted.delete(node);
  }

  private readyCondition(ready: ReadyState): Record<string, string> {
    const now = Date.now();
    return {
      type: 'Ready',
      status: ready.status,
      ...(ready.status === 'True' ? READY_TRUE : READY_UNKNOWN),
      lastHeartbeatTime: kubeTime(ready.heartbeat),
      lastTransitionTime: kubeTime(now),
    };
  }

  private async register(node: string, info: NodeInfo, agentVersion: string, ready: Record<string, string>): Promise<void> {
    const { client, fleet, logger } = this.deps;
    const report = sanitizeNodeInfo(node, info);
    const stored = fleet.get(formatKey('Node', '', node));
    let uid = stored ? (JSON.parse(stored.json) as { metadata?: { uid?: string } }).metadata?.uid : undefined;
    if (!stored) {
      try {
        const created = await client.create<{ metadata?: { uid?: string } }>(paths.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: report.labels }, spec: report.taints.length > 0 ? { taints: report.taints } : {} });
        uid = created?.metadata?.uid;
        logger.info({ node }, 'registered edge node');
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    // Before the status: once the node shows Ready, what was refused is already on record.
    if (report.dropped.length > 0) await this.reportDropped(node, uid, report.dropped);
    await client.mergePatch(paths.nodeStatus(node), {
      status: {
        capacity: report.capacity,
        allocatable: report.allocatable,
        addresses: report.addresses,
        nodeInfo: nodeSystemInfo(info, agentVersion),
        ...(this.deps.kubeletPort?.() !== undefined ? { daemonEndpoints: { kubeletEndpoint: { Port: this.deps.kubeletPort() } } } : {}),
        conditions: [ready],
      },
    });
  }

  /** Tells the node's owner what the hub refused: a warning log and a Warning Event on the Node. */
  private async reportDropped(node: string, uid: string | undefined, dropped: string[]): Promise<void> {
    const { client, logger } = this.deps;
    logger.warn({ node, dropped }, 'dropped what the node may not say about itself');
    const full = `Dropped what the node may not say about itself: ${dropped.join('; ')}`;
    const message = full.length <= 4096 ? full : `${full.slice(0, 4000)}... (${dropped.length} items; the hub's log has them all)`;
    const now = Date.now();
    // Named after what was dropped: a node reconnecting with the same info records it once.
    const name = `${node}.edge-node-info-${createHash('sha256').update(dropped.join('\n')).digest('hex').slice(0, 16)}`;
    try {
      await client.create(paths.events('default'), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: 'default', labels: { 'edge-sync.io/node': node } },
        involvedObject: { apiVersion: 'v1', kind: 'Node', name: node, ...(uid ? { uid } : {}) },
        reason: 'NodeInfoRefused',
        message,
        type: 'Warning',
        count: 1,
        firstTimestamp: kubeTime(now),
        lastTimestamp: kubeTime(now),
        eventTime: kubeMicroTime(now),
        source: { component: 'cloud-hub' },
        reportingComponent: 'edge-sync.io/cloud-hub',
        reportingInstance: 'cloud-hub',
        action: 'Register',
      });
    } catch (err) {
      // Recorded before; or the Event could not be written, which must not fail the registration.
      if (!isConflict(err)) logger.warn({ node, err: (err as Error).message }, 'could not record the refused node info as an Event');
    }
  }
}
