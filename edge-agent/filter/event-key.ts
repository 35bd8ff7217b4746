/**
 * Keys that group events inside one rule: the `key` of rateLimit, sample and aggregate, and the
 * content that dedupe compares. Values are read by path and written as canonical JSON (member
 * order does not matter), so `1` and `"1"` are different keys and a missing value is different
 * from `null`. Long keys are hashed: a key is held in memory for as long as its state lives,
 * and payloads can be large.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, type JsonValue } from '../../protocol/index.js';
import type { CandidateEvent } from './candidate.js';
import { parsePath, readPath, type EventPath } from './event-path.js';

/** Keys longer than this are replaced by a hash of themselves. */
const MAX_PLAIN_KEY = 200;
const MISSING = '\u0000';

/** What dedupe compares when a rule lists no `fields`: everything but the id and the time. */
export const DEFAULT_CONTENT_FIELDS = ['source', 'type', 'reason', 'object', 'topic', 'message', 'payload'] as const;

export interface KeyFunction {
  /** The paths the key is made of, as written in the rule. */
  readonly paths: readonly string[];
  /** The grouping key of `candidate`. */
  (candidate: CandidateEvent): string;
  /** The key's values, for summaries: `{ topic: 'sensors/t1' }`. Missing values are left out. */
  values(candidate: CandidateEvent): Record<string, JsonValue>;
}

/** A key over `paths`; no paths (or none given) puts every event of the rule in one group. */
export function compileKey(paths: readonly string[] | undefined, hashAlways = false): KeyFunction {
  const list = paths ?? [];
  const parsed: EventPath[] = list.map(parsePath);
  const key = (candidate: CandidateEvent): string => {
    let text = '';
    for (const path of parsed) {
      const value = readPath(candidate, path);
      text += `${value === undefined ? MISSING : canonicalJson(value)}\u0001`;
    }
    return hashAlways || text.length > MAX_PLAIN_KEY ? `#${createHash('sha256').update(text).digest('base64url').slice(0, 22)}` : text;
  };
  const values = (candidate: CandidateEvent): Record<string, JsonValue> => {
    const out: Record<string, JsonValue> = {};
    parsed.forEach((path, i) => {
      const value = readPath(candidate, path);
      if (value !== undefined) out[list[i] as string] = value;
    });
    return out;
  };
  return Object.assign(key, { paths: list, values });
}

/** What dedupe compares: the listed fields, or `DEFAULT_CONTENT_FIELDS`; always hashed (it includes the payload). */
export function compileContentKey(fields: readonly string[] | undefined): KeyFunction {
  return compileKey(fields ?? DEFAULT_CONTENT_FIELDS, true);
}
