/**
 * The discovery documents of the local API (their shapes are protocol/kube/discovery.ts, shared
 * with the hub's API server): `/version`, `/api/v1`, `/apis`; `/api` is coreApiVersions there.
 *
 * Every resource is listed with only the verbs served (get, list, watch): clients that read
 * discovery (kubectl auth can-i, controller tooling) then know writes are not available here.
 * Secrets stay listed when they are not served: `kubectl get secrets` then shows the 403 that
 * names `--local-api-secrets`, instead of "the server doesn't have a resource type", which would
 * send the user looking for a typo.
 */
import type { JsonObject } from '../../protocol/index.js';
import { apiGroupList, apiResourceList, versionInfo } from '../../protocol/kube/index.js';
import { NAMESPACES_RESOURCE } from './namespaces.js';
import { API_VERSION, RESOURCES } from './resources.js';

const VERBS = ['get', 'list', 'watch'];

/** The build /version reports: the Kubernetes minor whose client (kubectl 1.32) it was tested with. */
const SERVER_BUILD = { gitVersion: 'v1.32.0+edge-sync-local', buildDate: '1970-01-01T00:00:00Z' };

export function versionDocument(): JsonObject {
  return versionInfo(SERVER_BUILD);
}

/** GET /apis: the cached kinds are all core/v1, so there are no groups. */
export function noApiGroups(): JsonObject {
  return apiGroupList([]);
}

/** GET /api/v1 */
export function coreResourceList(): JsonObject {
  const ns = NAMESPACES_RESOURCE;
  return apiResourceList(API_VERSION, [
    ...RESOURCES.map((info) => ({ name: info.resource, singularName: info.singular, namespaced: info.namespaced, kind: info.kind, verbs: VERBS, shortNames: info.shortNames, categories: info.categories })),
    { name: ns.resource, singularName: ns.singular, namespaced: false, kind: ns.kind, verbs: ['get', 'list'], shortNames: ns.shortNames },
  ]);
}
