/**
 * The upstream event filter: candidates in, `EdgeEvent`s out. Rules are tried in order and the
 * first whose `match` holds decides; an event no rule matches gets `defaults.unmatched`. The
 * engine is synchronous and owns no I/O: `emit` is the caller's (the outbox writer), the clock
 * and timers are injected, and errors thrown by `emit` go back to whoever called the engine
 * (from timers: to `onError`).
 *
 * Swapping rule sets (`setRules`) flushes the old set first: pending aggregate summaries and
 * dedupe repeat counts are sent under the old rules, then every window, limit and sample
 * counter starts fresh under the new ones. Sending them keeps the counts honest; carrying state
 * over would need a notion of "the same rule" across two sets that nobody wrote down.
 */
import type { EdgeEvent } from '../../protocol/index.js';
import type { Action, ActionContext } from './actions/action.js';
import { createAction, forwarding } from './actions/create.js';
import { candidateProblem, type CandidateEvent } from './candidate.js';
import { FilterCounters, type FilterCountersSnapshot, type Outcome } from './counters.js';
import { DEFAULT_RULES } from './default-rules.js';
import { toEdgeEvent } from './edge-event.js';
import { compileMatch, type Predicate } from './matcher.js';
import { parseRuleSet, RuleSet, RuleSetError, validateRuleSet } from './rule-set.js';
import type { ActionSpec, RuleSetDefaults } from './schema.js';
import { systemScheduler, type Scheduler } from './scheduler.js';

/** Per-key entries one rule may hold (rate-limit windows, dedupe windows, aggregate buckets, sample counters). */
export const DEFAULT_MAX_KEYS_PER_RULE = 10_000;

export interface FilterEngineOptions {
  /** The rule set in force at start; `DEFAULT_RULES` when the cloud never sent one. */
  rules?: RuleSet;
  /** Wall clock, ms since the epoch: window starts, summary times and `expires`. */
  clock: () => number;
  /** Timers for window ends; Node's (unref'd) by default. */
  timers?: Scheduler;
  /** Receives every event that goes upstream, synchronously. */
  emit: (event: EdgeEvent) => void;
  maxKeysPerRule?: number;
  /** Errors thrown by `emit` when a timer sends (window ends), and by the flush of a replaced set. Rethrown by default. */
  onError?: (error: unknown) => void;
}

/** What became of one candidate, for metrics and debug logs. */
export interface Decision {
  /** The outcome (named like the counters): `forwarded`, `dropped`, `deduped`, `rateLimited`, `sampledOut`, `aggregated`, or `invalid`. */
  action: Outcome | 'invalid';
  /** The rule that decided; absent for unmatched and invalid candidates. */
  rule?: string;
  /** Why an `invalid` candidate could not be sent. */
  problem?: string;
}

export type SetRulesResult =
  /** The new set is in force; `flushed` events were sent from the old set's pending windows. */
  | { ok: true; rules: RuleSet; flushed: number }
  /** Rejected: the previous set stays in force. `error.issues` has one line per mistake. */
  | { ok: false; error: RuleSetError };

interface ActiveRule {
  name: string;
  matches: Predicate;
  action: Action;
}

interface ActiveSet {
  set: RuleSet;
  rules: ActiveRule[];
  unmatched: Action;
}

export class FilterEngine {
  private readonly clock: () => number;
  private readonly timers: Scheduler;
  private readonly emitEvent: (event: EdgeEvent) => void;
  private readonly maxKeys: number;
  private readonly onError: (error: unknown) => void;
  private readonly stats = new FilterCounters();
  private active: ActiveSet;
  private emitted = 0;
  private closed = false;

  constructor(options: FilterEngineOptions) {
    this.clock = options.clock;
    this.timers = options.timers ?? systemScheduler();
    this.emitEvent = options.emit;
    this.maxKeys = options.maxKeysPerRule ?? DEFAULT_MAX_KEYS_PER_RULE;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError(`maxKeysPerRule must be a positive integer, not ${this.maxKeys}`);
    this.onError =
      options.onError ??
      ((error) => {
        throw error;
      });
    this.active = this.activate(options.rules ?? DEFAULT_RULES);
  }

  /** The rule set in force. */
  get rules(): RuleSet {
    return this.active.set;
  }

  /** A snapshot of the counters (totals, per rule, unmatched). */
  get counters(): FilterCountersSnapshot {
    return this.stats.snapshot();
  }

  /** Decides about one candidate now, emitting whatever goes upstream before it returns. */
  offer(candidate: CandidateEvent): Decision {
    if (this.closed) throw new Error('FilterEngine is closed');
    const problem = candidateProblem(candidate);
    if (problem !== undefined) {
      this.stats.refused();
      return { action: 'invalid', problem };
    }
    for (const rule of this.active.rules) {
      if (!rule.matches(candidate)) continue;
      const outcome = rule.action.offer(candidate);
      this.stats.outcome(rule.name, outcome);
      return { action: outcome, rule: rule.name };
    }
    const outcome = this.active.unmatched.offer(candidate);
    this.stats.outcome(undefined, outcome);
    return { action: outcome };
  }

  /**
   * Puts a new rule set in force: YAML or JSON text, an already parsed document, or a `RuleSet`.
   * An invalid set is refused with every mistake listed and changes nothing.
   */
  setRules(source: string | unknown, origin: string): SetRulesResult {
    if (this.closed) throw new Error('FilterEngine is closed');
    let next: RuleSet;
    try {
      next = source instanceof RuleSet ? source : typeof source === 'string' ? parseRuleSet(source, origin) : validateRuleSet(source, origin);
    } catch (error) {
      if (error instanceof RuleSetError) return { ok: false, error };
      throw error;
    }
    const previous = this.active;
    this.active = this.activate(next);
    const before = this.emitted;
    try {
      this.flushSet(previous);
    } catch (error) {
      this.onError(error);
    } finally {
      this.closeSet(previous);
    }
    return { ok: true, rules: next, flushed: this.emitted - before };
  }

  /**
   * Sends what is pending now: every aggregate window ends with its summary, every dedupe window
   * reports its repeats (and stays open). For shutdown, and for tests. Returns how many events it sent.
   */
  flush(): number {
    if (this.closed) return 0;
    const before = this.emitted;
    this.flushSet(this.active);
    return this.emitted - before;
  }

  /** Cancels every timer and forgets all pending state without sending it (call `flush` first to keep it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeSet(this.active);
  }

  private flushSet(active: ActiveSet): void {
    for (const rule of active.rules) rule.action.flush();
    active.unmatched.flush();
  }

  private closeSet(active: ActiveSet): void {
    for (const rule of active.rules) rule.action.close();
    active.unmatched.close();
  }

  private activate(set: RuleSet): ActiveSet {
    return {
      set,
      rules: set.rules.map((rule) => ({ name: rule.name, matches: compileMatch(rule.match), action: createAction(rule.action, this.context(rule.name, rule.action, set.defaults)) })),
      unmatched: createAction(set.defaults.unmatched, this.context(undefined, set.defaults.unmatched, set.defaults)),
    };
  }

  private context(rule: string | undefined, spec: ActionSpec, defaults: RuleSetDefaults): ActionContext {
    const { priority = defaults.priority, ttl = defaults.ttl } = forwarding(spec);
    const { clock, timers, stats } = this;
    return {
      rule,
      clock,
      maxKeys: this.maxKeys,
      forward: (candidate, count) => this.send(toEdgeEvent(candidate, { priority, expires: clock() + ttl, ...(count !== undefined ? { count } : {}) })),
      summary: (candidate, count) => {
        this.send(toEdgeEvent(candidate, { priority, expires: clock() + ttl, count }));
        stats.summary(rule);
      },
      evicted: () => stats.evicted(rule),
      schedule: (ms, callback) =>
        timers.setTimeout(() => {
          try {
            callback();
          } catch (error) {
            this.onError(error);
          }
        }, ms),
      cancel: (handle) => timers.clearTimeout(handle),
    };
  }

  private send(event: EdgeEvent): void {
    this.emitEvent(event);
    this.emitted += 1;
  }
}
