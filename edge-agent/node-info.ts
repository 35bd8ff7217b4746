/** What the agent tells the hub about its device: architecture, OS, capacity, labels, registration taints. */
import os from 'node:os';
import type { JsonObject, NodeInfo } from '../protocol/index.js';
import { nodeSystemInfo } from '../protocol/kube/node-system-info.js';
import { parseBytes, parseCpuMillis } from '../protocol/kube/quantity.js';

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
  /** What the agent keeps back from Pods (--system-reserved plus --kube-reserved), summed: allocatable = capacity minus this. */
  reserved?: Reserved;
}

/** Reserved resources: CPU in millicores, memory in bytes. */
export interface Reserved {
  cpuMillis: number;
  memoryBytes: number;
}

const RESERVABLE = ['cpu', 'memory'];

/**
 * The kubelet's `--system-reserved` / `--kube-reserved` syntax: `cpu=500m,memory=256Mi`
 * (cpu and memory; quantities as Kubernetes writes them). Throws on anything else.
 */
export function parseReserved(text: string): Reserved {
  const out: Reserved = { cpuMillis: 0, memoryBytes: 0 };
  for (const part of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = eq > 0 ? part.slice(0, eq).trim() : '';
    const value = part.slice(eq + 1).trim();
    if (!RESERVABLE.includes(name)) throw new Error(`expected ${RESERVABLE.map((r) => `${r}=QUANTITY`).join(',')}, got "${part}"`);
    const parsed = name === 'cpu' ? parseCpuMillis(value) : parseBytes(value);
    if (parsed === undefined) throw new Error(`${name}: "${value}" is not a quantity (e.g. cpu=500m, memory=256Mi)`);
    if (name === 'cpu') out.cpuMillis += parsed;
    else out.memoryBytes += parsed;
  }
  return out;
}

/** Capacity minus the reservation, never below zero, in the kubelet's units (cpu in m unless whole cores, memory in Ki). */
export function allocatable(capacity: { cpu: string; memory: string; pods: string }, reserved: Reserved | undefined): { cpu: string; memory: string; pods: string } {
  if (!reserved) return capacity;
  const cpu = Math.max(0, (parseCpuMillis(capacity.cpu) ?? 0) - reserved.cpuMillis);
  const memoryKi = Math.max(0, Math.floor(((parseBytes(capacity.memory) ?? 0) - reserved.memoryBytes) / 1024));
  return { cpu: cpu % 1000 === 0 ? String(cpu / 1000) : `${cpu}m`, memory: `${memoryKi}Ki`, pods: capacity.pods };
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
    allocatable: allocatable(capacity, options.reserved),
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
