/**
 * Fan-out of committed changes to the open watches of a resource. Changes are published right
 * after their batch commits, synchronously, so a watch that replays history and then
 * subscribes in the same tick neither misses nor repeats a change. Each watch gets the batch's
 * changes of its resource in one call, so it can write them to its client in one go.
 */
import type { CommittedChange } from './sqlite-storage.js';

/** Receives committed changes of one resource, oldest first. */
export type ChangeListener = (changes: readonly CommittedChange[]) => void;

export class WatchFanout {
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
    const byResource = new Map<string, CommittedChange[]>();
    for (const change of changes) {
      if (!this.listeners.has(change.resource)) continue;
      const batch = byResource.get(change.resource);
      if (batch) batch.push(change);
      else byResource.set(change.resource, [change]);
    }
    for (const [resource, batch] of byResource) {
      const set = this.listeners.get(resource);
      if (!set) continue;
      // A listener may unsubscribe (its client went away) while we iterate: copy first.
      for (const listener of [...set]) listener(batch);
    }
  }

  get watchCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
