/**
 * Turns a cached object into the object the local API serves:
 *
 * - `metadata.resourceVersion` is the cache's local change counter (`seq`), not the hub's
 *   resourceVersion the body arrived with: lists, gets and watches then share one counter, so a
 *   client can list, watch from the list's resourceVersion and resume from any event's, as it
 *   does against kube-apiserver. The hub's value would be meaningless here (the agent never saw
 *   most of the cluster's versions) and could not be resumed from.
 * - `apiVersion` and `kind` are always set (informers' list items arrive without them, and
 *   clients such as kubectl need them on every object).
 * - A Pod's `status` comes from `podStatus` when the runtime knows it: the hub strips Pod
 *   status before sending (the edge writes it), so the cache alone has none. The agent's own
 *   Node's status comes from `nodeStatus` the same way (Ready, addresses, nodeInfo).
 *
 * Objects are copied (top level and metadata), never edited in place: the cache may hand out
 * objects it shares with other readers.
 */
import { parseKey, type JsonObject } from '../../protocol/index.js';
import { objectField } from '../../protocol/kube/index.js';
import { API_VERSION, type ResourceInfo } from './resources.js';

export type PodStatusLookup = (key: string) => JsonObject | undefined;
export type NodeStatusLookup = (name: string) => JsonObject | undefined;

export class ObjectPresenter {
  constructor(
    private readonly podStatus?: PodStatusLookup,
    private readonly nodeStatus?: NodeStatusLookup,
  ) {}

  present(info: ResourceInfo, key: string, seq: number, obj: JsonObject): JsonObject {
    const served: JsonObject = { ...obj, apiVersion: API_VERSION, kind: info.kind, metadata: { ...metadataOf(obj), resourceVersion: String(seq) } };
    if (info.kind === 'Pod' && this.podStatus) {
      const status = this.podStatus(key);
      if (status !== undefined) served.status = status;
    }
    if (info.kind === 'Node' && this.nodeStatus) {
      const status = this.nodeStatus(parseKey(key).name);
      if (status !== undefined) served.status = status;
    }
    return served;
  }

  /** The same object at another resourceVersion (a DELETED event carries the deletion's). */
  atResourceVersion(obj: JsonObject, seq: number): JsonObject {
    return { ...obj, metadata: { ...metadataOf(obj), resourceVersion: String(seq) } };
  }

  /** A deleted object whose last body this watch never saw: what the key tells, at the deletion's resourceVersion. */
  deletedStub(info: ResourceInfo, key: string, seq: number): JsonObject {
    const ref = parseKey(key);
    const metadata: JsonObject = { name: ref.name, resourceVersion: String(seq) };
    if (info.namespaced) metadata.namespace = ref.namespace;
    return { apiVersion: API_VERSION, kind: info.kind, metadata };
  }
}

/** The object's metadata, or an empty one; never created on the object (the cache may share it). */
function metadataOf(obj: JsonObject): JsonObject {
  return objectField(obj, 'metadata') ?? {};
}
