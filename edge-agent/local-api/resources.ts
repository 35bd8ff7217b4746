/**
 * The resources the local API serves: exactly the kinds the agent caches (the hub sends a node
 * its Node, its Pods and the ConfigMaps and Secrets they reference). One table drives routing,
 * discovery and the Kind of list bodies, so adding a kind is one entry here.
 */

export interface ResourceInfo {
  /** Plural, as in the URL: `pods`. */
  resource: string;
  singular: string;
  /** The object kind and the kind part of its cache key: `Pod`. */
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
}

export const RESOURCES: readonly ResourceInfo[] = [
  { resource: 'pods', singular: 'pod', kind: 'Pod', listKind: 'PodList', namespaced: true, shortNames: ['po'], categories: ['all'] },
  { resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', listKind: 'ConfigMapList', namespaced: true, shortNames: ['cm'], categories: [] },
  { resource: 'secrets', singular: 'secret', kind: 'Secret', listKind: 'SecretList', namespaced: true, shortNames: [], categories: [] },
  { resource: 'nodes', singular: 'node', kind: 'Node', listKind: 'NodeList', namespaced: false, shortNames: ['no'], categories: [] },
];

/** Everything is core/v1: the cached kinds all live in the legacy group. */
export const API_VERSION = 'v1';

const byResource = new Map(RESOURCES.map((info) => [info.resource, info]));

export function resourceNamed(resource: string): ResourceInfo | undefined {
  return byResource.get(resource);
}
