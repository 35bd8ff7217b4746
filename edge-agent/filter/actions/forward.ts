/** `forward`: every matching event goes upstream with the rule's priority and ttl. */
import type { CandidateEvent } from '../candidate.js';
import type { Outcome } from '../counters.js';
import type { Action, ActionContext } from './action.js';

export class ForwardAction implements Action {
  constructor(private readonly ctx: ActionContext) {}

  offer(candidate: CandidateEvent): Outcome {
    this.ctx.forward(candidate);
    return 'forwarded';
  }

  flush(): void {}

  close(): void {}
}
