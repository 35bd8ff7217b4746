/**
 * What every action is given and what it offers the engine. An action holds the per-key state of
 * one rule (one instance per rule per rule set), so swapping rule sets starts every window fresh.
 */
import type { CandidateEvent } from '../candidate.js';
import type { Outcome } from '../counters.js';
import type { TimerHandle } from '../scheduler.js';

export interface ActionContext {
  /** The rule's name, or undefined for `defaults.unmatched`; summaries carry it. */
  readonly rule: string | undefined;
  readonly clock: () => number;
  /** Cap on per-key entries (rate-limit, dedupe, sample and aggregate state). */
  readonly maxKeys: number;
  /** Sends `candidate` upstream as itself, with the rule's priority and expiry (and `count`). */
  forward(candidate: CandidateEvent, count?: number): void;
  /** Sends an event the filter made (an aggregate summary, a repeat count). */
  summary(candidate: CandidateEvent, count: number): void;
  /** Per-key state was pushed out by the cap. */
  evicted(): void;
  /** Runs `callback` after `ms`; errors it throws go to the engine's `onError`. */
  schedule(ms: number, callback: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
}

export interface Action {
  /** Decides about one candidate that matched the rule, forwarding it now if it should go. */
  offer(candidate: CandidateEvent): Outcome;
  /** Sends what is pending now (aggregate summaries, dedupe repeat counts). */
  flush(): void;
  /** Forgets all state and cancels timers, sending nothing. */
  close(): void;
}
