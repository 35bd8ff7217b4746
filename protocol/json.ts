/** JSON values as they travel in frames. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Deep equality of JSON values, with node:util isDeepStrictEqual's answers for them (numbers by
 * Object.is, so -0 differs from 0; key order ignored; a key whose value is undefined still
 * counts) at a fraction of its cost: it is on every write's path (patches, managedFields).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * JSON.stringify for text that is kept for long (a watch cache entry). V8 builds the text as a
 * tree of pieces of doubling size joined by cons strings; kept as it is, a 700-character Pod
 * costs about 190 bytes more than its characters (32 per join, a header per piece). Converting
 * a string to a number flattens it first (String::Flatten), and the next GC drops the pieces.
 * The comparison uses the result so that no compiler may drop the conversion.
 */
export function stringifyFlat(value: JsonValue): string {
  const text = JSON.stringify(value);
  return Number(text) === 0 && text.length === 0 ? '' : text;
}
