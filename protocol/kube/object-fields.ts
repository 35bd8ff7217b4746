/**
 * Typed accessors over Kubernetes objects held as plain JSON (both APIs keep objects as the
 * JSON they arrived as, never as classes). Each returns undefined (or an empty list) for a
 * missing or mistyped field instead of throwing: the objects come from clients and caches.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';

export function stringField(obj: JsonObject | undefined, name: string): string | undefined {
  const value = obj?.[name];
  return typeof value === 'string' ? value : undefined;
}

export function numberField(obj: JsonObject | undefined, name: string): number | undefined {
  const value = obj?.[name];
  return typeof value === 'number' ? value : undefined;
}

export function objectField(obj: JsonObject | undefined, name: string): JsonObject | undefined {
  const value = obj?.[name];
  return isJsonObject(value) ? value : undefined;
}

export function arrayField(obj: JsonObject | undefined, name: string): JsonValue[] {
  const value = obj?.[name];
  return Array.isArray(value) ? value : [];
}

/** The objects of a list, without what is not an object. */
export function objectsIn(values: JsonValue[]): JsonObject[] {
  return values.filter(isJsonObject);
}

/** metadata.name, or '' when there is none. */
export function nameOf(obj: JsonObject): string {
  return stringField(objectField(obj, 'metadata'), 'name') ?? '';
}

/** metadata.labels with their string values (what label selectors read). */
export function labelsOf(obj: JsonObject): Record<string, string> {
  const labels = objectField(objectField(obj, 'metadata'), 'labels');
  const out: Record<string, string> = {};
  if (!labels) return out;
  for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
  return out;
}
