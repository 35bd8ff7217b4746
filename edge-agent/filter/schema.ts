/**
 * The rule-set document as zod schemas: what `parseRuleSet` accepts, and the normalized shape it
 * returns (durations in ms, one-or-many fields as lists, shorthands expanded). Every schema
 * carries its own message, worded for the operator who wrote the YAML, because those messages
 * are the whole error report (see rule-set.ts for how they are prefixed with rule and field).
 * Objects are strict: a misspelt field (`windw`) is an error, not a silently ignored option.
 */
import { z } from '../../protocol/zod.js';
import type { JsonValue } from '../../protocol/index.js';
import { EVENT_SOURCES, MAX_REASON, MAX_TYPE, type EventSource } from './candidate.js';
import { parseDuration } from './duration.js';
import { pathError } from './event-path.js';
import { objectGlobError } from './object-glob.js';
import { topicFilterError } from './topic-filter.js';

/** `z.preprocess` of zod's classic API, which zod/mini spells out: a transform piped into the schema. */
function preprocess<T extends z.core.$ZodType<unknown, unknown>>(fn: (value: unknown) => unknown, schema: T) {
  return z.pipe<z.ZodMiniTransform, T>(z.transform(fn), schema);
}

/**
 * `z.json(params)` of zod's classic API: any JSON value, `params` (the message) on its string
 * member, as classic places it (zod/mini's `z.json()` takes none).
 */
function jsonValue(params: { error: string }) {
  const schema: z.ZodMiniType<z.JSONType> = z.lazy(() => z.union([z.string(params), z.number(), z.boolean(), z.null(), z.array(schema), z.record(z.string(), schema)]));
  return schema;
}

export const ACTION_TYPES = ['forward', 'drop', 'dedupe', 'rateLimit', 'sample', 'aggregate'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

/** Windows and intervals are timer delays: Node's timers overflow past 24.8 days, and a filter window longer than a day is a different tool. */
export const MAX_WINDOW_MS = 86_400_000;
export const MAX_TTL_MS = 365 * 86_400_000;
export const MAX_RULES = 1000;
const MAX_LIST = 256;

/** `reason: BackOff` and `reason: [BackOff, Failed]` both become a list. */
function oneOrMany<T extends z.core.SomeType>(item: T, what: string) {
  return preprocess(
    (value) => (value === undefined || Array.isArray(value) ? value : [value]),
    z.array(item, { error: `expected ${what} or a list of them` }).check(z.minLength(1, { error: `expected ${what} or a non-empty list of them` }), z.maxLength(MAX_LIST, { error: `at most ${MAX_LIST} entries` })),
  );
}

function checked(what: string, maxLength: number, problem: (text: string) => string | undefined) {
  return z.string({ error: `expected ${what}` }).check(
    z.superRefine((text, ctx) => {
      const why = text.length > maxLength ? `at most ${maxLength} characters` : problem(text);
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
    }),
  );
}

const PATH_WHAT = 'a dotted path such as payload.value';
const path = checked(PATH_WHAT, 1024, pathError);
const nonEmpty = (what: string, max: number) => z.string({ error: `expected ${what}` }).check(z.minLength(1, { error: `expected ${what}` }), z.maxLength(max, { error: `at most ${max} characters` }));

function duration(maxMs: number, maxText: string) {
  const message = 'expected a duration such as 30s, 5m, 1h or 7d';
  return z.pipe(
    z.string({ error: message }),
    // zod/mini's transform context has no addIssue: the issue goes on the payload, as addIssue would put it.
    z.transform((text: string, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) {
        ctx.issues.push({ code: 'custom', message, input: text });
        return z.NEVER;
      }
      if (ms > maxMs) {
        ctx.issues.push({ code: 'custom', message: `at most ${maxText}`, input: text });
        return z.NEVER;
      }
      return ms;
    }),
  );
}

const POSITIVE = 'expected a positive integer';
const positiveInt = z.int({ error: POSITIVE }).check(z.gte(1, { error: POSITIVE }), z.lte(1_000_000_000, { error: 'at most 1000000000' }));
const PRIORITY = 'expected an integer from 0 to 9';
const priority = z.int({ error: PRIORITY }).check(z.gte(0, { error: PRIORITY }), z.lte(9, { error: PRIORITY }));
const window = duration(MAX_WINDOW_MS, '1d');
const ttl = duration(MAX_TTL_MS, '365d');
const keyPaths = oneOrMany(path, PATH_WHAT);

// ---- match ---------------------------------------------------------------------------------

const OPERATORS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'exists'] as const;
const json = jsonValue({ error: 'expected a JSON value' });
const number = z.number({ error: 'expected a number' });

const FieldConditionSchema = preprocess(
  // `payload.level: debug` is `{eq: debug}`, `payload.level: [debug, trace]` is `{in: [...]}`.
  (value) => (Array.isArray(value) ? { in: value } : value === null || typeof value !== 'object' ? { eq: value } : value),
  z
    .strictObject(
      {
        eq: z.optional(json),
        ne: z.optional(json),
        in: z.optional(z.array(json, { error: 'expected a list of values' }).check(z.minLength(1, { error: 'expected a non-empty list of values' }), z.maxLength(MAX_LIST, { error: `at most ${MAX_LIST} values` }))),
        gt: z.optional(number),
        gte: z.optional(number),
        lt: z.optional(number),
        lte: z.optional(number),
        exists: z.optional(z.boolean({ error: 'expected true or false' })),
      },
      { error: `expected a value or a mapping of ${OPERATORS.join(', ')}` },
    )
    .check(
      z.refine((condition) => OPERATORS.some((operator) => condition[operator] !== undefined), {
        error: `expected at least one of ${OPERATORS.join(', ')}`,
        // Only when the condition is otherwise fine: after `between: ...` (unknown), this would be noise.
        when: (payload) => payload.issues.length === 0,
      }),
    ),
);

export const MatchSchema = z.strictObject(
  {
    source: z.optional(oneOrMany(z.enum(EVENT_SOURCES, { error: `expected one of ${EVENT_SOURCES.join(', ')}` }), 'a source')),
    type: z.optional(oneOrMany(nonEmpty('an event type', MAX_TYPE), 'an event type')),
    reason: z.optional(oneOrMany(nonEmpty('a reason', MAX_REASON), 'a reason')),
    object: z.optional(oneOrMany(checked('an object key pattern such as Pod/*/web-*', 1024, objectGlobError), 'an object key pattern')),
    topic: z.optional(oneOrMany(checked('an MQTT topic filter such as sensors/#', 1024, topicFilterError), 'an MQTT topic filter')),
    fields: z.optional(
      z.record(path, FieldConditionSchema, { error: 'expected a mapping of path: condition' }).check(z.refine((fields) => Object.keys(fields).length <= 64, { error: 'at most 64 field conditions' })),
    ),
  },
  { error: 'expected a mapping of conditions (source, type, reason, object, topic, fields)' },
);

// ---- action --------------------------------------------------------------------------------

const forwarding = { priority: z.optional(priority), ttl: z.optional(ttl) };

const ActionObjectSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('forward'), ...forwarding }),
    z.strictObject({ type: z.literal('drop') }),
    z.strictObject({ type: z.literal('dedupe'), window, fields: z.optional(keyPaths), ...forwarding }),
    z.strictObject({ type: z.literal('rateLimit'), limit: positiveInt, interval: window, key: z.optional(keyPaths), ...forwarding }),
    z.strictObject({ type: z.literal('sample'), every: positiveInt, key: z.optional(keyPaths), ...forwarding }),
    z.strictObject({ type: z.literal('aggregate'), window, key: z.optional(keyPaths), field: z.optional(path), ...forwarding }),
  ],
  {
    error: (issue) =>
      (issue.code as string) === 'invalid_type' ? `expected an action name (${ACTION_TYPES.join(', ')}) or a mapping with a type` : `expected one of ${ACTION_TYPES.join(', ')}`,
  },
);

/** `action: drop` is `{type: drop}`. */
export const ActionSchema = preprocess((value) => (typeof value === 'string' ? { type: value } : value), ActionObjectSchema);

// ---- rules and the document ----------------------------------------------------------------

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const RuleSchema = z.strictObject(
  {
    name: z.string({ error: 'expected a rule name' }).check(z.regex(NAME, { error: 'expected 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit' })),
    /** No `match` (or an empty one) matches every event: a catch-all. */
    match: z._default(MatchSchema, {}),
    action: ActionSchema,
  },
  { error: 'expected a mapping with name, match and action' },
);

export const DefaultsSchema = z.strictObject(
  {
    /** Priority of whatever is forwarded by an action that names none. */
    priority: z._default(priority, 5),
    /** Lifetime of whatever is forwarded by an action that names none. */
    ttl: z._default(ttl, 86_400_000),
    /** What happens to an event no rule matches. */
    unmatched: z._default(ActionSchema, { type: 'forward' }),
  },
  { error: 'expected a mapping of priority, ttl and unmatched' },
);

export const RuleSetSchema = z.strictObject(
  {
    defaults: z._default(DefaultsSchema, { priority: 5, ttl: 86_400_000, unmatched: { type: 'forward' } }),
    rules: z.array(RuleSchema, { error: 'expected a list of rules' }).check(
      z.maxLength(MAX_RULES, { error: `at most ${MAX_RULES} rules` }),
      z.superRefine(
        (rules: readonly unknown[], ctx) => {
          // Counters and decisions are reported by rule name, so two rules must not share one.
          // `when` runs this even when other rules are broken, so every mistake shows at once;
          // the rules may therefore still be raw input here.
          const seen = new Map<string, number>();
          rules.forEach((rule, index) => {
            const name = typeof rule === 'object' && rule !== null ? (rule as { name?: unknown }).name : undefined;
            if (typeof name !== 'string') return;
            const first = seen.get(name);
            if (first !== undefined) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate of rules[${first}]` });
            else seen.set(name, index);
          });
        },
        { when: (payload) => Array.isArray(payload.value) },
      ),
    ),
  },
  { error: 'expected a mapping with a rules list (and optional defaults)' },
);

export type MatchSpec = z.output<typeof MatchSchema>;
export type ActionSpec = z.output<typeof ActionObjectSchema>;
export type RuleSpec = z.output<typeof RuleSchema>;
export type RuleSetDefaults = z.output<typeof DefaultsSchema>;
export type RuleSetSpec = z.output<typeof RuleSetSchema>;
// The document as an author writes it (YAML, JSON, or a TS constant such as the defaults),
// before validation: durations as text, shorthands allowed. Written out by hand because zod
// types the input of a preprocessed field as `unknown`, which would check nothing.

type OneOrMany<T> = T | readonly T[];
type Scalar = string | number | boolean | null;
type ConditionDocument = Scalar | readonly JsonValue[] | { eq?: JsonValue; ne?: JsonValue; in?: readonly JsonValue[]; gt?: number; gte?: number; lt?: number; lte?: number; exists?: boolean };
type Forwarding = { priority?: number; ttl?: string };

export interface MatchDocument {
  source?: OneOrMany<EventSource>;
  type?: OneOrMany<string>;
  reason?: OneOrMany<string>;
  object?: OneOrMany<string>;
  topic?: OneOrMany<string>;
  fields?: Record<string, ConditionDocument>;
}

export type ActionDocument =
  | ActionType
  | ({ type: 'forward' } & Forwarding)
  | { type: 'drop' }
  | ({ type: 'dedupe'; window: string; fields?: OneOrMany<string> } & Forwarding)
  | ({ type: 'rateLimit'; limit: number; interval: string; key?: OneOrMany<string> } & Forwarding)
  | ({ type: 'sample'; every: number; key?: OneOrMany<string> } & Forwarding)
  | ({ type: 'aggregate'; window: string; key?: OneOrMany<string>; field?: string } & Forwarding);

export interface RuleDocument {
  name: string;
  match?: MatchDocument;
  action: ActionDocument;
}

export interface RuleSetDocument {
  defaults?: { priority?: number; ttl?: string; unmatched?: ActionDocument };
  rules: readonly RuleDocument[];
}
