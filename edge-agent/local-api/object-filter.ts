/**
 * Which objects one list or watch request selects: the namespace in its path, its
 * labelSelector and its fieldSelector, combined. Watches also need to know whether a deletion
 * (of which the cache keeps only the key) can be matched, hence `matchesKey`.
 */
import { parseKey, type JsonObject } from '../../protocol/index.js';
import { parseLabelSelector, type LabelSelector } from '../../protocol/kube/index.js';
import { FieldSelector, parseFieldSelector } from './field-selector.js';

export class ObjectFilter {
  constructor(
    /** From the path; undefined lists every namespace (and cluster-scoped kinds). */
    readonly namespace: string | undefined,
    readonly labels: LabelSelector,
    readonly fields: FieldSelector,
  ) {}

  /**
   * Parses the query parameters; throws SelectorError for a bad selector. `name` (a watch on
   * one object's path) selects that name, as `fieldSelector=metadata.name=NAME` would.
   */
  static fromQuery(kind: string, namespace: string | undefined, labelSelector: string | null, fieldSelector: string | null, name?: string): ObjectFilter {
    const fields = parseFieldSelector(fieldSelector ?? '', kind);
    const named = name === undefined ? fields : new FieldSelector([...fields.requirements, { field: 'metadata.name', equal: true, value: name }]);
    return new ObjectFilter(namespace, parseLabelSelector(labelSelector ?? ''), named);
  }

  /** Whether the object (stored under `key`) is selected. */
  matches(key: string, obj: JsonObject): boolean {
    if (!this.matchesKey(key)) return false;
    if (!this.labels.isEmpty) {
      const metadata = obj.metadata;
      const labels = typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? metadata.labels : undefined;
      if (!this.labels.matches(typeof labels === 'object' && labels !== null && !Array.isArray(labels) ? labels : undefined)) return false;
    }
    return this.fields.matches(obj);
  }

  /**
   * Whether an object with this key can match: false only when the key alone rules it out
   * (another namespace, or a name or namespace field selector that fails).
   */
  matchesKey(key: string): boolean {
    const ref = parseKey(key);
    if (this.namespace !== undefined && ref.namespace !== this.namespace) return false;
    return this.fields.matchesName(ref.namespace, ref.name);
  }
}
