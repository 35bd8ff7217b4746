/**
 * Discovery documents, generated from the resource catalog: /version, /api, /api/v1, /apis,
 * /apis/GROUP, /apis/GROUP/VERSION (the "legacy" discovery kubectl and client-go fall back to
 * when the server does not answer in the aggregated format; the documents' shapes are
 * protocol/kube/discovery.ts, shared with the agent's local API), and the OpenAPI documents
 * (openapi.ts).
 */
import type { JsonObject } from '../../protocol/index.js';
import { apiGroup, apiGroupList, apiResourceList, coreApiVersions, versionInfo, type ApiResource } from '../../protocol/kube/index.js';
import { OpenApiDocuments } from './openapi.js';
import type { ResourceCatalog } from './resources.js';
import { REVIEW_DISCOVERY } from './reviews.js';
import { KubeSchemas } from './schema/schema-store.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** What /version reports: edge-sync's build of the Kubernetes minor kubectl 1.32 expects. */
export const SERVER_BUILD = { gitVersion: 'v1.32.0+edge-sync', buildDate: '2026-01-01T00:00:00Z' } as const;

export class Discovery {
  private readonly openApi: OpenApiDocuments;

  private readonly extra: readonly { group: string; version: string; resources: ApiResource[] }[];

  constructor(
    private readonly catalog: ResourceCatalog,
    schemas: KubeSchemas = new KubeSchemas(),
    /** Group versions served outside the catalog (metrics.k8s.io); the reviews are always there. */
    extra: readonly { group: string; version: string; resources: ApiResource[] }[] = [],
  ) {
    this.extra = [...REVIEW_DISCOVERY, ...extra];
    this.openApi = new OpenApiDocuments(catalog, schemas, 'Kubernetes', SERVER_BUILD.gitVersion);
  }

  /** The document at a non-resource path (a string: OpenAPI, already serialized), or undefined when there is none. */
  document(pathname: string, serverAddress: string, accept?: string): JsonObject | string | undefined {
    const parts = pathname.split('/').filter((part) => part !== '');
    if (pathname === '/version') return this.version();
    if (pathname === '/api') return this.coreVersions(serverAddress);
    if (pathname === '/apis') return this.groupList();
    if (parts[0] === 'api' && parts.length === 2) return this.resourceList('', parts[1] as string);
    if (parts[0] === 'apis' && parts.length === 2) return this.group(parts[1] as string);
    if (parts[0] === 'apis' && parts.length === 3) return this.resourceList(parts[1] as string, parts[2] as string);
    if (parts[0] === 'openapi') return this.openApi.document(pathname, accept);
    return undefined;
  }

  version(): JsonObject {
    return versionInfo(SERVER_BUILD);
  }

  /** GET /api */
  coreVersions(serverAddress: string): JsonObject {
    return coreApiVersions(serverAddress);
  }

  /** GET /apis */
  groupList(): JsonObject {
    return apiGroupList(this.groups().map((group) => this.group(group) as JsonObject));
  }

  /** GET /apis/GROUP, or undefined for an unknown group. */
  group(name: string): JsonObject | undefined {
    const versions = [...this.catalog.groupVersions(), ...this.extra].filter((gv) => gv.group === name && name !== '');
    if (versions.length === 0) return undefined;
    return apiGroup(name, versions.map((gv) => gv.version));
  }

  /** GET /api/v1 or /apis/GROUP/VERSION, or undefined for an unknown group version. */
  resourceList(group: string, version: string): JsonObject | undefined {
    const review = this.extra.find((gv) => gv.group === group && gv.version === version);
    if (review) return apiResourceList(`${group}/${version}`, review.resources);
    const defs = this.catalog.inGroupVersion(group, version);
    if (defs.length === 0) return undefined;
    const resources: ApiResource[] = [];
    for (const def of defs) {
      resources.push({ name: def.resource, singularName: def.singular, namespaced: def.namespaced, kind: def.kind, verbs: VERBS, shortNames: def.shortNames, categories: def.categories });
      if (def.statusSubresource) resources.push({ name: `${def.resource}/status`, singularName: '', namespaced: def.namespaced, kind: def.kind, verbs: ['get', 'patch', 'update'] });
      if (def.kind === 'Pod') {
        resources.push({ name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
        // kubectl drain evicts (rather than deletes) when /api/v1 lists pods/eviction with its group and version.
        resources.push({ name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
      }
    }
    return apiResourceList(group ? `${group}/${version}` : version, resources);
  }

  private groups(): string[] {
    return [...new Set([...this.catalog.groupVersions(), ...this.extra].map((gv) => gv.group))].filter((group) => group !== '');
  }
}
