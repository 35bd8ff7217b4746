/**
 * Small typed accessors over Kubernetes objects held as plain JSON. The embedded API never
 * converts objects into classes: what a client sent is what is stored, minus what the server
 * owns (metadata it sets, status or spec depending on the subresource).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../protocol/index.js';

/** The object's metadata, created empty when missing (so callers can set fields on it). */
export function metadataOf(obj: JsonObject): JsonObject {
  const meta = obj.metadata;
  if (isJsonObject(meta)) return meta;
  const fresh: JsonObject = {};
  obj.metadata = fresh;
  return fresh;
}

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

export function objectsIn(values: JsonValue[]): JsonObject[] {
  return values.filter(isJsonObject);
}

export function nameOf(obj: JsonObject): string {
  return stringField(objectField(obj, 'metadata'), 'name') ?? '';
}

export function labelsOf(obj: JsonObject): Record<string, string> {
  const labels = objectField(objectField(obj, 'metadata'), 'labels');
  const out: Record<string, string> = {};
  if (!labels) return out;
  for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
  return out;
}

export function finalizersOf(obj: JsonObject): string[] {
  return arrayField(objectField(obj, 'metadata'), 'finalizers').filter((value): value is string => typeof value === 'string');
}

/** Kubernetes timestamps: RFC 3339 in UTC with whole seconds. */
export function kubeTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
