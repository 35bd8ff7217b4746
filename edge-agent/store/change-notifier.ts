/**
 * The listener list behind `SyncCache.onChange`. Its one job is the delivery rule: listeners
 * hear about a batch only after it committed, each gets the whole batch, and a listener that
 * throws neither stops the others nor reaches the caller of `apply` (whose batch *is*
 * committed; an exception there would make the link treat a stored batch as failed).
 */
import type { CacheChange } from './sync-cache.js';

export type ChangeListener = (changes: readonly CacheChange[]) => void;

export class ChangeNotifier {
  private listeners: ChangeListener[] = [];

  /** @param onListenerError receives what a listener threw; the caches log it or rethrow it asynchronously. */
  constructor(private readonly onListenerError: (error: unknown) => void) {}

  get listenerCount(): number {
    return this.listeners.length;
  }

  add(listener: ChangeListener): () => void {
    // A new array per change, so a listener that unsubscribes (itself or another) while a
    // batch is being delivered does not shift the iteration under `emit`.
    this.listeners = [...this.listeners, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners = [...this.listeners.slice(0, index), ...this.listeners.slice(index + 1)];
    };
  }

  emit(changes: readonly CacheChange[]): void {
    if (changes.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

/** The default for caches without a logger: surface the bug as an uncaught exception, but only after `apply` returned. */
export function rethrowLater(error: unknown): void {
  setImmediate(() => {
    throw error;
  });
}
