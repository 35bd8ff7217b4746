/**
 * `SyncCache` in memory, for the simulator: thousands of virtual nodes share one process, so
 * an entry is the rv and the object the link handed over, nothing more. Objects are stored by
 * reference, never copied: the link decodes a fresh object per frame and nobody edits it.
 */
import { cacheDigest, type CacheEntry, type JsonObject, type SyncOp } from '../../protocol/index.js';
import { planApply } from './apply-plan.js';
import { ChangeNotifier, rethrowLater, type ChangeListener } from './change-notifier.js';
import type { ApplyResult, SyncCache } from './sync-cache.js';

interface MemoryEntry {
  rv: string;
  obj: JsonObject;
}

export interface MemoryCacheOptions {
  /** Receives what an `onChange` listener threw. Default: rethrown asynchronously, after `apply` returned. */
  onListenerError?: (error: unknown) => void;
}

export class MemoryCache implements SyncCache {
  private readonly objects = new Map<string, MemoryEntry>();
  private readonly notifier: ChangeNotifier;
  private digestMemo: string | undefined;

  constructor(options: MemoryCacheOptions = {}) {
    this.notifier = new ChangeNotifier(options.onListenerError ?? rethrowLater);
  }

  get size(): number {
    return this.objects.size;
  }

  digest(): string {
    this.digestMemo ??= cacheDigest(this.entries());
    return this.digestMemo;
  }

  *entries(): Iterable<CacheEntry> {
    for (const [key, entry] of this.objects) yield [key, entry.rv];
  }

  rvOf(key: string): string | undefined {
    return this.objects.get(key)?.rv;
  }

  *keysOfKind(kind: string): Iterable<string> {
    const prefix = `${kind}/`;
    for (const key of this.objects.keys()) if (key.startsWith(prefix)) yield key;
  }

  get(key: string): JsonObject | undefined {
    return this.objects.get(key)?.obj;
  }

  apply(ops: readonly SyncOp[]): ApplyResult {
    // Planning reads only; it is the part that can throw. Committing the plan to the Map
    // cannot, so a batch applies whole or not at all.
    const plan = planApply(ops, this);
    for (const [key, state] of plan.final) {
      if (state) this.objects.set(key, state);
      else this.objects.delete(key);
    }
    if (plan.changes.length > 0) this.digestMemo = undefined;
    this.notifier.emit(plan.changes);
    return { changes: plan.changes, needs: plan.needs, skipped: plan.skipped, refused: plan.refused };
  }

  onChange(listener: ChangeListener): () => void {
    return this.notifier.add(listener);
  }
}
