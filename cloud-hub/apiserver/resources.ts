/**
 * The resources the embedded API serves, described once: discovery, routing, storage keys,
 * validation and table printing all read this list, so adding a kind is adding an entry (plus
 * its kind-specific rules in strategy.ts and tables.ts, if it has any).
 */

export type NameRule = 'dns1123-subdomain' | 'dns1123-label';

export interface ResourceDefinition {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Plural lower-case name used in paths: `pods`. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Has a `status` subresource: main-resource writes keep the old status, status writes keep everything else. */
  statusSubresource: boolean;
  nameRule: NameRule;
  /** metadata.generation is 1 at creation and bumped when spec changes (and on graceful deletion). */
  tracksGeneration: boolean;
  /** PUT of a missing object creates it (kube: events, leases). */
  allowCreateOnUpdate: boolean;
  /** PUT without metadata.resourceVersion overwrites (kube: everything here but leases). */
  allowUnconditionalUpdate: boolean;
  /** DELETE answers with the object (pods, namespaces) rather than a Success Status. */
  returnDeletedObject: boolean;
}

export function apiVersionOf(def: Pick<ResourceDefinition, 'group' | 'version'>): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** The storage and watch key of a resource: `pods`, `leases.coordination.k8s.io`. */
export function resourceKey(def: Pick<ResourceDefinition, 'group' | 'resource'>): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

const core = { group: '', version: 'v1' } as const;

const defaults = {
  shortNames: [] as string[],
  categories: [] as string[],
  statusSubresource: false,
  nameRule: 'dns1123-subdomain' as NameRule,
  tracksGeneration: false,
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  returnDeletedObject: false,
};

export const RESOURCES: readonly ResourceDefinition[] = [
  {
    ...defaults,
    ...core,
    kind: 'Pod',
    resource: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    statusSubresource: true,
    tracksGeneration: true,
    returnDeletedObject: true,
  },
  { ...defaults, ...core, kind: 'ConfigMap', resource: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] },
  { ...defaults, ...core, kind: 'Secret', resource: 'secrets', singular: 'secret', namespaced: true },
  { ...defaults, ...core, kind: 'Node', resource: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], statusSubresource: true },
  { ...defaults, ...core, kind: 'Event', resource: 'events', singular: 'event', namespaced: true, shortNames: ['ev'], allowCreateOnUpdate: true },
  {
    ...defaults,
    ...core,
    kind: 'Namespace',
    resource: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
    nameRule: 'dns1123-label',
    returnDeletedObject: true,
  },
  {
    ...defaults,
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    resource: 'leases',
    singular: 'lease',
    namespaced: true,
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: false,
  },
];

/** Namespaces that exist from the start; the first three can never be deleted (as in kube). */
/** The namespace an object is stored under: '' for cluster-scoped kinds, whatever the path said. */
export function storedNamespace(def: Pick<ResourceDefinition, 'namespaced'>, namespace: string): string {
  return def.namespaced ? namespace : '';
}

export const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;
export const UNDELETABLE_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public']);

/** Lookup of resource definitions by group/version/resource and by storage key. */
export class ResourceCatalog {
  private readonly byPath = new Map<string, ResourceDefinition>();
  private readonly byKey = new Map<string, ResourceDefinition>();

  constructor(readonly definitions: readonly ResourceDefinition[] = RESOURCES) {
    for (const def of definitions) {
      this.byPath.set(`${def.group}/${def.version}/${def.resource}`, def);
      this.byKey.set(resourceKey(def), def);
    }
  }

  find(group: string, version: string, resource: string): ResourceDefinition | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`);
  }

  byResourceKey(key: string): ResourceDefinition | undefined {
    return this.byKey.get(key);
  }

  get(group: string, resource: string): ResourceDefinition {
    for (const def of this.definitions) if (def.group === group && def.resource === resource) return def;
    throw new Error(`no resource ${resource} in group ${JSON.stringify(group)}`);
  }

  /** Group versions in discovery order, core first. */
  groupVersions(): { group: string; version: string }[] {
    const seen = new Set<string>();
    const out: { group: string; version: string }[] = [];
    for (const def of this.definitions) {
      const key = `${def.group}/${def.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ group: def.group, version: def.version });
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceDefinition[] {
    return this.definitions.filter((def) => def.group === group && def.version === version);
  }

  namespacedResources(): ResourceDefinition[] {
    return this.definitions.filter((def) => def.namespaced);
  }
}
