/**
 * What the filter did, for metrics: one count per outcome, in total and per rule. Counters only
 * grow (Prometheus counters must), also across rule-set swaps; a rule that disappears keeps its
 * last numbers.
 */

/** What became of one offered candidate. */
export const OUTCOMES = ['forwarded', 'dropped', 'deduped', 'rateLimited', 'sampledOut', 'aggregated'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface FilterCounts {
  /** Candidates offered (in total) or matched (per rule). */
  offered: number;
  /** Candidates sent upstream as themselves. */
  forwarded: number;
  /** Dropped by a `drop` action. */
  dropped: number;
  /** Repeats a `dedupe` action counted instead of sending. */
  deduped: number;
  /** Over a `rateLimit` action's limit. */
  rateLimited: number;
  /** Passed over by a `sample` action. */
  sampledOut: number;
  /** Folded into an `aggregate` summary. */
  aggregated: number;
  /** Events the filter made up and sent: aggregate summaries and dedupe repeat counts. */
  summaries: number;
  /** Per-key state pushed out by the per-rule cap (a sign of too many distinct keys). */
  evicted: number;
}

export interface FilterCountersSnapshot extends FilterCounts {
  /** Candidates refused before any rule saw them (they could not become a valid `EdgeEvent`). */
  invalid: number;
  /** By rule name. */
  rules: Record<string, FilterCounts>;
  /** Candidates no rule matched, handled by `defaults.unmatched`. */
  unmatched: FilterCounts;
}

export function zeroCounts(): FilterCounts {
  return { offered: 0, forwarded: 0, dropped: 0, deduped: 0, rateLimited: 0, sampledOut: 0, aggregated: 0, summaries: 0, evicted: 0 };
}

/** The counters of one engine. `rule` undefined means the unmatched defaults. */
export class FilterCounters {
  private readonly total = zeroCounts();
  private readonly unmatched = zeroCounts();
  private readonly byRule = new Map<string, FilterCounts>();
  private invalid = 0;

  outcome(rule: string | undefined, outcome: Outcome): void {
    const counts = this.of(rule);
    this.total.offered += 1;
    this.total[outcome] += 1;
    counts.offered += 1;
    counts[outcome] += 1;
  }

  summary(rule: string | undefined): void {
    this.total.summaries += 1;
    this.of(rule).summaries += 1;
  }

  evicted(rule: string | undefined): void {
    this.total.evicted += 1;
    this.of(rule).evicted += 1;
  }

  refused(): void {
    this.total.offered += 1;
    this.invalid += 1;
  }

  snapshot(): FilterCountersSnapshot {
    const rules: Record<string, FilterCounts> = {};
    for (const [name, counts] of this.byRule) rules[name] = { ...counts };
    return { ...this.total, invalid: this.invalid, rules, unmatched: { ...this.unmatched } };
  }

  private of(rule: string | undefined): FilterCounts {
    if (rule === undefined) return this.unmatched;
    let counts = this.byRule.get(rule);
    if (!counts) {
      counts = zeroCounts();
      this.byRule.set(rule, counts);
    }
    return counts;
  }
}
