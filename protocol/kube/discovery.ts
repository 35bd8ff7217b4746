/**
 * The discovery documents kubectl and client libraries read before they list or watch, in the
 * "legacy" (non-aggregated) format: /version, /api, /apis, /apis/GROUP and the resource lists of
 * /api/v1 and /apis/GROUP/VERSION. kubectl 1.32 asks for the aggregated format first and falls
 * back to this one when the answer is plain `application/json`.
 */
import type { JsonObject, JsonValue } from '../json.js';

/** Which build /version reports; the rest of the document is the same for both APIs. */
export interface ServerBuild {
  gitVersion: string;
  buildDate: string;
}

/** GET /version: the Kubernetes minor kubectl 1.32 expects, marked as edge-sync's build. */
export function versionInfo(build: ServerBuild): JsonObject {
  return {
    major: '1',
    minor: '32',
    gitVersion: build.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: build.buildDate,
    goVersion: 'n/a (Node.js)',
    compiler: 'n/a',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

/** GET /api. `serverAddress` is host:port as clients reach the server. */
export function coreApiVersions(serverAddress: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** GET /apis/GROUP: the group with its versions, the first one preferred. */
export function apiGroup(name: string, versions: readonly string[]): JsonObject {
  const entry = (version: string): JsonObject => ({ groupVersion: `${name}/${version}`, version });
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: versions.map(entry), preferredVersion: entry(versions[0] ?? '') };
}

/** GET /apis: every group but the core one. */
export function apiGroupList(groups: readonly JsonObject[]): JsonObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups] };
}

/** One resource (or subresource, `pods/status`) of a resource list. */
export interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  /** For a subresource whose kind is in another group (`pods/eviction` is policy/v1 Eviction). */
  group?: string;
  version?: string;
  verbs: readonly string[];
  shortNames?: readonly string[];
  categories?: readonly string[];
}

/** An APIResourceList entry; empty shortNames and categories are left out, as kube does. */
export function apiResource(resource: ApiResource): JsonObject {
  const entry: JsonObject = { name: resource.name, singularName: resource.singularName, namespaced: resource.namespaced };
  if (resource.group !== undefined) entry.group = resource.group;
  if (resource.version !== undefined) entry.version = resource.version;
  entry.kind = resource.kind;
  entry.verbs = [...resource.verbs];
  if (resource.shortNames && resource.shortNames.length > 0) entry.shortNames = [...resource.shortNames];
  if (resource.categories && resource.categories.length > 0) entry.categories = [...resource.categories];
  return entry;
}

/** GET /api/v1 or /apis/GROUP/VERSION. */
export function apiResourceList(groupVersion: string, resources: readonly ApiResource[]): JsonObject {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: resources.map((resource) => apiResource(resource) as JsonValue) };
}
