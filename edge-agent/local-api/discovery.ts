/**
 * The discovery documents kubectl and client libraries read before they list or watch:
 * `/version`, `/api`, `/api/v1`, `/apis`. This is the "legacy" discovery format; kubectl 1.32
 * asks for the aggregated format first and falls back to this one when the answer is plain
 * `application/json`, which costs it one request more and nothing else.
 *
 * Every resource is listed with only the verbs served (get, list, watch): clients that read
 * discovery (kubectl auth can-i, controller tooling) then know writes are not available here.
 * Secrets stay listed when they are not served: `kubectl get secrets` then shows the 403 that
 * names `--local-api-secrets`, instead of "the server doesn't have a resource type", which would
 * send the user looking for a typo.
 */
import type { JsonObject, JsonValue } from '../../protocol/index.js';
import { API_VERSION, RESOURCES } from './resources.js';

const VERBS = ['get', 'list', 'watch'];

/** The Kubernetes version the API answers as: the one whose client (kubectl 1.32) it was tested with. */
export const SERVER_VERSION: JsonObject = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+edge-sync-local',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '1970-01-01T00:00:00Z',
  goVersion: 'n/a (Node.js)',
  compiler: 'n/a',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export function versionDocument(): JsonObject {
  return { ...SERVER_VERSION };
}

/** GET /api. `serverAddress` is host:port as the client reached it. */
export function coreApiVersions(serverAddress: string): JsonObject {
  return { kind: 'APIVersions', versions: [API_VERSION], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** GET /apis: the cached kinds are all core/v1, so there are no groups. */
export function apiGroupList(): JsonObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

/** GET /api/v1 */
export function coreResourceList(): JsonObject {
  const resources: JsonValue[] = RESOURCES.map((info) => {
    const entry: JsonObject = { name: info.resource, singularName: info.singular, namespaced: info.namespaced, kind: info.kind, verbs: [...VERBS] };
    if (info.shortNames.length > 0) entry.shortNames = [...info.shortNames];
    if (info.categories.length > 0) entry.categories = [...info.categories];
    return entry;
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: API_VERSION, resources };
}
