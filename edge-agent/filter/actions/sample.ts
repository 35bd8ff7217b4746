/**
 * `sample`: forwards the 1st, (N+1)th, (2N+1)th... matching event per key and passes over the
 * rest. A counter rather than a coin toss, so the result is reproducible and evenly spread;
 * the first event of a key always goes, so a rare key is never sampled away entirely.
 */
import type { CandidateEvent } from '../candidate.js';
import type { Outcome } from '../counters.js';
import { BoundedMap } from '../bounded-map.js';
import type { KeyFunction } from '../event-key.js';
import type { Action, ActionContext } from './action.js';

export class SampleAction implements Action {
  /** Key -> events seen since the last forwarded one. */
  private readonly seen: BoundedMap<string, number>;

  constructor(
    private readonly ctx: ActionContext,
    private readonly every: number,
    private readonly key: KeyFunction,
  ) {
    this.seen = new BoundedMap(ctx.maxKeys, () => ctx.evicted());
  }

  offer(candidate: CandidateEvent): Outcome {
    const key = this.key(candidate);
    const seen = this.seen.get(key) ?? 0;
    this.seen.set(key, (seen + 1) % this.every);
    if (seen !== 0) return 'sampledOut';
    this.ctx.forward(candidate);
    return 'forwarded';
  }

  flush(): void {}

  close(): void {
    this.seen.clear();
  }
}
