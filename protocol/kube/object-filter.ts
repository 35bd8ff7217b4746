/**
 * Which objects one list, watch or deletecollection request selects: the namespace in its path,
 * its labelSelector and its fieldSelector, combined, as both APIs read them.
 */
import type { JsonObject } from '../json.js';
import { FieldSelector, KUBE_FIELD_LABELS, parseFieldSelector, type FieldLabels } from './field-selector.js';
import { LabelSelector, parseLabelSelector } from './label-selector.js';
import { objectField } from './object-fields.js';

export class ObjectFilter {
  constructor(
    /** From the path; undefined selects every namespace (and cluster-scoped kinds). */
    readonly namespace: string | undefined,
    readonly labels: LabelSelector,
    readonly fields: FieldSelector,
  ) {}

  /** Parses the query parameters for objects of `kind`; throws SelectorError for a bad selector. */
  static parse(kind: string, namespace: string | undefined, labelSelector: string | null | undefined, fieldSelector: string | null | undefined, fieldLabels: FieldLabels = KUBE_FIELD_LABELS): ObjectFilter {
    return new ObjectFilter(namespace, parseLabelSelector(labelSelector ?? ''), parseFieldSelector(fieldSelector ?? '', kind, fieldLabels));
  }

  /** Selects the one object named `name` in `namespace`: a watch on an object's own path. */
  static named(namespace: string | undefined, name: string): ObjectFilter {
    return new ObjectFilter(namespace, new LabelSelector([]), new FieldSelector([]).withName(name));
  }

  /** The same filter narrowed to `name`, as `fieldSelector=metadata.name=NAME` would. */
  withName(name: string): ObjectFilter {
    return new ObjectFilter(this.namespace, this.labels, this.fields.withName(name));
  }

  /** True when only the namespace matters (which never changes for an object). */
  get selectsOnNamespaceOnly(): boolean {
    return this.labels.isEmpty && this.fields.isEmpty;
  }

  /** Whether the object, stored in `objectNamespace`, is selected. */
  matches(obj: JsonObject, objectNamespace: string): boolean {
    if (this.namespace !== undefined && this.namespace !== objectNamespace) return false;
    if (!this.labels.isEmpty && !this.labels.matches(objectField(objectField(obj, 'metadata'), 'labels'))) return false;
    return this.fields.isEmpty || this.fields.matches(obj);
  }

  /**
   * Whether an object with this namespace and name can be selected: false only when they alone
   * rule it out (another namespace, or a name or namespace field requirement that fails).
   */
  matchesName(namespace: string, name: string): boolean {
    if (this.namespace !== undefined && namespace !== this.namespace) return false;
    return this.fields.matchesName(namespace, name);
  }
}
