/**
 * Test helpers for the filter: a fake clock and scheduler (time moves only when a test says so,
 * and timers fire in due order as it does), and a harness that runs an engine over them,
 * checking every emitted event against the protocol's `EdgeEvent` schema.
 */
import { EdgeEventSchema, type EdgeEvent } from '../../../protocol/index.js';
import { FilterEngine, parseRuleSet, validateRuleSet, type CandidateEvent, type FilterEngineOptions, type RuleSet, type RuleSetDocument, type Scheduler } from '../../../edge-agent/filter/index.js';

export const T0 = 1_700_000_000_000;

interface FakeTimer {
  at: number;
  seq: number;
  callback: () => void;
}

export class FakeTime implements Scheduler {
  now: number;
  private readonly timers = new Map<number, FakeTimer>();
  private seq = 0;

  constructor(start = T0) {
    this.now = start;
  }

  readonly clock = (): number => this.now;

  setTimeout(callback: () => void, ms: number): number {
    this.seq += 1;
    this.timers.set(this.seq, { at: this.now + Math.max(0, ms), seq: this.seq, callback });
    return this.seq;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves the clock forward by `ms`, firing every timer that falls due on the way, in order, at its due time. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      let nextId = 0;
      for (const [id, timer] of this.timers) {
        if (timer.at > target) continue;
        if (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq)) {
          next = timer;
          nextId = id;
        }
      }
      if (!next) break;
      this.timers.delete(nextId);
      this.now = next.at;
      next.callback();
    }
    this.now = target;
  }
}

export interface Harness {
  time: FakeTime;
  sent: EdgeEvent[];
  engine: FilterEngine;
  /** Offers a candidate built from `fields` and returns the decision. */
  offer: (fields?: Partial<CandidateEvent>) => ReturnType<FilterEngine['offer']>;
}

let ids = 0;

/** A candidate with sensible values for whatever `fields` leaves out; ids are unique. */
export function candidate(fields: Partial<CandidateEvent> = {}, now = T0): CandidateEvent {
  ids += 1;
  return { id: `ev-${ids}`, ts: now, source: 'pod', type: 'Normal', reason: 'Started', ...fields };
}

export function ruleSet(rules: string | RuleSetDocument): RuleSet {
  return typeof rules === 'string' ? parseRuleSet(rules, 'test') : validateRuleSet(rules, 'test');
}

export function harness(rules?: string | RuleSetDocument, options: Partial<FilterEngineOptions> = {}): Harness {
  const time = new FakeTime();
  const sent: EdgeEvent[] = [];
  const engine = new FilterEngine({
    ...(rules !== undefined ? { rules: ruleSet(rules) } : {}),
    clock: time.clock,
    timers: time,
    emit: (event) => {
      // Whatever the filter sends must be a valid event frame member.
      EdgeEventSchema.parse(event);
      sent.push(event);
    },
    ...options,
  });
  return { time, sent, engine, offer: (fields = {}) => engine.offer(candidate(fields, time.now)) };
}
