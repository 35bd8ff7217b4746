/**
 * The timers the filter uses for window ends (aggregates, dedupe follow-ups). Injected, so tests
 * drive time with a fake scheduler instead of sleeping, and the engine owns no global timer.
 */

/** Whatever the scheduler's `setTimeout` returns; only ever handed back to its `clearTimeout`. */
export type TimerHandle = unknown;

export interface Scheduler {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's timers, unref'd: a pending aggregate window must not keep the agent alive at shutdown
 * (the agent calls `flush()` and `close()` instead). A new object per call, not a shared one.
 */
export function systemScheduler(): Scheduler {
  return {
    setTimeout(callback, ms) {
      const timer = setTimeout(callback, ms);
      timer.unref();
      return timer;
    },
    clearTimeout(handle) {
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
}
