/** API paths and time formats for the objects the hub writes. */

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export const paths = {
  nodes: '/api/v1/nodes',
  node: (name: string) => `/api/v1/nodes/${encodeURIComponent(name)}`,
  nodeStatus: (name: string) => `/api/v1/nodes/${encodeURIComponent(name)}/status`,
  podStatus: (namespace: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/status`,
  pod: (namespace: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
  leases: (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`,
  lease: (namespace: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`,
  events: (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
  secrets: (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
  secret: (namespace: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
  namespaces: '/api/v1/namespaces',
} as const;

/** Kubernetes `Time` and `MicroTime`, written once for the hub, its API server and the agent. */
export { kubeMicroTime, kubeTime } from '../../protocol/kube/index.js';
