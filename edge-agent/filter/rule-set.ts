/**
 * Rule sets as data: parse YAML or JSON text, validate it against schema.ts, and report every
 * mistake as one line that names the rule (index and name) and the field, for example
 * `rules[2] "sensor-limit": action.limit: expected a positive integer`. The lines go to the
 * agent's log, where the operator who edited the ConfigMap has to find the typo from them alone.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from '../../protocol/zod.js';
import { RuleSetSchema, type RuleSetDefaults, type RuleSpec, type RuleSetSpec } from './schema.js';

/** A ConfigMap holds at most 1 MiB; anything bigger did not come from one. */
export const MAX_RULE_SET_BYTES = 1024 * 1024;

/** A validated, normalized rule set. Get one from `parseRuleSet` or `validateRuleSet`; the constructor does not validate. */
export class RuleSet {
  readonly rules: readonly RuleSpec[];
  readonly defaults: RuleSetDefaults;

  /** `origin` says where the set came from (`ConfigMap edge-system/filter-rules`, `defaults`), for logs. */
  constructor(
    readonly origin: string,
    spec: RuleSetSpec,
  ) {
    this.rules = spec.rules;
    this.defaults = spec.defaults;
    Object.freeze(this);
  }
}

export type IssuePath = readonly (string | number)[];

export interface RuleSetIssue {
  /** Where in the document: `['rules', 2, 'action', 'limit']` (an unknown member's own name is the last segment). */
  path: IssuePath;
  /** The rule the issue is in, when it is in one. */
  rule?: { index: number; name?: string };
  /** The field inside the rule (or the document, outside rules): `action.limit`. Empty for the whole rule or document. */
  field: string;
  message: string;
  /** The line for the log: `rules[2] "sensor-limit": action.limit: expected a positive integer`. */
  text: string;
}

export class RuleSetError extends Error {
  override readonly name = 'RuleSetError';

  constructor(
    readonly origin: string,
    readonly issues: readonly RuleSetIssue[],
  ) {
    super(`invalid filter rules from ${origin}: ${issues.map((issue) => issue.text).join('; ')}`);
  }
}

/** Parses YAML (or JSON, which YAML 1.2 contains) and validates it. Throws a `RuleSetError`. */
export function parseRuleSet(text: string, origin: string): RuleSet {
  if (Buffer.byteLength(text, 'utf8') > MAX_RULE_SET_BYTES) throw documentError(origin, `the rule set is larger than ${MAX_RULE_SET_BYTES} bytes`);
  let document: unknown;
  try {
    // uniqueKeys: a key given twice is a mistake, and "the last one wins" would hide it.
    document = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      // The first line of the message names the problem and, when known, the line and column.
      throw documentError(origin, `not valid YAML or JSON: ${(error.message.split('\n')[0] ?? '').replace(/:$/, '')}`);
    }
    throw documentError(origin, `not valid YAML or JSON: ${String(error)}`);
  }
  return validateRuleSet(document, origin);
}

/** Validates an already parsed document (a ConfigMap value decoded elsewhere, or a TS constant). Throws a `RuleSetError`. */
export function validateRuleSet(document: unknown, origin: string): RuleSet {
  const result = RuleSetSchema.safeParse(document);
  if (!result.success) {
    // Document order: zod reports cross-rule checks (duplicate names) after the rules themselves.
    const issues = result.error.issues.map((issue) => describeIssue(issue, document));
    const order = (issue: RuleSetIssue): number => issue.rule?.index ?? -1;
    throw new RuleSetError(origin, issues.sort((a, b) => order(a) - order(b)));
  }
  return new RuleSet(origin, result.data);
}

function documentError(origin: string, message: string): RuleSetError {
  return new RuleSetError(origin, [{ path: [], field: '', message, text: message }]);
}

/** Turns a zod issue into one log line, reading rule names from the raw document. */
export function describeIssue(issue: z.core.$ZodIssue, document: unknown): RuleSetIssue {
  let path: (string | number)[] = [...issue.path].map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    // Name the unknown field itself, so the line points at the typo.
    path = [...path, ...(issue.keys.length === 1 ? [issue.keys[0] as string] : [])];
    message = issue.keys.length === 1 ? 'unknown field' : `unknown fields ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
  } else if (issue.code === 'invalid_key') {
    // A bad key in `fields` (a path): zod nests the reason one level down.
    message = issue.issues[0]?.message ?? message;
  }
  path = dropShorthandIndex(path, document);
  if (issue.code === 'invalid_type' && valueAt(document, path) === undefined && path.length > 0) message = `is missing (${message})`;

  const inRule = path[0] === 'rules' && typeof path[1] === 'number';
  const fieldPath = inRule ? path.slice(2) : path;
  const field = formatPath(fieldPath);
  let rule: RuleSetIssue['rule'];
  let prefix = '';
  if (inRule) {
    const index = path[1] as number;
    const name = valueAt(document, ['rules', index, 'name']);
    rule = typeof name === 'string' ? { index, name } : { index };
    prefix = `rules[${index}] ${typeof name === 'string' ? JSON.stringify(name) : '(unnamed)'}: `;
  }
  const text = `${prefix}${field === '' ? '' : `${field}: `}${message}`;
  return { path, ...(rule ? { rule } : {}), field, message, text };
}

/**
 * `reason: 7` is checked as the list `[7]`, so zod reports `reason[0]`; the author wrote no list,
 * so the line says `reason`.
 */
function dropShorthandIndex(path: (string | number)[], document: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  let value: unknown = document;
  for (const segment of path) {
    if (typeof segment === 'number' && !Array.isArray(value)) continue;
    out.push(segment);
    value = step(value, segment);
  }
  return out;
}

function step(value: unknown, segment: string | number): unknown {
  if (Array.isArray(value)) return typeof segment === 'number' ? value[segment] : undefined;
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, segment)) return (value as Record<string, unknown>)[segment];
  return undefined;
}

function valueAt(document: unknown, path: IssuePath): unknown {
  let value = document;
  for (const segment of path) value = step(value, segment);
  return value;
}

/** `['action', 'limit']` -> `action.limit`; `['match', 'fields', 'payload.t', 'gt']` -> `match.fields["payload.t"].gt`. */
export function formatPath(path: IssuePath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}
