/**
 * A rule's `match` compiled into one predicate. Every condition given must hold; a condition
 * with a list holds when any entry does. Cheap checks (exact strings) run before topic filters,
 * globs and payload paths, since most candidates fail on the first condition.
 */
import type { CandidateEvent } from './candidate.js';
import { conditionHolds } from './conditions.js';
import { parsePath, readPath } from './event-path.js';
import { compileObjectGlob } from './object-glob.js';
import type { MatchSpec } from './schema.js';
import { compileTopicFilter } from './topic-filter.js';

export type Predicate = (candidate: CandidateEvent) => boolean;

export function compileMatch(match: MatchSpec): Predicate {
  const checks: Predicate[] = [];
  if (match.source) {
    const sources: ReadonlySet<string> = new Set(match.source);
    checks.push((c) => sources.has(c.source));
  }
  if (match.type) {
    const types: ReadonlySet<string> = new Set(match.type);
    checks.push((c) => types.has(c.type));
  }
  if (match.reason) {
    const reasons: ReadonlySet<string> = new Set(match.reason);
    checks.push((c) => reasons.has(c.reason));
  }
  if (match.topic) {
    const filters = match.topic.map(compileTopicFilter);
    checks.push((c) => c.topic !== undefined && filters.some((matches) => matches(c.topic as string)));
  }
  if (match.object) {
    const globs = match.object.map(compileObjectGlob);
    checks.push((c) => c.object !== undefined && globs.some((matches) => matches(c.object as string)));
  }
  for (const [text, condition] of Object.entries(match.fields ?? {})) {
    const path = parsePath(text);
    checks.push((c) => conditionHolds(condition, readPath(c, path)));
  }
  if (checks.length === 0) return () => true;
  return (candidate) => {
    for (const check of checks) if (!check(candidate)) return false;
    return true;
  };
}
