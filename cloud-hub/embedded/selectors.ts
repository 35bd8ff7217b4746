/**
 * Label and field selectors, parsed as kube-apiserver parses the `labelSelector` and
 * `fieldSelector` query parameters and matched against plain JSON objects.
 *
 * Label selectors: comma-separated requirements, each one of `k=v`, `k==v`, `k!=v`,
 * `k in (a,b)`, `k notin (a)`, `k` (exists), `!k` (does not exist), `k>n`, `k<n`.
 * `!=` and `notin` also match objects without the label, as in Kubernetes.
 *
 * Field selectors: comma-separated `path=value`, `path==value`, `path!=value` over the fields
 * each kind supports (`metadata.name` and `metadata.namespace` for all; `spec.nodeName`,
 * `status.phase`, ... for pods; see FIELD_LABELS). Values may escape `\,`, `\=` and `\\`.
 */
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { labelsOf } from './objects.js';
import { statusErrors } from './status-errors.js';

type LabelOperator = 'exists' | 'notexists' | 'eq' | 'neq' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export interface FieldRequirement {
  field: string;
  operator: 'eq' | 'neq';
  value: string;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a valid label key (a qualified name with an optional DNS prefix), or undefined. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return 'prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined. */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

function parseError(selector: string, detail: string): Error {
  return statusErrors.badRequest(`unable to parse requirement: ${detail} (in selector ${JSON.stringify(selector)})`);
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  const trimmed = selector.trim();
  if (trimmed === '') return [];
  const requirements: LabelRequirement[] = [];
  for (const rawPart of splitTopLevel(trimmed)) {
    const part = rawPart.trim();
    if (part === '') throw parseError(selector, 'found \'\', expected: identifier');
    requirements.push(parseLabelRequirement(selector, part));
  }
  return requirements;
}

function parseLabelRequirement(selector: string, part: string): LabelRequirement {
  if (part.startsWith('!')) {
    const key = part.slice(1).trim();
    checkKey(selector, key);
    return { key, operator: 'notexists', values: [] };
  }
  const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (setMatch) {
    const key = setMatch[1] as string;
    checkKey(selector, key);
    const values = (setMatch[3] as string).split(',').map((value) => value.trim());
    if (values.length === 1 && values[0] === '') throw parseError(selector, `for 'in', 'notin' operators, values set can't be empty`);
    for (const value of values) checkValue(selector, key, value);
    return { key, operator: setMatch[2] === 'in' ? 'in' : 'notin', values };
  }
  const opMatch = /^([^=!<>\s]+)\s*(==|!=|=|<|>)\s*(.*)$/.exec(part);
  if (opMatch) {
    const key = opMatch[1] as string;
    const op = opMatch[2] as string;
    const value = (opMatch[3] as string).trim();
    checkKey(selector, key);
    if (op === '<' || op === '>') {
      if (!/^-?\d+$/.test(value)) throw parseError(selector, `for 'Gt', 'Lt' operators, the value must be an integer`);
      return { key, operator: op === '<' ? 'lt' : 'gt', values: [value] };
    }
    checkValue(selector, key, value);
    return { key, operator: op === '!=' ? 'neq' : 'eq', values: [value] };
  }
  if (/^\S+$/.test(part)) {
    checkKey(selector, part);
    return { key: part, operator: 'exists', values: [] };
  }
  throw parseError(selector, `invalid requirement ${JSON.stringify(part)}`);
}

function checkKey(selector: string, key: string): void {
  const why = labelKeyError(key);
  if (why) throw parseError(selector, `key: Invalid value: ${JSON.stringify(key)}: ${why}`);
}

function checkValue(selector: string, key: string, value: string): void {
  const why = labelValueError(value);
  if (why) throw parseError(selector, `values[0][${key}]: Invalid value: ${JSON.stringify(value)}: ${why}`);
}

export function labelsMatch(requirements: readonly LabelRequirement[], labels: Record<string, string>): boolean {
  for (const req of requirements) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    switch (req.operator) {
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'eq':
      case 'in':
        if (!has || !req.values.includes(value as string)) return false;
        break;
      case 'neq':
      case 'notin':
        if (has && req.values.includes(value as string)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value as string)) return false;
        const actual = Number(value);
        const bound = Number(req.values[0]);
        if (req.operator === 'gt' ? !(actual > bound) : !(actual < bound)) return false;
        break;
      }
    }
  }
  return true;
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
    readonly labels: readonly LabelRequirement[],
    readonly fields: readonly FieldRequirement[],
  ) {}

  static parse(namespace: string | undefined, labelSelector: string | undefined, fieldSelector: string | undefined, kind: string): ObjectFilter {
    return new ObjectFilter(namespace, parseLabelSelector(labelSelector ?? ''), parseFieldSelector(fieldSelector ?? '', kind));
  }

  /** True when only the namespace matters (which never changes for an object). */
  get selectsOnNamespaceOnly(): boolean {
    return this.labels.length === 0 && this.fields.length === 0;
  }

  matches(obj: JsonObject, objectNamespace: string): boolean {
    if (this.namespace !== undefined && this.namespace !== objectNamespace) return false;
    if (this.labels.length > 0 && !labelsMatch(this.labels, labelsOf(obj))) return false;
    if (this.fields.length > 0 && !fieldsMatch(this.fields, obj)) return false;
    return true;
  }
}
