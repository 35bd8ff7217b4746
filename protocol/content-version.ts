/**
 * The `rv` carried in frames: a version of the object *as the edge sees it*.
 *
 * It is a hash of the object's canonical JSON with `metadata.resourceVersion` left out, not the
 * Kubernetes resourceVersion itself. The hub strips what the edge never reads (managedFields,
 * a Pod's or Node's status, which the edge writes), so many Kubernetes versions of an object
 * project to the same content; a content version lets every hub replica, before and after a
 * restart, agree with the node's cache on "nothing to send" without remembering history.
 * Peers still compare rv only for equality.
 */
import { createHash } from 'node:crypto';
import { isJsonObject, type JsonValue } from './json.js';

/** 16 base64url characters: 96 bits of SHA-256 over the canonical JSON. */
export function contentVersion(obj: JsonValue): string {
  const hash = createHash('sha256');
  hash.update(canonicalJson(obj, true));
  return hash.digest('base64url').slice(0, 16);
}

/**
 * JSON with object members in code-unit order, so the same document always gives the same
 * bytes whatever order its producer used. With `skipResourceVersion`, the top-level
 * `metadata.resourceVersion` is left out.
 */
export function canonicalJson(value: JsonValue, skipResourceVersion = false): string {
  if (!isJsonObject(value)) {
    if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
    return JSON.stringify(value);
  }
  const names = Object.keys(value).sort();
  const parts: string[] = [];
  for (const name of names) {
    let member = value[name] as JsonValue;
    if (skipResourceVersion && name === 'metadata' && isJsonObject(member) && 'resourceVersion' in member) {
      const { resourceVersion: _ignored, ...rest } = member;
      member = rest as JsonValue;
    }
    parts.push(`${JSON.stringify(name)}:${canonicalJson(member)}`);
  }
  return `{${parts.join(',')}}`;
}
