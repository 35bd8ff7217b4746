/**
 * Objects seen through their schema the way structured-merge-diff sees them: which fields an
 * object sets (its field set, with each leaf's value), how an applied configuration merges into
 * a live object, and removing fields by path.
 *
 * Shapes, from the OpenAPI extensions kube publishes: structs merge field by field; maps
 * (`additionalProperties`) key by key; lists are `atomic` (replaced whole, the default), `set`
 * (items by value) or `map` (associative: items by their `x-kubernetes-list-map-keys`, e.g.
 * containers by name, ports by containerPort+protocol). Time, Quantity, IntOrString and
 * untyped objects are leaves.
 */
import { isDeepStrictEqual } from 'node:util';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../protocol/index.js';
import { KubeSchemas, type Schema } from '../schema/schema-store.js';
import { keyElement, type FieldPath, type PathElement } from './fieldpath.js';

type Shape =
  | { kind: 'leaf' }
  | { kind: 'struct'; properties: Record<string, Schema> }
  | { kind: 'map'; element: Schema }
  | { kind: 'list'; listType: 'atomic' | 'set' | 'map'; keys: string[]; element: Schema };

/** What a field holds: a leaf value, or an item of a list (whose own fields are listed apart). */
export interface FieldValue {
  path: FieldPath;
  value: JsonValue;
  item: boolean;
}

/** Values a missing key field takes (kube's schema defaults for list-map keys). */
const KEY_DEFAULTS: Record<string, JsonValue> = { protocol: 'TCP' };
const LEAF_REFS = new Set(['io.k8s.apimachinery.pkg.apis.meta.v1.Time', 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime', 'io.k8s.apimachinery.pkg.api.resource.Quantity', 'io.k8s.apimachinery.pkg.util.intstr.IntOrString', 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1']);

export class TypedObjects {
  constructor(private readonly schemas: KubeSchemas) {}

  private shape(declared: Schema | undefined): Shape {
    if (!declared) return { kind: 'leaf' };
    const ref = KubeSchemas.refName(declared);
    if (ref && LEAF_REFS.has(ref)) return { kind: 'leaf' };
    const schema = this.schemas.resolve(declared);
    if (schema.type === 'array') {
      const listType = declared['x-kubernetes-list-type'] ?? 'atomic';
      return { kind: 'list', listType, keys: declared['x-kubernetes-list-map-keys'] ?? [], element: schema.items ?? {} };
    }
    if (schema.type === 'object' && schema.properties) return { kind: 'struct', properties: schema.properties };
    if (schema.type === 'object' && schema.additionalProperties) return { kind: 'map', element: schema.additionalProperties };
    return { kind: 'leaf' };
  }

  /** The k:/v: element naming a list item. */
  private itemElement(item: JsonValue, shape: Extract<Shape, { kind: 'list' }>): PathElement {
    if (shape.listType === 'map' && isJsonObject(item)) {
      const fields: [string, JsonValue][] = [];
      for (const key of shape.keys) {
        const value = item[key] ?? KEY_DEFAULTS[key];
        if (value !== undefined) fields.push([key, value]);
      }
      return keyElement(fields);
    }
    return `v:${JSON.stringify(item)}`;
  }

  /** Every field `obj` sets, by path key (structured-merge-diff's ToFieldSet, with values). */
  fieldValues(obj: JsonObject, root: Schema): Map<string, FieldValue> {
    const out = new Map<string, FieldValue>();
    const put = (path: FieldPath, value: JsonValue, item = false): void => {
      out.set(path.join('\u0000'), { path, value, item });
    };
    const walk = (value: JsonValue, declared: Schema | undefined, path: PathElement[]): void => {
      const shape = this.shape(declared);
      if (shape.kind === 'struct' || shape.kind === 'map') {
        if (!isJsonObject(value) || (Object.keys(value).length === 0 && path.length > 0)) return put(path, value);
        for (const [key, child] of Object.entries(value)) {
          const childPath = [...path, `f:${key}`];
          const childSchema = shape.kind === 'struct' ? shape.properties[key] : shape.element;
          if (child === null || childSchema === undefined) put(childPath, child);
          else walk(child, childSchema, childPath);
        }
        return;
      }
      if (shape.kind === 'list' && shape.listType !== 'atomic' && Array.isArray(value)) {
        for (const item of value) {
          const itemPath = [...path, this.itemElement(item, shape)];
          put(itemPath, item, true);
          if (shape.listType === 'map' && isJsonObject(item)) {
            const element = this.shape(shape.element);
            if (element.kind !== 'struct') continue;
            for (const [key, child] of Object.entries(item)) {
              const childSchema = element.properties[key];
              if (child === null || childSchema === undefined) put([...itemPath, `f:${key}`], child);
              else walk(child, childSchema, [...itemPath, `f:${key}`]);
            }
          }
        }
        return;
      }
      put(path, value);
    };
    walk(obj, root, []);
    return out;
  }

  /** `config` merged into `live` (neither modified): what an apply makes of the object. */
  merge(live: JsonValue | undefined, config: JsonValue, declared: Schema | undefined): JsonValue {
    const shape = this.shape(declared);
    if (shape.kind === 'struct' || shape.kind === 'map') {
      if (!isJsonObject(config)) return config;
      const result: JsonObject = isJsonObject(live) ? { ...live } : {};
      for (const [key, value] of Object.entries(config)) {
        result[key] = this.merge(result[key], value, shape.kind === 'struct' ? shape.properties[key] : shape.element);
      }
      return result;
    }
    if (shape.kind === 'list' && shape.listType !== 'atomic' && Array.isArray(config) && Array.isArray(live)) {
      const result = [...live];
      for (const item of config) {
        const element = this.itemElement(item, shape);
        const index = result.findIndex((existing) => this.itemElement(existing, shape) === element);
        if (index < 0) result.push(item);
        else if (shape.listType === 'map') result[index] = this.merge(result[index], item, shape.element);
      }
      return result;
    }
    return config;
  }

  /** Removes the field at `path` from `obj` (in place); a list item goes whole. */
  remove(obj: JsonObject, path: FieldPath, root: Schema): void {
    let value: JsonValue = obj;
    let declared: Schema | undefined = root;
    for (let i = 0; i < path.length; i++) {
      const element = path[i] as string;
      const last = i === path.length - 1;
      const shape = this.shape(declared);
      if (element.startsWith('f:')) {
        if (!isJsonObject(value)) return;
        const name = element.slice(2);
        if (last) {
          delete value[name];
          return;
        }
        declared = shape.kind === 'struct' ? shape.properties[name] : shape.kind === 'map' ? shape.element : undefined;
        value = value[name] as JsonValue;
        continue;
      }
      if (shape.kind !== 'list' || !Array.isArray(value)) return;
      const list: JsonValue[] = value;
      const index = list.findIndex((item) => this.itemElement(item, shape) === element);
      if (index < 0) return;
      if (last) {
        list.splice(index, 1);
        return;
      }
      declared = shape.element;
      value = list[index] as JsonValue;
    }
  }
}

/** Paths whose values differ between two field-value maps: added or modified, and removed. */
export function compareFields(before: Map<string, FieldValue>, after: Map<string, FieldValue>): { changed: FieldPath[]; removed: FieldPath[] } {
  const changed: FieldPath[] = [];
  const removed: FieldPath[] = [];
  for (const [key, field] of after) {
    const previous = before.get(key);
    if (!previous || (!field.item && !isDeepStrictEqual(previous.value, field.value))) changed.push(field.path);
  }
  for (const [key, field] of before) if (!after.has(key)) removed.push(field.path);
  return { changed, removed };
}
