/** The Kubernetes kinds the hub watches, and where they live in the API. */

export type WatchedKind = 'Pod' | 'ConfigMap' | 'Secret' | 'Node';

export interface KindInfo {
  kind: WatchedKind;
  apiVersion: string;
  /** Cluster-wide list/watch path. */
  path: string;
  namespaced: boolean;
}

export const WATCHED_KINDS: Record<WatchedKind, KindInfo> = {
  Pod: { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', namespaced: true },
  ConfigMap: { kind: 'ConfigMap', apiVersion: 'v1', path: '/api/v1/configmaps', namespaced: true },
  Secret: { kind: 'Secret', apiVersion: 'v1', path: '/api/v1/secrets', namespaced: true },
  Node: { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes', namespaced: false },
};
