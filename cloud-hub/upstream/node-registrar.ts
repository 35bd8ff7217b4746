/**
 * Makes a connecting node a Kubernetes Node: creates the Node if it is missing (with the edge
 * role label and the labels the agent sent) and writes its status (capacity, node info,
 * Ready) on every connect. Status is written on change only, never on a timer: liveness
 * travels in the node's Lease (see lease-renewer.ts), as with a kubelet.
 */
import type { Logger } from 'pino';
import { formatKey, type NodeInfo } from '../../protocol/index.js';
import { isConflict, type KubeClient } from '../kube/kube-client.js';
import type { ObjectStore } from '../source/object-store.js';
import { kubeTime, paths } from './kube-paths.js';
import type { WriteQueue, WriteResult } from './write-queue.js';

export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';

export interface NodeRegistrarDeps {
  client: KubeClient;
  store: ObjectStore;
  writes: WriteQueue;
  logger: Logger;
}

export class NodeRegistrar {
  constructor(private readonly deps: NodeRegistrarDeps) {}

  /** The node (re)connected and described itself. */
  connected(node: string, info: NodeInfo, agentVersion: string, settled?: (result: WriteResult) => void): void {
    this.deps.writes.submit(`NodeStatus/${node}`, 'Node', () => this.register(node, info, agentVersion), settled);
  }

  /** Marks the node not ready: its agent stopped reporting (called by the health monitor). */
  markUnknown(node: string, since: number, settled?: (result: WriteResult) => void): void {
    this.deps.writes.submit(
      `NodeStatus/${node}`,
      'Node',
      async () => {
        await this.deps.client.mergePatch(paths.nodeStatus(node), {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'Unknown',
                reason: 'NodeStatusUnknown',
                message: 'Edge agent stopped posting node status.',
                lastHeartbeatTime: kubeTime(since),
                lastTransitionTime: kubeTime(Date.now()),
              },
            ],
          },
        });
      },
      settled,
    );
  }

  private async register(node: string, info: NodeInfo, agentVersion: string): Promise<void> {
    const { client, store, logger } = this.deps;
    if (!store.get(formatKey('Node', '', node))) {
      try {
        await client.create(paths.nodes, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: node,
            labels: {
              ...info.labels,
              [EDGE_ROLE_LABEL]: '',
              'kubernetes.io/arch': info.arch,
              'kubernetes.io/os': info.os,
              'kubernetes.io/hostname': info.hostname ?? node,
            },
          },
          spec: {},
        });
        logger.info({ node }, 'registered edge node');
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    const now = Date.now();
    await client.mergePatch(paths.nodeStatus(node), {
      status: {
        capacity: info.capacity,
        allocatable: info.allocatable ?? info.capacity,
        addresses: info.addresses ?? [{ type: 'Hostname', address: info.hostname ?? node }],
        nodeInfo: {
          architecture: info.arch,
          operatingSystem: info.os,
          kernelVersion: info.kernel ?? '',
          osImage: info.os,
          kubeletVersion: `edge-sync/${agentVersion}`,
          kubeProxyVersion: '',
          containerRuntimeVersion: 'process://',
          machineID: '',
          systemUUID: '',
          bootID: '',
        },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'EdgeAgentReady',
            message: 'edge agent is connected and posting heartbeats',
            lastHeartbeatTime: kubeTime(now),
            lastTransitionTime: kubeTime(now),
          },
        ],
      },
    });
  }
}
