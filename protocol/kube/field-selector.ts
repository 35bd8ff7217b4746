/**
 * Kubernetes field selectors (`fieldSelector=` on list, watch and deletecollection):
 * comma-separated terms `field=value`, `field==value` or `field!=value`, all of which must hold,
 * with `\,`, `\=` and `\\` escaping those characters in values; empty terms are skipped, as kube
 * does. Like kube-apiserver, each kind accepts only the fields it supports, and any other field is
 * "field label not supported". Which fields those are is configuration: KUBE_FIELD_LABELS are
 * kube-apiserver's (the hub's API server serves them all); the agent's local API passes the
 * fewer it serves.
 */
import { isJsonObject, type JsonObject } from '../json.js';
import { SelectorError } from './label-selector.js';

export interface FieldRequirement {
  field: string;
  /** `=`/`==` (true) or `!=` (false). */
  equal: boolean;
  value: string;
}

/** The fields a kind can be selected on beyond metadata.name and metadata.namespace, by kind. */
export type FieldLabels = Readonly<Record<string, readonly string[]>>;

/** kube-apiserver's field labels for the kinds edge-sync serves. */
export const KUBE_FIELD_LABELS: FieldLabels = {
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

const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Fields whose value is part of an object's key, so a deletion that kept only the key can still be matched. */
const KEY_FIELDS = new Set(COMMON_FIELDS);

/** Boolean fields kube's field sets hold as "false" when the object leaves them out. */
const FALSE_WHEN_ABSENT = new Set(['spec.unschedulable', 'spec.hostNetwork']);

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  get isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  matches(obj: JsonObject): boolean {
    return this.requirements.every((req) => (fieldValue(obj, req.field) === req.value) === req.equal);
  }

  /** Whether the requirements on name and namespace (the others are not checked) hold for this namespace and name. */
  matchesName(namespace: string, name: string): boolean {
    return this.requirements.every((req) => {
      if (!KEY_FIELDS.has(req.field)) return true;
      const actual = req.field === 'metadata.name' ? name : namespace;
      return (actual === req.value) === req.equal;
    });
  }

  /** The same requirements and `metadata.name=name` (a watch on one object's path). */
  withName(name: string): FieldSelector {
    return new FieldSelector([...this.requirements, { field: 'metadata.name', equal: true, value: name }]);
  }
}

/** The string value of a field label as kube's field sets hold it: absent fields are "", numbers and booleans their text. */
function fieldValue(obj: JsonObject, path: string): string {
  // An Event's `source` field label is its source.component.
  if (path === 'source') return fieldValue(obj, 'source.component');
  let current: unknown = obj;
  for (const part of path.split('.')) {
    if (!isJsonObject(current)) return '';
    current = current[part];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  if (current === undefined || current === null) return FALSE_WHEN_ABSENT.has(path) ? 'false' : '';
  return '';
}

/** Splits on unescaped commas, keeping escapes for the term parser. */
function splitTerms(input: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    const ch = input.charAt(i);
    if (ch === '\\') i++;
    else if (ch === ',') {
      terms.push(input.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(input.slice(start));
  return terms;
}

function unescape(value: string, input: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value.charAt(i);
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const escaped = value.charAt(i + 1);
    if (escaped !== '\\' && escaped !== ',' && escaped !== '=') throw new SelectorError(`invalid field selector ${JSON.stringify(input)}: invalid escape sequence '\\${escaped}'`);
    out += escaped;
    i++;
  }
  return out;
}

function parseTerm(term: string, input: string): FieldRequirement {
  // The first operator wins, as in kube: field names never contain '=' or '!'.
  for (let i = 0; i < term.length; i++) {
    const rest = term.slice(i);
    for (const [op, equal] of [['!=', false], ['==', true], ['=', true]] as const) {
      if (rest.startsWith(op)) {
        return { field: term.slice(0, i).trim(), equal, value: unescape(term.slice(i + op.length), input) };
      }
    }
  }
  throw new SelectorError(`invalid selector: '${input}'; can't understand '${term}': not of the form field=value, field==value or field!=value`);
}

/**
 * Parses a fieldSelector query value for objects of `kind`, accepting the fields `fieldLabels`
 * gives that kind (and metadata.name and metadata.namespace). The empty string selects
 * everything. Throws SelectorError, which both APIs answer with 400 BadRequest.
 */
export function parseFieldSelector(input: string, kind: string, fieldLabels: FieldLabels = KUBE_FIELD_LABELS): FieldSelector {
  if (input.trim() === '') return new FieldSelector([]);
  const supported = new Set([...COMMON_FIELDS, ...(fieldLabels[kind] ?? [])]);
  const requirements = splitTerms(input)
    .filter((term) => term !== '')
    .map((term) => parseTerm(term, input));
  for (const req of requirements) {
    if (!supported.has(req.field)) throw new SelectorError(`field label not supported: ${req.field}`);
  }
  return new FieldSelector(requirements);
}
