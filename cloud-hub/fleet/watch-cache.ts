/**
 * The hub's watch cache as the edge sees it: one entry per object, shared by every node that
 * may see it, holding the projected body as JSON text (several times smaller than the parsed
 * object) and the op that brings a node from the previous version to this one.
 */
import { contentVersion, encodeOp, encodePutOp, formatKey, mergePatch, stringifyFlat, type JsonObject, type JsonValue } from '../../protocol/index.js';
import type { WatchEvent, WatchedKind } from '../kube/watched-kinds.js';

/** One version of an object: what every node that may see it is sent. */
export interface ObjectVersion {
  readonly key: string;
  readonly kind: WatchedKind;
  readonly namespace: string;
  readonly name: string;
  /** Content version (protocol rv). */
  readonly rv: string;
  /** JSON text of the projected object. */
  readonly json: string;
  /** A `patch` op from the previous version, present when it is smaller than a `put`. */
  readonly patch?: { readonly baseRv: string; readonly opJson: string };
}

/** What one watch event did to the cache; absent when nothing the edge sees changed. */
export interface ObjectChange {
  key: string;
  kind: WatchedKind;
  before?: ObjectVersion;
  after?: ObjectVersion;
  /** The projected object after the change (for scope), absent on delete. */
  obj?: JsonObject;
  /** When the hub saw the event. */
  at: number;
}

export class WatchCache {
  private readonly objects = new Map<string, ObjectVersion>();
  /** Put ops of shared kinds, built once and sent to every node that needs them. */
  private readonly putOps = new Map<string, string>();

  get size(): number {
    return this.objects.size;
  }

  get(key: string): ObjectVersion | undefined {
    return this.objects.get(key);
  }

  /** Whether putOp caches `object`'s op: ConfigMaps and Secrets, which many nodes share. */
  putOpShared(object: ObjectVersion): boolean {
    return object.kind === 'ConfigMap' || object.kind === 'Secret';
  }

  /** The `put` op JSON for `object`. Cached for ConfigMaps and Secrets, which many nodes share. */
  putOp(object: ObjectVersion): string {
    if (!this.putOpShared(object)) return encodePutOp(object.key, object.rv, object.json);
    let op = this.putOps.get(object.key);
    if (op === undefined) {
      op = encodePutOp(object.key, object.rv, object.json);
      this.putOps.set(object.key, op);
    }
    return op;
  }

  apply(event: WatchEvent): ObjectChange | undefined {
    const metadata = (event.obj.metadata ?? {}) as { name?: string; namespace?: string };
    if (!metadata.name) return undefined;
    const key = formatKey(event.kind, metadata.namespace ?? '', metadata.name);
    const before = this.objects.get(key);
    if (event.type === 'delete') {
      if (!before) return undefined;
      this.objects.delete(key);
      this.putOps.delete(key);
      return { key, kind: event.kind, before, at: event.at };
    }
    const rv = contentVersion(event.obj);
    if (before && before.rv === rv) {
      // Only fields the edge never sees changed (status, managedFields, resourceVersion).
      return undefined;
    }
    const json = stringifyFlat(event.obj);
    const after: ObjectVersion = {
      key,
      kind: event.kind,
      namespace: metadata.namespace ?? '',
      name: metadata.name,
      rv,
      json,
      ...(before ? patchFrom(before, key, rv, event.obj, json) : {}),
    };
    this.objects.set(key, after);
    this.putOps.delete(key);
    return { key, kind: event.kind, ...(before ? { before } : {}), after, obj: event.obj, at: event.at };
  }
}

function patchFrom(before: ObjectVersion, key: string, rv: string, obj: JsonObject, json: string): Pick<ObjectVersion, 'patch'> {
  const patch = mergePatch.diff(JSON.parse(before.json) as JsonValue, obj);
  if (patch === undefined || typeof patch !== 'object' || patch === null || Array.isArray(patch)) return {};
  const opJson = encodeOp({ op: 'patch', key, rv, baseRv: before.rv, patch });
  // A patch only pays when it is smaller than the object it replaces.
  return opJson.length < json.length ? { patch: { baseRv: before.rv, opJson } } : {};
}
