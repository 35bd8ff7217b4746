/**
 * edge-agent/filter: the agent's upstream event rules. The event inputs (inputs/, the runtime)
 * offer candidates and the engine emits the `EdgeEvent`s that go to the outbox. This is the
 * engine's public surface, which does no I/O; the parts that do (inputs/, cloud-rules.ts,
 * upstream-events.ts) are imported by the agent directly. README.md has the rule syntax.
 */
export { CANDIDATE_MEMBERS, EVENT_SOURCES, candidateProblem, type CandidateEvent, type EventSource } from './candidate.js';
export { OUTCOMES, type FilterCounts, type FilterCountersSnapshot, type Outcome } from './counters.js';
export { DEFAULT_RULES, DEFAULT_RULES_DOCUMENT, DEFAULT_RULES_ORIGIN } from './default-rules.js';
export { formatDuration, parseDuration } from './duration.js';
export { DEFAULT_MAX_KEYS_PER_RULE, FilterEngine, type Decision, type FilterEngineOptions, type SetRulesResult } from './engine.js';
export { MAX_RULE_SET_BYTES, parseRuleSet, RuleSet, RuleSetError, validateRuleSet, type RuleSetIssue } from './rule-set.js';
export {
  ACTION_TYPES,
  type ActionDocument,
  type ActionSpec,
  type ActionType,
  type MatchDocument,
  type MatchSpec,
  type RuleDocument,
  type RuleSetDefaults,
  type RuleSetDocument,
  type RuleSetSpec,
  type RuleSpec,
} from './schema.js';
export { systemScheduler, type Scheduler, type TimerHandle } from './scheduler.js';
export { compileTopicFilter, topicFilterError } from './topic-filter.js';
