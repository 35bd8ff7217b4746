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
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';

/** 16 base64url characters: 96 bits of SHA-256 over the canonical JSON. */
export function contentVersion(obj: JsonValue): string {
  const hash = createHash('sha256');
  hash.update(canonicalJson(obj, true));
  // The first 12 bytes are exactly the first 16 characters, as a flat string of its own (a slice
  // of the whole digest's text kept that text alive as well: 2.4 MiB at 40,000 objects).
  return hash.digest().toString('base64url', 0, 12);
}

/**
 * JSON with object members in code-unit order, so the same document always gives the same
 * bytes whatever order its producer used. With `skipResourceVersion`, the top-level
 * `metadata.resourceVersion` is left out.
 */
export function canonicalJson(value: JsonValue, skipResourceVersion = false): string {
  // One string built left to right (no intermediate arrays or copies): the hub runs this for
  // every object it lists and every change it watches, so it is its main per-object cost.
  if (skipResourceVersion && isJsonObject(value)) return canonicalObject(value, true);
  return canonical(value);
}

function canonical(value: JsonValue): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      // As Array.prototype.join renders them: nothing for what JSON cannot encode.
      const item = canonical(value[i] as JsonValue) as string | undefined;
      if (item !== undefined) out += item;
    }
    return `${out}]`;
  }
  return canonicalObject(value, false);
}

/** Members in code-unit order; with `skipResourceVersion`, `metadata.resourceVersion` is left out of this object's `metadata`. */
function canonicalObject(value: JsonObject, skipResourceVersion: boolean): string {
  const names = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const member = value[name] as JsonValue;
    if (i > 0) out += ',';
    out += JSON.stringify(name);
    out += ':';
    out += skipResourceVersion && name === 'metadata' && isJsonObject(member) ? canonicalMetadata(member) : canonical(member);
  }
  return `${out}}`;
}

function canonicalMetadata(metadata: JsonObject): string {
  const names = Object.keys(metadata).sort();
  let out = '{';
  let first = true;
  for (const name of names) {
    if (name === 'resourceVersion') continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(name);
    out += ':';
    out += canonical(metadata[name] as JsonValue);
  }
  return `${out}}`;
}
