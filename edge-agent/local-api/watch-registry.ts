/**
 * The open watches, and the one `onChange` subscription that wakes them. A committed batch
 * wakes only the watches of the kinds it touched; each then reads the cache itself
 * (watch-stream.ts), so this class never carries change data and cannot lose or reorder any.
 */
import type { CacheChange } from '../store/index.js';
import type { LocalReadModel } from './read-model.js';
import type { WatchStream } from './watch-stream.js';

export class WatchRegistry {
  private readonly watches = new Set<WatchStream>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly readModel: LocalReadModel) {}

  get size(): number {
    return this.watches.size;
  }

  /** Subscribes to the read model; until then (and after `closeAll`) nothing is woken. */
  open(): void {
    this.unsubscribe ??= this.readModel.onChange((changes) => this.wake(changes));
  }

  add(watch: WatchStream): void {
    this.watches.add(watch);
  }

  remove(watch: WatchStream): void {
    this.watches.delete(watch);
  }

  /** Ends every watch and stops listening to the read model. */
  closeAll(why: string): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const watch of [...this.watches]) watch.end(why);
    this.watches.clear();
  }

  private wake(changes: readonly CacheChange[]): void {
    if (this.watches.size === 0) return;
    const kinds = new Set<string>();
    for (const change of changes) kinds.add(change.kind);
    for (const watch of this.watches) if (kinds.has(watch.kind)) watch.wake();
  }
}
