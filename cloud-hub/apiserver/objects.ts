/**
 * What the API server needs of objects beyond the shared accessors (protocol/kube/object-fields.ts).
 * It never converts objects into classes: what a client sent is what is stored, minus what the
 * server owns (metadata it sets, status or spec depending on the subresource), so it edits
 * metadata in place.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../protocol/index.js';
import { arrayField, objectField, statusErrors, stringField, type FieldError } from '../../protocol/kube/index.js';
import { apiVersionOf, type ResourceDefinition } from './resources.js';

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

/**
 * A request body as an object of `def`'s kind (kind/apiVersion may be omitted; they are set).
 * The registry takes ownership of request bodies (they are freshly parsed) and adjusts them in place.
 */
export function objectOfKind(def: ResourceDefinition, body: JsonValue): JsonObject {
  if (!isJsonObject(body)) throw statusErrors.badRequest(`the body of the request must be a JSON object of kind ${def.kind}`);
  const obj = body;
  const name = stringField(objectField(obj, 'metadata'), 'name') ?? '';
  const errors: FieldError[] = [];
  if (obj.kind !== undefined && obj.kind !== def.kind) errors.push({ field: 'kind', type: 'Invalid value', value: obj.kind, detail: `must be ${def.kind}` });
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(def)) {
    errors.push({ field: 'apiVersion', type: 'Invalid value', value: obj.apiVersion, detail: `must be ${apiVersionOf(def)}` });
  }
  if (obj.metadata !== undefined && !isJsonObject(obj.metadata)) errors.push({ field: 'metadata', type: 'Invalid value', value: obj.metadata, detail: 'must be an object' });
  if (errors.length > 0) throw statusErrors.invalid(def, name, errors);
  obj.kind = def.kind;
  obj.apiVersion = apiVersionOf(def);
  return obj;
}
