/**
 * Kubernetes field selectors (`fieldSelector=` on list and watch): comma-separated terms
 * `field=value`, `field==value` or `field!=value`, all of which must hold, with `\,`, `\=` and
 * `\\` escaping those characters in values. Like kube-apiserver, each kind accepts only the
 * fields it indexes, and any other field is a 400 ("field label not supported"); the agent
 * supports the ones edge apps use: `metadata.name`, `metadata.namespace` and, for Pods,
 * `spec.nodeName`.
 */
import { type JsonObject } from '../../protocol/index.js';
import { SelectorError } from '../../protocol/kube/index.js';

export interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

/** The fields each kind can be selected on. */
const SUPPORTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['metadata.name', 'metadata.namespace', 'spec.nodeName'],
};
const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Fields whose value is part of the object's key, so a deletion (which keeps only the key) can be matched. */
const KEY_FIELDS = new Set(['metadata.name', 'metadata.namespace']);

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  get isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  matches(obj: JsonObject): boolean {
    return this.requirements.every((req) => (fieldValue(obj, req.field) === req.value) === req.equal);
  }

  /** Whether the requirements on name and namespace (the others are not checked) hold for this key's namespace and name. */
  matchesName(namespace: string, name: string): boolean {
    return this.requirements.every((req) => {
      if (!KEY_FIELDS.has(req.field)) return true;
      const actual = req.field === 'metadata.name' ? name : namespace;
      return (actual === req.value) === req.equal;
    });
  }
}

/** The string value of a dotted field path; absent fields read as "" (as kube's field sets do). */
function fieldValue(obj: JsonObject, path: string): string {
  let current: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
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
  throw new SelectorError(`invalid field selector ${JSON.stringify(input)}: '${term}' is not of the form field=value, field==value or field!=value`);
}

/** Parses a fieldSelector query value for objects of `kind`; the empty string selects everything. Throws SelectorError. */
export function parseFieldSelector(input: string, kind: string): FieldSelector {
  if (input.trim() === '') return new FieldSelector([]);
  const supported = SUPPORTED_FIELDS[kind] ?? COMMON_FIELDS;
  // Empty terms ("a=b,") are skipped, as kube does.
  const requirements = splitTerms(input)
    .filter((term) => term !== '')
    .map((term) => parseTerm(term, input));
  for (const req of requirements) {
    if (!supported.includes(req.field)) {
      throw new SelectorError(`field label not supported: ${req.field} (${kind} supports ${supported.join(', ')})`);
    }
  }
  return new FieldSelector(requirements);
}
