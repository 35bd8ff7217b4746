/**
 * RFC 7386 JSON merge patch: `diff` computes a patch, `apply` applies one.
 *
 * A merge patch cannot set a member to `null` (null means "remove"), so some targets are not
 * reachable from some sources. `diff` returns `undefined` in exactly those cases and the
 * caller sends the whole document instead; Kubernetes objects practically never hold nulls.
 */
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from './json.js';

/** Applies `patch` to `target` without modifying either; the result may share unchanged subtrees with both. */
export function apply(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return patch;
  const result: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const name of Object.keys(patch)) {
    const value = patch[name] as JsonValue;
    if (value === null) {
      delete result[name];
    } else {
      setOwn(result, name, apply(result[name], value));
    }
  }
  return result;
}

/**
 * A merge patch that turns `source` into `target`, or `undefined` when no merge patch can
 * (the target holds a `null` member where the source does not). Arrays are replaced whole,
 * as the RFC requires. Equal documents give `{}` when both are objects.
 */
export function diff(source: JsonValue | undefined, target: JsonValue): JsonValue | undefined {
  if (!isJsonObject(target)) return target;
  if (!isJsonObject(source)) return reachableFromNothing(target) ? target : undefined;
  const patch: JsonObject = {};
  for (const name of Object.keys(source)) {
    if (!Object.hasOwn(target, name)) setOwn(patch, name, null);
  }
  for (const name of Object.keys(target)) {
    const to = target[name] as JsonValue;
    if (!Object.hasOwn(source, name)) {
      if (!reachableFromNothing(to)) return undefined;
      setOwn(patch, name, to);
      continue;
    }
    const from = source[name] as JsonValue;
    if (jsonEqual(from, to)) continue;
    if (to === null) return undefined;
    if (isJsonObject(from) && isJsonObject(to)) {
      const inner = diff(from, to);
      if (inner === undefined) return undefined;
      setOwn(patch, name, inner);
    } else {
      if (!reachableFromNothing(to)) return undefined;
      setOwn(patch, name, to);
    }
  }
  return patch;
}

/** True when applying `value` as a patch to nothing yields `value`: no null member in any nested object. */
function reachableFromNothing(value: JsonValue): boolean {
  if (value === null) return false;
  if (!isJsonObject(value)) return true;
  for (const name of Object.keys(value)) {
    if (!reachableFromNothing(value[name] as JsonValue)) return false;
  }
  return true;
}

/** Assignment that treats `__proto__` as an ordinary member, so a patch cannot reach a prototype. */
function setOwn(obj: JsonObject, name: string, value: JsonValue): void {
  if (name === '__proto__') {
    Object.defineProperty(obj, name, { value, enumerable: true, configurable: true, writable: true });
  } else {
    obj[name] = value;
  }
}
