/**
 * Label and field selectors, parsed as kube-apiserver parses the `labelSelector` and
 * `fieldSelector` query parameters and matched against plain JSON objects.
 *
 * Label selectors are protocol/kube/label-selector.ts (the agent's local API reads them too).
 *
 * Field selectors: comma-separated `path=value`, `path==value`, `path!=value` over the fields
 * each kind supports (`metadata.name` and `metadata.namespace` for all; `spec.nodeName`,
 * `status.phase`, ... for pods; see FIELD_LABELS). Values may escape `\,`, `\=` and `\\`.
 */
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { parseLabelSelector, SelectorError, type LabelSelector } from '../../protocol/kube/index.js';
import { labelsOf } from './objects.js';
import { statusErrors } from './status-errors.js';

export interface FieldRequirement {
  field: string;
  operator: 'eq' | 'neq';
  value: string;
}

/** Parses a labelSelector as kube-apiserver does; a bad one is a 400 BadRequest. */
function parseLabels(selector: string): LabelSelector {
  try {
    return parseLabelSelector(selector);
  } catch (err) {
    if (err instanceof SelectorError) throw statusErrors.badRequest(err.message);
    throw err;
  }
}

/** Field labels each kind supports beyond metadata.name and metadata.namespace (as in kube). */
const FIELD_LABELS: Record<string, readonly string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Node: ['spec.unschedulable'],
  Secret: ['type'],
  Namespace: ['status.phase'],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
};

function unescapeFieldValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** Splits on separators that are not escaped with a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      current += c + (text[i + 1] as string);
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

export function parseFieldSelector(selector: string, kind: string): FieldRequirement[] {
  const trimmed = selector.trim();
  if (trimmed === '') return [];
  const supported = new Set(['metadata.name', 'metadata.namespace', ...(FIELD_LABELS[kind] ?? [])]);
  const requirements: FieldRequirement[] = [];
  for (const part of splitUnescaped(trimmed, ',')) {
    const match = /^([^=!]+?)\s*(==|!=|=)(.*)$/s.exec(part.trim());
    if (!match) throw statusErrors.badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = (match[1] as string).trim();
    if (!supported.has(field)) throw statusErrors.badRequest(`field label not supported: ${field}`);
    requirements.push({ field, operator: match[2] === '!=' ? 'neq' : 'eq', value: unescapeFieldValue(match[3] as string) });
  }
  return requirements;
}

/** The string value of a field label for matching: missing fields are '' and booleans 'true'/'false', as in kube. */
function fieldValue(obj: JsonObject, path: string): string {
  if (path === 'source') {
    const source = obj.source;
    return isJsonObject(source) && typeof source.component === 'string' ? source.component : '';
  }
  let current: unknown = obj;
  for (const part of path.split('.')) {
    if (!isJsonObject(current)) return '';
    current = current[part];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'boolean' || typeof current === 'number') return String(current);
  if (current === undefined || current === null) return path === 'spec.unschedulable' || path === 'spec.hostNetwork' ? 'false' : '';
  return '';
}

export function fieldsMatch(requirements: readonly FieldRequirement[], obj: JsonObject): boolean {
  for (const req of requirements) {
    const actual = fieldValue(obj, req.field);
    if (req.operator === 'eq' ? actual !== req.value : actual === req.value) return false;
  }
  return true;
}

/** Everything a list or watch filters on: namespace, labels, fields. */
export class ObjectFilter {
  constructor(
    readonly namespace: string | undefined,
    readonly labels: LabelSelector,
    readonly fields: readonly FieldRequirement[],
  ) {}

  static parse(namespace: string | undefined, labelSelector: string | undefined, fieldSelector: string | undefined, kind: string): ObjectFilter {
    return new ObjectFilter(namespace, parseLabels(labelSelector ?? ''), parseFieldSelector(fieldSelector ?? '', kind));
  }

  /** True when only the namespace matters (which never changes for an object). */
  get selectsOnNamespaceOnly(): boolean {
    return this.labels.isEmpty && this.fields.length === 0;
  }

  matches(obj: JsonObject, objectNamespace: string): boolean {
    if (this.namespace !== undefined && this.namespace !== objectNamespace) return false;
    if (!this.labels.isEmpty && !this.labels.matches(labelsOf(obj))) return false;
    if (this.fields.length > 0 && !fieldsMatch(this.fields, obj)) return false;
    return true;
  }
}
