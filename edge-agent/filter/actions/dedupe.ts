/**
 * `dedupe`: the first event of a given content goes at once; identical events within `window`
 * after it are only counted. When the window ends with repeats counted, one follow-up goes: the
 * last repeat itself (its own id, never sent before) with `count` = the number of repeats, so
 * the counts of what arrives upstream add up to what happened. "Content" is the rule's `fields`
 * or, by default, source, type, reason, object, topic, message and payload: everything but the
 * id and the time. A clock that jumps back opens a new window.
 */
import type { CandidateEvent } from '../candidate.js';
import type { Outcome } from '../counters.js';
import { BoundedMap } from '../bounded-map.js';
import type { KeyFunction } from '../event-key.js';
import type { TimerHandle } from '../scheduler.js';
import type { Action, ActionContext } from './action.js';

interface DedupeWindow {
  start: number;
  repeats: number;
  last?: CandidateEvent;
  /** Set once the window has a repeat to report: a timer only for windows that need one. */
  timer?: TimerHandle;
}

export class DedupeAction implements Action {
  private readonly windows: BoundedMap<string, DedupeWindow>;

  constructor(
    private readonly ctx: ActionContext,
    private readonly window: number,
    private readonly content: KeyFunction,
  ) {
    // An evicted window reports its repeats early rather than losing them.
    this.windows = new BoundedMap(ctx.maxKeys, (_key, entry) => {
      ctx.evicted();
      this.report(entry);
    });
  }

  offer(candidate: CandidateEvent): Outcome {
    const now = this.ctx.clock();
    const key = this.content(candidate);
    const open = this.windows.get(key);
    if (open && now >= open.start && now - open.start < this.window) {
      open.repeats += 1;
      open.last = candidate;
      open.timer ??= this.ctx.schedule(open.start + this.window - now, () => {
        open.timer = undefined;
        if (this.windows.peek(key) === open) this.windows.delete(key);
        this.report(open);
      });
      return 'deduped';
    }
    // The window is over (its timer may not have fired yet): its count goes before the new first.
    if (open) this.report(open);
    this.windows.set(key, { start: now, repeats: 0 });
    this.ctx.forward(candidate);
    return 'forwarded';
  }

  /** Reports every window's repeats now; the windows stay open and count from zero again. */
  flush(): void {
    for (const [, entry] of this.windows.entries()) this.report(entry);
  }

  close(): void {
    for (const [, entry] of this.windows.entries()) this.cancel(entry);
    this.windows.clear();
  }

  private report(entry: DedupeWindow): void {
    this.cancel(entry);
    const { repeats, last } = entry;
    entry.repeats = 0;
    entry.last = undefined;
    if (repeats > 0 && last) this.ctx.summary(last, repeats);
  }

  private cancel(entry: DedupeWindow): void {
    if (entry.timer === undefined) return;
    this.ctx.cancel(entry.timer);
    entry.timer = undefined;
  }
}
