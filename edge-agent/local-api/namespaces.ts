/**
 * Namespaces on the local API. The agent caches no Namespace objects, but a client that reads a
 * namespaced object expects its namespace to exist: kubectl, for one, looks the namespace up to
 * explain a 404, and prints "the server could not find the requested resource" when that fails.
 * So `GET /api/v1/namespaces[/NAME]` serves the namespaces the cache implies: `default`, plus
 * every namespace a cached Pod, ConfigMap or (when served) Secret is in, each Active, labelled
 * `kubernetes.io/metadata.name` as kube labels them. A list's and an object's resourceVersion is
 * the cache's current one. Watching them is not served (405).
 */
import type { JsonObject } from '../../protocol/index.js';
import { ApiError, statusErrors } from '../../protocol/kube/index.js';
import type { LocalReadModel } from './read-model.js';
import { API_VERSION, RESOURCES } from './resources.js';

export const NAMESPACES_RESOURCE = { resource: 'namespaces', singular: 'namespace', kind: 'Namespace', listKind: 'NamespaceList', namespaced: false, shortNames: ['ns'], categories: [] } as const;

export class NamespaceView {
  constructor(
    private readonly readModel: LocalReadModel,
    private readonly serveSecrets: boolean,
  ) {}

  /** Every namespace the cache implies, sorted, and the seq it was read at. */
  list(): { seq: number; items: JsonObject[] } {
    const seq = this.readModel.currentSeq();
    const names = new Set<string>(['default']);
    for (const info of RESOURCES) {
      if (!info.namespaced || (info.kind === 'Secret' && !this.serveSecrets)) continue;
      for (const item of this.readModel.list(info.kind).items) {
        const namespace = (item.obj.metadata as JsonObject | undefined)?.namespace;
        if (typeof namespace === 'string' && namespace !== '') names.add(namespace);
      }
    }
    return { seq, items: [...names].sort().map((name) => namespaceObject(name, seq)) };
  }

  /** One namespace, or kube's 404 `namespaces "x" not found`. */
  get(name: string): JsonObject {
    const found = this.list().items.find((ns) => (ns.metadata as JsonObject).name === name);
    if (!found) throw statusErrors.notFound({ group: '', resource: 'namespaces' }, name);
    return found;
  }
}

export function namespaceWatchNotServed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'watch is not supported on namespaces by the edge local API (it derives them from the cached objects)', { kind: 'namespaces' });
}

function namespaceObject(name: string, seq: number): JsonObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Namespace',
    metadata: { name, resourceVersion: String(seq), labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}
