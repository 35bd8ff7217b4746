/**
 * The agent's upstream event path: event inputs offer candidates, the filter decides, forwarded
 * events go into the SQLite outbox (so they survive being offline and a restart) and the
 * upstream pump sends them. Every decision and every outbox loss is counted.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EdgeEvent } from '../../protocol/index.js';
import type { UpstreamOutbox } from '../store/outbox.js';
import type { CandidateEvent } from './candidate.js';
import { FilterEngine, type Decision } from './engine.js';
import type { RuleSet } from './rule-set.js';

export interface UpstreamEventsOptions {
  outbox: UpstreamOutbox;
  logger: Logger;
  /** Wakes the upstream pump. */
  notify: () => void;
  rules?: RuleSet;
  clock?: () => number;
  /** Counts what the filter decided. */
  onDecision?: (decision: Decision) => void;
  /** Counts events the outbox refused for its byte budget. */
  onOverflow?: (event: EdgeEvent) => void;
}

export type NewCandidate = Omit<CandidateEvent, 'id' | 'ts'> & { ts?: number };

export class UpstreamEvents {
  readonly engine: FilterEngine;
  private readonly clock: () => number;

  constructor(private readonly options: UpstreamEventsOptions) {
    this.clock = options.clock ?? Date.now;
    this.engine = new FilterEngine({
      ...(options.rules ? { rules: options.rules } : {}),
      clock: this.clock,
      emit: (event) => this.enqueue(event),
      onError: (err) => options.logger.error({ err: (err as Error).message }, 'event filter failed to send'),
    });
  }

  /** Offers an event from a source; it gets its unique id here, at birth. */
  offer(candidate: NewCandidate): Decision {
    const decision = this.engine.offer({ ...candidate, id: randomUUID(), ts: candidate.ts ?? this.clock() });
    this.options.onDecision?.(decision);
    if (decision.action === 'invalid') this.options.logger.warn({ problem: decision.problem, reason: candidate.reason }, 'event not forwardable');
    return decision;
  }

  /** Sends pending aggregates now (shutdown). */
  close(): void {
    this.engine.flush();
    this.engine.close();
  }

  private enqueue(event: EdgeEvent): void {
    const id = this.options.outbox.add({
      kind: 'event',
      priority: event.priority,
      ...(event.expires !== undefined ? { expires: event.expires } : {}),
      body: event as never,
    });
    if (id === undefined) {
      this.options.onOverflow?.(event);
      this.options.logger.warn({ event: event.id, reason: event.reason, priority: event.priority }, 'outbox full: event dropped');
      return;
    }
    this.options.notify();
  }
}
