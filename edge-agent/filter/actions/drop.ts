/** `drop`: matching events stop here (counted, never sent). */
import type { Outcome } from '../counters.js';
import type { Action } from './action.js';

export class DropAction implements Action {
  offer(): Outcome {
    return 'dropped';
  }

  flush(): void {}

  close(): void {}
}
