/**
 * The Kubernetes kinds the hub watches, where they live in the API, and the event its informers
 * (cloud-hub/source/) hand to every handler subscribed to them: the fleet view (cloud-hub/fleet/)
 * and the node tokens (cloud-hub/auth/token-store.ts), as client-go's shared informers do.
 */
import type { JsonObject } from '../../protocol/index.js';

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

/** One change to a watched object, as the informers report it. */
export interface WatchEvent {
  kind: WatchedKind;
  type: 'upsert' | 'delete';
  /** The projected object (cloud-hub/source/projection.ts). */
  obj: JsonObject;
  /** When the hub saw the event (ms since the epoch), for delivery latency. */
  at: number;
}

/** Takes the informers' events; each handler sees every event and keeps what concerns it. */
export interface WatchEventHandler {
  apply(event: WatchEvent): void;
}
