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
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../../../protocol/index.js';
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

type ListShape = Extract<Shape, { kind: 'list' }>;

const LEAF: Shape = { kind: 'leaf' };
/** Joins path elements into a field-value map key (as FieldSet.key does). */
const SEP = '\u0000';

function childKey(key: string, element: PathElement): string {
  return key === '' ? element : key + SEP + element;
}

function hasMembers(obj: JsonObject): boolean {
  for (const name in obj) if (Object.hasOwn(obj, name)) return true;
  return false;
}

export class TypedObjects {
  /** Shapes by schema object: every write walks the same few schemas. */
  private readonly shapes = new WeakMap<Schema, Shape>();

  constructor(private readonly schemas: KubeSchemas) {}

  private shape(declared: Schema | undefined): Shape {
    if (!declared) return LEAF;
    let shape = this.shapes.get(declared);
    if (shape === undefined) {
      shape = this.shapeOf(declared);
      this.shapes.set(declared, shape);
    }
    return shape;
  }

  private shapeOf(declared: Schema): Shape {
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
  private itemElement(item: JsonValue, shape: ListShape): PathElement {
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

  /**
   * Every field `obj` sets, by path key (structured-merge-diff's ToFieldSet, with values). The
   * key is the path's elements joined by U+0000 (FieldSet.key), built as the walk descends.
   */
  fieldValues(obj: JsonObject, root: Schema): Map<string, FieldValue> {
    const out = new Map<string, FieldValue>();
    this.collectValue(out, obj, root, [], '');
    return out;
  }

  /**
   * compareFields(fieldValues(before), fieldValues(after)) without listing the fields both
   * share: subtrees equal on both sides are skipped, struct and map members and list items
   * without duplicate keys are matched one to one, anything else is compared field by field.
   * `before` undefined: every field of `after` is new.
   */
  diffFields(before: JsonObject | undefined, after: JsonObject, root: Schema): { changed: FieldPath[]; removed: FieldPath[] } {
    const changed: FieldPath[] = [];
    const removed: FieldPath[] = [];
    const compare = (fill: (side: Map<string, FieldValue>, value: JsonValue | undefined) => void, a: JsonValue | undefined, b: JsonValue | undefined): void => {
      const was = new Map<string, FieldValue>();
      const now = new Map<string, FieldValue>();
      if (a !== undefined) fill(was, a);
      if (b !== undefined) fill(now, b);
      const result = compareFields(was, now);
      changed.push(...result.changed);
      removed.push(...result.removed);
    };
    // A member of a struct, map or associative-list item, present on at least one side.
    const diffField = (a: JsonValue | undefined, b: JsonValue | undefined, schema: Schema | undefined, path: PathElement[], key: string): void => {
      if (a !== undefined && b !== undefined && jsonEqual(a, b)) return;
      if (a !== undefined && b !== undefined && a !== null && b !== null && schema !== undefined) return diffValue(a, b, schema, path, key);
      compare((side, value) => this.collectField(side, value as JsonValue, schema, path, key), a, b);
    };
    const diffMembers = (a: JsonObject, b: JsonObject, schemaOf: (name: string) => Schema | undefined, path: PathElement[], key: string): void => {
      for (const name in b) {
        if (!Object.hasOwn(b, name)) continue;
        const element = `f:${name}`;
        diffField(Object.hasOwn(a, name) ? a[name] : undefined, b[name], schemaOf(name), [...path, element], childKey(key, element));
      }
      for (const name in a) {
        if (!Object.hasOwn(a, name) || Object.hasOwn(b, name)) continue;
        const element = `f:${name}`;
        diffField(a[name], undefined, schemaOf(name), [...path, element], childKey(key, element));
      }
    };
    const diffValue = (a: JsonValue, b: JsonValue, declared: Schema | undefined, path: PathElement[], key: string): void => {
      const shape = this.shape(declared);
      if ((shape.kind === 'struct' || shape.kind === 'map') && isJsonObject(a) && isJsonObject(b) && (path.length === 0 || (hasMembers(a) && hasMembers(b)))) {
        return diffMembers(a, b, (name) => (shape.kind === 'struct' ? shape.properties[name] : shape.element), path, key);
      }
      if (shape.kind === 'list' && shape.listType !== 'atomic' && Array.isArray(a) && Array.isArray(b)) {
        const elementsA = a.map((item) => this.itemElement(item, shape));
        const elementsB = b.map((item) => this.itemElement(item, shape));
        const byElementA = new Map(elementsA.map((element, i) => [element, a[i] as JsonValue]));
        const byElementB = new Map(elementsB.map((element, i) => [element, b[i] as JsonValue]));
        // Two items with one key merge their fields in a field set: compare those lists whole.
        if (byElementA.size === a.length && byElementB.size === b.length) {
          for (const [element, item] of byElementB) {
            const itemPath = [...path, element];
            const itemKey = childKey(key, element);
            const was = byElementA.get(element);
            if (was === undefined) compare((side, value) => this.collectItem(side, value as JsonValue, shape, itemPath, itemKey), undefined, item);
            else if (jsonEqual(was, item)) continue;
            else {
              const itemShape = this.shape(shape.element);
              if (shape.listType === 'map' && itemShape.kind === 'struct' && isJsonObject(was) && isJsonObject(item)) diffMembers(was, item, (name) => itemShape.properties[name], itemPath, itemKey);
              else compare((side, value) => this.collectItem(side, value as JsonValue, shape, itemPath, itemKey), was, item);
            }
          }
          for (const [element, item] of byElementA) {
            if (byElementB.has(element)) continue;
            compare((side, value) => this.collectItem(side, value as JsonValue, shape, [...path, element], childKey(key, element)), item, undefined);
          }
          return;
        }
      }
      compare((side, value) => this.collectValue(side, value as JsonValue, declared, path, key), a, b);
    };
    if (before === undefined) compare((side, value) => this.collectValue(side, value as JsonValue, root, [], ''), undefined, after);
    else if (!jsonEqual(before, after)) diffValue(before, after, root, [], '');
    return { changed, removed };
  }

  /** The fields `value` sets at `path` (fieldValues' walk). */
  private collectValue(out: Map<string, FieldValue>, value: JsonValue, declared: Schema | undefined, path: PathElement[], key: string): void {
    const shape = this.shape(declared);
    if (shape.kind === 'struct' || shape.kind === 'map') {
      if (!isJsonObject(value)) {
        out.set(key, { path, value, item: false });
        return;
      }
      let empty = true;
      for (const name in value) {
        if (!Object.hasOwn(value, name)) continue;
        empty = false;
        const element = `f:${name}`;
        this.collectField(out, value[name] as JsonValue, shape.kind === 'struct' ? shape.properties[name] : shape.element, [...path, element], childKey(key, element));
      }
      if (empty && path.length > 0) out.set(key, { path, value, item: false });
      return;
    }
    if (shape.kind === 'list' && shape.listType !== 'atomic' && Array.isArray(value)) {
      for (const item of value) {
        const element = this.itemElement(item, shape);
        this.collectItem(out, item, shape, [...path, element], childKey(key, element));
      }
      return;
    }
    out.set(key, { path, value, item: false });
  }

  /** A member of a struct or map: null and members the schema does not declare are leaves. */
  private collectField(out: Map<string, FieldValue>, value: JsonValue, schema: Schema | undefined, path: PathElement[], key: string): void {
    if (value === null || schema === undefined) out.set(key, { path, value, item: false });
    else this.collectValue(out, value, schema, path, key);
  }

  /** A set or associative-list item: the item itself, and an associative item's fields. */
  private collectItem(out: Map<string, FieldValue>, item: JsonValue, shape: ListShape, path: PathElement[], key: string): void {
    out.set(key, { path, value: item, item: true });
    if (shape.listType !== 'map' || !isJsonObject(item)) return;
    const itemShape = this.shape(shape.element);
    if (itemShape.kind !== 'struct') return;
    for (const name in item) {
      if (!Object.hasOwn(item, name)) continue;
      const element = `f:${name}`;
      this.collectField(out, item[name] as JsonValue, itemShape.properties[name], [...path, element], childKey(key, element));
    }
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
    if (!previous || (!field.item && !jsonEqual(previous.value, field.value))) changed.push(field.path);
  }
  for (const [key, field] of before) if (!after.has(key)) removed.push(field.path);
  return { changed, removed };
}
