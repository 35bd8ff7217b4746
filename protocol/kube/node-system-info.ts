/**
 * A Node's `status.nodeInfo` as the kubelet fills it, from what an agent says about its
 * machine in hello: the hub writes it to the cluster, the agent's local API serves its own Node
 * with it, and both must show the same (kubectl get node -o wide reads it).
 */
import type { JsonObject } from '../json.js';
import type { NodeInfo } from '../frames.js';

export function nodeSystemInfo(info: NodeInfo, agentVersion: string): JsonObject {
  return {
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
  };
}
