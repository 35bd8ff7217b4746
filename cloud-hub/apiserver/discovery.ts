/**
 * Discovery documents, generated from the resource catalog: /version, /api, /api/v1, /apis,
 * /apis/GROUP, /apis/GROUP/VERSION (the "legacy" discovery kubectl and client-go fall back to
 * when the server does not answer in the aggregated format; the documents' shapes are
 * protocol/kube/discovery.ts, shared with the agent's local API), and a minimal OpenAPI v3.
 *
 * Why OpenAPI at all: `kubectl create/apply/replace` validate by default (`--validate=strict`)
 * and check the OpenAPI v3 document of the group version for a PATCH operation of the kind that
 * takes the `fieldValidation` query parameter. If it finds one it leaves validation to the
 * server; without any OpenAPI it fails with "failed to download openapi". So each kind gets a
 * path with just that operation (no schemas). Strategic merge is deliberately not listed as a
 * PATCH content type there: kubectl then computes apply/edit patches from its built-in types.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../../protocol/index.js';
import { apiGroup, apiGroupList, apiResourceList, coreApiVersions, versionInfo, type ApiResource } from '../../protocol/kube/index.js';
import { PATCH_TYPES } from './patch.js';
import { apiVersionOf, type ResourceCatalog, type ResourceDefinition } from './resources.js';
import { REVIEW_DISCOVERY } from './reviews.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** What /version reports: edge-sync's build of the Kubernetes minor kubectl 1.32 expects. */
export const SERVER_BUILD = { gitVersion: 'v1.32.0+edge-sync', buildDate: '2026-01-01T00:00:00Z' } as const;

function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export class Discovery {
  private readonly openApiByPath = new Map<string, { body: string; hash: string }>();

  constructor(private readonly catalog: ResourceCatalog) {
    for (const { group, version } of catalog.groupVersions()) {
      const body = JSON.stringify(this.openApiFor(group, version));
      this.openApiByPath.set(groupVersionPath(group, version), { body, hash: createHash('sha256').update(body).digest('hex').slice(0, 32).toUpperCase() });
    }
  }

  /** The document at a non-resource path (a string: OpenAPI, already serialized), or undefined when there is none. */
  document(pathname: string, serverAddress: string): JsonObject | string | undefined {
    const parts = pathname.split('/').filter((part) => part !== '');
    if (pathname === '/version') return this.version();
    if (pathname === '/api') return this.coreVersions(serverAddress);
    if (pathname === '/apis') return this.groupList();
    if (parts[0] === 'api' && parts.length === 2) return this.resourceList('', parts[1] as string);
    if (parts[0] === 'apis' && parts.length === 2) return this.group(parts[1] as string);
    if (parts[0] === 'apis' && parts.length === 3) return this.resourceList(parts[1] as string, parts[2] as string);
    if (pathname === '/openapi/v3') return this.openApiRoot();
    if (parts[0] === 'openapi' && parts[1] === 'v3') return this.openApiDocument(parts.slice(2).join('/'));
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
    const versions = [...this.catalog.groupVersions(), ...REVIEW_DISCOVERY].filter((gv) => gv.group === name && name !== '');
    if (versions.length === 0) return undefined;
    return apiGroup(name, versions.map((gv) => gv.version));
  }

  /** GET /api/v1 or /apis/GROUP/VERSION, or undefined for an unknown group version. */
  resourceList(group: string, version: string): JsonObject | undefined {
    const review = REVIEW_DISCOVERY.find((gv) => gv.group === group && gv.version === version);
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

  /** GET /openapi/v3: where each group version's document is. */
  openApiRoot(): JsonObject {
    const paths: JsonObject = {};
    for (const [path, doc] of this.openApiByPath) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${doc.hash}` };
    return { paths };
  }

  /** GET /openapi/v3/api/v1 and the like: the serialized document, or undefined. */
  openApiDocument(path: string): string | undefined {
    return this.openApiByPath.get(path)?.body;
  }

  private groups(): string[] {
    return [...new Set([...this.catalog.groupVersions(), ...REVIEW_DISCOVERY].map((gv) => gv.group))].filter((group) => group !== '');
  }

  private openApiFor(group: string, version: string): JsonObject {
    const paths: JsonObject = {};
    for (const def of this.catalog.inGroupVersion(group, version)) {
      const prefix = `/${groupVersionPath(group, version)}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.resource}`;
      paths[`${prefix}/{name}`] = { patch: patchOperation(def) };
    }
    return { openapi: '3.0.0', info: { title: 'edge-sync embedded API', version: SERVER_BUILD.gitVersion }, paths, components: {} };
  }
}

function patchOperation(def: ResourceDefinition): JsonObject {
  const content: JsonObject = {};
  for (const type of [PATCH_TYPES.json, PATCH_TYPES.merge]) content[type] = { schema: { type: 'object' } };
  return {
    operationId: `patch${def.kind}`,
    'x-kubernetes-action': 'patch',
    'x-kubernetes-group-version-kind': { group: def.group, version: def.version, kind: def.kind },
    parameters: [
      { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
      { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
      { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
    ],
    requestBody: { content },
    responses: { '200': { description: 'OK' } },
    description: `partially update the specified ${def.kind} (${apiVersionOf(def)})`,
  };
}
