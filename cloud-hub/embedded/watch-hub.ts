/**
 * Fan-out of committed changes to the open watches of a resource. Changes are published right
 * after their transaction commits, synchronously, so a watch that replays history and then
 * subscribes in the same tick neither misses nor repeats a change.
 */
import type { CommittedChange } from './storage.js';

export type ChangeListener = (change: CommittedChange) => void;

export class WatchHub {
  private readonly listeners = new Map<string, Set<ChangeListener>>();

  /** Calls `listener` for every change of `resource` from now on; returns the unsubscribe function. */
  subscribe(resource: string, listener: ChangeListener): () => void {
    let set = this.listeners.get(resource);
    if (!set) {
      set = new Set();
      this.listeners.set(resource, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(resource) === set) this.listeners.delete(resource);
    };
  }

  publish(changes: readonly CommittedChange[]): void {
    for (const change of changes) {
      const set = this.listeners.get(change.resource);
      if (!set) continue;
      // A listener may unsubscribe (its client went away) while we iterate: copy first.
      for (const listener of [...set]) listener(change);
    }
  }

  get watchCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
