/**
 * PATCH bodies, by Content-Type:
 *
 * - `application/merge-patch+json`: RFC 7386 (protocol/merge-patch.ts), lists replaced whole.
 * - `application/strategic-merge-patch+json`: what kubectl apply/edit/patch send for built-in
 *   kinds. Implemented for the lists that matter to the kinds served here: lists of objects with
 *   a Kubernetes patchMergeKey are merged element by element (containers/initContainers/env/
 *   volumes by `name`, ports by `containerPort`, volumeMounts by `mountPath`, conditions and node
 *   addresses by `type`, ownerReferences by `uid`, ...); `metadata.finalizers` merges as a set;
 *   the directives `$patch: replace|delete|merge`, `$retainKeys`, `$deleteFromPrimitiveList/<f>`
 *   and `$setElementOrder/<f>` are honoured. Every other list is replaced, as in a merge patch.
 * - `application/json-patch+json`: RFC 6902 through fast-json-patch.
 * - `application/apply-patch+yaml` (server-side apply) is apply/field-manager.ts.
 */
import jsonPatch, { type Operation } from 'fast-json-patch';
import { isJsonObject, jsonEqual, mergePatch, type JsonObject, type JsonValue } from '../../protocol/index.js';
import { ApiError, statusErrors } from '../../protocol/kube/index.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

export type PatchType = (typeof PATCH_TYPES)[keyof typeof PATCH_TYPES];

export const ACCEPTED_PATCH_TYPES: string[] = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, 'application/apply-patch+yaml'];

/** The patch type of a Content-Type header, or a 415 naming the accepted ones. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  for (const type of Object.values(PATCH_TYPES)) if (type === mediaType) return type;
  throw statusErrors.unsupportedMediaType(mediaType, ACCEPTED_PATCH_TYPES);
}

/**
 * Merge keys of lists of objects (and '' for lists of scalars merged as sets), by the list's
 * path with array positions left out. Container lists share their nested keys.
 */
const CONTAINER_LISTS = ['spec.containers', 'spec.initContainers', 'spec.ephemeralContainers'];
const MERGE_KEYS: ReadonlyMap<string, string> = new Map<string, string>([
  ['metadata.finalizers', ''],
  ['metadata.ownerReferences', 'uid'],
  ...CONTAINER_LISTS.map((path): [string, string] => [path, 'name']),
  ...CONTAINER_LISTS.flatMap((path): [string, string][] => [
    [`${path}.env`, 'name'],
    [`${path}.ports`, 'containerPort'],
    [`${path}.volumeMounts`, 'mountPath'],
    [`${path}.volumeDevices`, 'devicePath'],
    [`${path}.resizePolicy`, 'resourceName'],
  ]),
  ['spec.volumes', 'name'],
  ['spec.imagePullSecrets', 'name'],
  ['spec.hostAliases', 'ip'],
  ['spec.podCIDRs', ''],
  ['status.conditions', 'type'],
  ['status.addresses', 'type'],
  ['status.podIPs', 'ip'],
  ['status.hostIPs', 'ip'],
]);

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isDirectiveKey(key: string): boolean {
  return key.startsWith('$');
}

/** A patch value as it ends up in the object: directives removed everywhere. */
function withoutDirectives(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.filter((item) => !(isJsonObject(item) && isDirectiveOnly(item))).map(withoutDirectives);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    if (isDirectiveKey(key) || inner === null) continue;
    out[key] = withoutDirectives(inner);
  }
  return out;
}

function isDirectiveOnly(item: JsonObject): boolean {
  const keys = Object.keys(item);
  return keys.length > 0 && keys.every(isDirectiveKey);
}

/** Applies a strategic merge patch to `original` (not modified) and returns the result. */
export function strategicMerge(original: JsonObject, patch: JsonObject, path = ''): JsonObject {
  if (patch.$patch === 'replace') return withoutDirectives(patch) as JsonObject;
  const result: JsonObject = { ...original };
  const retainKeys = patch.$retainKeys;
  if (Array.isArray(retainKeys)) {
    for (const key of Object.keys(result)) if (!retainKeys.includes(key) && !Object.hasOwn(patch, key)) delete result[key];
  }
  const orders: [string, JsonValue[]][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) result[field] = current.filter((item) => !value.some((gone) => jsonEqual(gone, item)));
      continue;
    }
    if (key.startsWith('$setElementOrder/')) {
      if (Array.isArray(value)) orders.push([key.slice('$setElementOrder/'.length), value]);
      continue;
    }
    if (isDirectiveKey(key)) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const path2 = childPath(path, key);
    const current = result[key];
    if (isJsonObject(value)) {
      if (value.$patch === 'delete') delete result[key];
      else result[key] = strategicMerge(isJsonObject(current) ? current : {}, value, path2);
    } else if (Array.isArray(value)) {
      const mergeKey = MERGE_KEYS.get(path2);
      result[key] = mergeKey === undefined ? withoutDirectives(value) : mergeList(Array.isArray(current) ? current : [], value, mergeKey, path2);
    } else {
      result[key] = value;
    }
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list)) result[field] = reorder(list, order, MERGE_KEYS.get(childPath(path, field)) ?? '');
  }
  return result;
}

function mergeList(original: JsonValue[], patch: JsonValue[], mergeKey: string, path: string): JsonValue[] {
  if (patch.some((item) => isJsonObject(item) && item.$patch === 'replace')) return withoutDirectives(patch.filter((item) => !(isJsonObject(item) && item.$patch === 'replace'))) as JsonValue[];
  if (mergeKey === '') {
    const result = [...original];
    for (const item of patch) if (!result.some((existing) => jsonEqual(existing, item))) result.push(item);
    return result;
  }
  const result = [...original];
  for (const item of patch) {
    if (!isJsonObject(item)) {
      result.push(item);
      continue;
    }
    const key = item[mergeKey];
    const index = result.findIndex((existing) => isJsonObject(existing) && jsonEqual(existing[mergeKey], key));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMerge(result[index] as JsonObject, item, path);
    else result.push(strategicMerge({}, item, path));
  }
  return result;
}

/** `$setElementOrder`: listed elements first in the listed order, the others after in their order. */
function reorder(list: JsonValue[], order: JsonValue[], mergeKey: string): JsonValue[] {
  const position = (item: JsonValue): number =>
    order.findIndex((wanted) => (mergeKey && isJsonObject(wanted) && isJsonObject(item) ? jsonEqual(wanted[mergeKey], item[mergeKey]) : jsonEqual(wanted, item)));
  return list
    .map((item, index) => ({ item, index, rank: position(item) }))
    .sort((a, b) => (a.rank === -1 ? Number.MAX_SAFE_INTEGER : a.rank) - (b.rank === -1 ? Number.MAX_SAFE_INTEGER : b.rank) || a.index - b.index)
    .map(({ item }) => item);
}

function jsonPatchError(err: unknown): ApiError {
  const message = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`, { causes: [{ reason: 'UnexpectedServerResponse', message }] });
}

/** Applies a parsed PATCH body of `type` to `current` (not modified) and returns the patched object. */
export function applyPatch(type: PatchType, current: JsonObject, patch: JsonValue): JsonObject {
  if (type === PATCH_TYPES.json) {
    if (!Array.isArray(patch)) throw statusErrors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
    const invalid = jsonPatch.validate(patch as unknown as Operation[]);
    if (invalid) throw statusErrors.badRequest(`invalid JSON patch: ${invalid.message.split('\n')[0] ?? invalid.name}`);
    try {
      const result = jsonPatch.applyPatch(structuredClone(current), patch as unknown as Operation[], true, true, true).newDocument as JsonValue;
      if (!isJsonObject(result)) throw statusErrors.badRequest('the patched document is not a JSON object');
      return result;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw jsonPatchError(err);
    }
  }
  if (!isJsonObject(patch)) throw statusErrors.badRequest('json: cannot unmarshal non-object into Go value of type map[string]interface {}');
  if (type === PATCH_TYPES.merge) return mergePatch.apply(current, patch) as JsonObject;
  return strategicMerge(current, patch);
}
