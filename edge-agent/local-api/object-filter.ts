/**
 * Which objects one list or watch request selects (protocol/kube/object-filter.ts: namespace,
 * labelSelector, fieldSelector), over the cache's keys: a watch must also know whether a
 * deletion, of which the cache keeps only the key, can be matched, hence `matchesKey`.
 */
import { parseKey, type JsonObject } from '../../protocol/index.js';
import { ObjectFilter as Selection, parseFieldSelector as parseKubeFieldSelector, type FieldLabels, type FieldSelector } from '../../protocol/kube/index.js';

/** The fields the agent selects on beyond metadata.name and metadata.namespace: the ones edge apps use. */
export const LOCAL_FIELD_LABELS: FieldLabels = { Pod: ['spec.nodeName'] };

/** A fieldSelector as the local API reads it: kube's parser, with the fields the agent serves. Throws SelectorError. */
export function parseFieldSelector(input: string, kind: string): FieldSelector {
  return parseKubeFieldSelector(input, kind, LOCAL_FIELD_LABELS);
}

export class ObjectFilter {
  constructor(readonly selection: Selection) {}

  /**
   * Parses the query parameters; throws SelectorError for a bad selector. `name` (a watch on
   * one object's path) selects that name, as `fieldSelector=metadata.name=NAME` would.
   */
  static fromQuery(kind: string, namespace: string | undefined, labelSelector: string | null, fieldSelector: string | null, name?: string): ObjectFilter {
    const selection = Selection.parse(kind, namespace, labelSelector, fieldSelector, LOCAL_FIELD_LABELS);
    return new ObjectFilter(name === undefined ? selection : selection.withName(name));
  }

  /** From the path; undefined lists every namespace (and cluster-scoped kinds). */
  get namespace(): string | undefined {
    return this.selection.namespace;
  }

  /** Whether the object (stored under `key`) is selected. */
  matches(key: string, obj: JsonObject): boolean {
    const ref = parseKey(key);
    return this.selection.matchesName(ref.namespace, ref.name) && this.selection.matches(obj, ref.namespace);
  }

  /**
   * Whether an object with this key can match: false only when the key alone rules it out
   * (another namespace, or a name or namespace field selector that fails).
   */
  matchesKey(key: string): boolean {
    const ref = parseKey(key);
    return this.selection.matchesName(ref.namespace, ref.name);
  }
}
