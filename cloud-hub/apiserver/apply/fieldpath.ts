/**
 * Field paths and field sets as structured-merge-diff (kube's server-side apply) writes them.
 *
 * A path is a list of elements, each already in its FieldsV1 spelling:
 * `f:name` (a struct field or map key), `k:{"name":"c"}` (an associative list item by its key
 * fields, sorted), `v:"x"` (a set item by value), `i:0` (a list item by position).
 * A FieldSet holds paths; `toFieldsV1` writes it as the trie kube stores in
 * `metadata.managedFields[].fieldsV1` (a member with children gets `".": {}`).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../protocol/index.js';

export type PathElement = string;
export type FieldPath = readonly PathElement[];

const SEP = '\u0000';

export class FieldSet {
  private readonly paths = new Map<string, FieldPath>();

  constructor(paths: Iterable<FieldPath> = []) {
    for (const path of paths) this.add(path);
  }

  static key(path: FieldPath): string {
    return path.join(SEP);
  }

  add(path: FieldPath): void {
    this.paths.set(FieldSet.key(path), path);
  }

  has(path: FieldPath): boolean {
    return this.paths.has(FieldSet.key(path));
  }

  get size(): number {
    return this.paths.size;
  }

  get empty(): boolean {
    return this.paths.size === 0;
  }

  [Symbol.iterator](): IterableIterator<FieldPath> {
    return this.paths.values();
  }

  union(other: FieldSet): FieldSet {
    return new FieldSet([...this, ...other]);
  }

  difference(other: FieldSet): FieldSet {
    return new FieldSet([...this].filter((path) => !other.has(path)));
  }

  intersection(other: FieldSet): FieldSet {
    return new FieldSet([...this].filter((path) => other.has(path)));
  }

  /** Paths not under any of `prefixes` (kube's ignored / reset fields). */
  withoutPrefixes(prefixes: FieldPath[]): FieldSet {
    return new FieldSet([...this].filter((path) => !prefixes.some((prefix) => prefix.length <= path.length && prefix.every((element, i) => path[i] === element))));
  }

  /** Only the paths under `prefix` (a status write's share). */
  onlyUnder(prefix: FieldPath): FieldSet {
    return new FieldSet([...this].filter((path) => prefix.length <= path.length && prefix.every((element, i) => path[i] === element)));
  }

  equals(other: FieldSet): boolean {
    return this.size === other.size && [...this].every((path) => other.has(path));
  }

  /** The FieldsV1 trie: `{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{}}}}}`. */
  toFieldsV1(): JsonObject {
    const root: JsonObject = {};
    const members = new Set<string>();
    for (const path of this) {
      let node = root;
      for (const element of path) {
        const next = node[element];
        node = isJsonObject(next) ? next : (node[element] = {});
      }
      members.add(FieldSet.key(path));
    }
    // A member that also has children is marked with ".".
    const mark = (node: JsonObject, prefix: PathElement[]): void => {
      for (const [element, child] of Object.entries(node)) {
        if (!isJsonObject(child) || element === '.') continue;
        const path = [...prefix, element];
        if (Object.keys(child).length > 0) {
          mark(child, path);
          if (members.has(FieldSet.key(path))) child['.'] = {};
        }
      }
    };
    mark(root, []);
    return sortTrie(root);
  }

  static fromFieldsV1(trie: JsonValue | undefined): FieldSet {
    const set = new FieldSet();
    const walk = (node: JsonValue, prefix: PathElement[]): void => {
      if (!isJsonObject(node)) return;
      for (const [element, child] of Object.entries(node)) {
        if (element === '.') {
          set.add(prefix);
          continue;
        }
        const path = [...prefix, element];
        if (!isJsonObject(child) || Object.keys(child).length === 0) set.add(path);
        else walk(child, path);
      }
    };
    if (trie !== undefined) walk(trie, []);
    return set;
  }
}

/**
 * True when `path` is a member of the set a FieldsV1 trie holds (what fromFieldsV1 would list),
 * found by descending the trie instead of parsing all of it.
 */
export function fieldsV1Has(trie: JsonValue | undefined, path: FieldPath): boolean {
  let node: JsonValue | undefined = trie;
  for (let i = 0; i < path.length; i++) {
    if (!isJsonObject(node)) return false;
    const element = path[i] as PathElement;
    if (!Object.hasOwn(node, element)) return false;
    const next: JsonValue = node[element] as JsonValue;
    if (i === path.length - 1) return !isJsonObject(next) || Object.hasOwn(next, '.') || Object.keys(next).length === 0;
    node = next;
  }
  // The empty path: the root itself is a member only when marked.
  return isJsonObject(node) && Object.hasOwn(node, '.');
}

function sortTrie(node: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(node).sort((a, b) => (a === '.' ? -1 : b === '.' ? 1 : a < b ? -1 : a > b ? 1 : 0))) {
    const child = node[key];
    out[key] = isJsonObject(child) ? sortTrie(child) : (child as JsonValue);
  }
  return out;
}

/** The `k:` element of an associative list item: its key fields, sorted, as JSON. */
export function keyElement(fields: [string, JsonValue][]): PathElement {
  const sorted = [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `k:${JSON.stringify(Object.fromEntries(sorted))}`;
}

/** A path as kube prints it in conflicts: `.spec.containers[name="c"].image`. */
export function pathString(path: FieldPath): string {
  return path
    .map((element) => {
      if (element.startsWith('f:')) return `.${element.slice(2)}`;
      if (element.startsWith('k:')) {
        const key = JSON.parse(element.slice(2)) as JsonObject;
        return `[${Object.entries(key)
          .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
          .join(',')}]`;
      }
      if (element.startsWith('v:')) return `[=${element.slice(2)}]`;
      if (element.startsWith('i:')) return `[${element.slice(2)}]`;
      return element;
    })
    .join('');
}
