/**
 * What the API server needs of objects beyond the shared accessors (protocol/kube/object-fields.ts).
 * It never converts objects into classes: what a client sent is what is stored, minus what the
 * server owns (metadata it sets, status or spec depending on the subresource), so it edits
 * metadata in place.
 */
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { arrayField, objectField } from '../../protocol/kube/index.js';

/** The object's metadata, created empty when missing (so callers can set fields on it). */
export function metadataOf(obj: JsonObject): JsonObject {
  const meta = obj.metadata;
  if (isJsonObject(meta)) return meta;
  const fresh: JsonObject = {};
  obj.metadata = fresh;
  return fresh;
}

export function finalizersOf(obj: JsonObject): string[] {
  return arrayField(objectField(obj, 'metadata'), 'finalizers').filter((value): value is string => typeof value === 'string');
}
