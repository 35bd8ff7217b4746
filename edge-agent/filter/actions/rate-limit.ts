/**
 * `rateLimit`: at most `limit` events per key in each `interval`. A key's window opens with its
 * first event and lasts `interval` (fixed windows: the rule reads as "N per interval" and costs
 * two numbers per key). Events over the limit are counted, and the next event forwarded for
 * that key carries `count` = 1 + how many were held back before it, so the cloud still learns
 * how often a crash loop fired. A clock that jumps back opens a new window.
 */
import type { CandidateEvent } from '../candidate.js';
import type { Outcome } from '../counters.js';
import { BoundedMap } from '../bounded-map.js';
import type { KeyFunction } from '../event-key.js';
import type { Action, ActionContext } from './action.js';

interface RateWindow {
  start: number;
  used: number;
  /** Held back since the last forwarded event of this key. */
  suppressed: number;
}

export class RateLimitAction implements Action {
  private readonly windows: BoundedMap<string, RateWindow>;

  constructor(
    private readonly ctx: ActionContext,
    private readonly limit: number,
    private readonly interval: number,
    private readonly key: KeyFunction,
  ) {
    this.windows = new BoundedMap(ctx.maxKeys, () => ctx.evicted());
  }

  offer(candidate: CandidateEvent): Outcome {
    const now = this.ctx.clock();
    const key = this.key(candidate);
    let window = this.windows.get(key);
    if (!window) {
      window = { start: now, used: 0, suppressed: 0 };
      this.windows.set(key, window);
    } else if (now < window.start || now - window.start >= this.interval) {
      window.start = now;
      window.used = 0;
    }
    if (window.used >= this.limit) {
      window.suppressed += 1;
      return 'rateLimited';
    }
    window.used += 1;
    const count = window.suppressed > 0 ? window.suppressed + 1 : undefined;
    window.suppressed = 0;
    this.ctx.forward(candidate, count);
    return 'forwarded';
  }

  /** Nothing is pending: held-back events are only a number, carried by the next forwarded one. */
  flush(): void {}

  close(): void {
    this.windows.clear();
  }
}
