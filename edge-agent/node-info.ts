/** What the agent tells the hub about its device: architecture, OS, capacity, labels, registration taints. */
import os from 'node:os';
import type { JsonObject, NodeInfo } from '../protocol/index.js';
import { nodeSystemInfo } from '../protocol/kube/node-system-info.js';

/** Node's `process.arch` in Kubernetes' GOARCH spelling. */
export function kubeArch(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return arch;
  }
}

export type NodeTaint = NonNullable<NodeInfo['taints']>[number];

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/**
 * The kubelet's `--register-with-taints` syntax: `key[=value]:effect`, comma-separated (e.g.
 * `node-role.kubernetes.io/edge:NoSchedule`). Throws on a malformed entry; the hub checks keys
 * and values as Kubernetes does.
 */
export function parseTaints(text: string): NodeTaint[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const colon = part.lastIndexOf(':');
      const effect = colon > 0 ? part.slice(colon + 1) : '';
      if (!TAINT_EFFECTS.includes(effect)) throw new Error(`expected key[=value]:effect with effect ${TAINT_EFFECTS.join(', ')}, got "${part}"`);
      const keyValue = part.slice(0, colon);
      const eq = keyValue.indexOf('=');
      const key = eq >= 0 ? keyValue.slice(0, eq) : keyValue;
      if (key.length === 0) throw new Error(`a taint needs a key, got "${part}"`);
      return eq >= 0 ? { key, value: keyValue.slice(eq + 1), effect } : { key, effect };
    });
}

export interface NodeInfoOptions {
  labels?: Record<string, string>;
  /** Taints for the Node when the hub registers it. */
  taints?: NodeTaint[];
  /** Pods the node accepts (kubelet default 110). */
  maxPods?: number;
}

export function collectNodeInfo(options: NodeInfoOptions = {}): NodeInfo {
  const memoryKi = `${Math.floor(os.totalmem() / 1024)}Ki`;
  const capacity = { cpu: String(os.cpus().length || 1), memory: memoryKi, pods: String(options.maxPods ?? 110) };
  const addresses = [{ type: 'Hostname', address: os.hostname() }];
  for (const list of Object.values(os.networkInterfaces())) {
    const external = list?.find((address) => address.family === 'IPv4' && !address.internal);
    if (external) {
      addresses.unshift({ type: 'InternalIP', address: external.address });
      break;
    }
  }
  return {
    arch: kubeArch(),
    os: process.platform,
    kernel: os.release(),
    hostname: os.hostname(),
    capacity,
    allocatable: capacity,
    labels: options.labels ?? {},
    addresses,
    ...(options.taints && options.taints.length > 0 ? { taints: options.taints } : {}),
  };
}

/**
 * The status of this node as the agent itself sees it, for its local API (the hub's copy of
 * the Node in the cache carries none): Ready (the agent is running and serving), capacity,
 * addresses and nodeInfo as the hub's node registrar writes them upstream, the kubelet version
 * being the agent's (`edge-sync/VERSION`).
 */
export function localNodeStatus(info: NodeInfo, agentVersion: string, since: Date, now: Date): JsonObject {
  return {
    capacity: info.capacity,
    allocatable: info.allocatable ?? info.capacity,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'edge-agent is running and serving its local API',
        lastHeartbeatTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        lastTransitionTime: since.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    ],
    addresses: (info.addresses ?? []) as JsonObject[],
    nodeInfo: nodeSystemInfo(info, agentVersion),
  };
}
