/**
 * The local API's read model: what it needs from the agent's cache, and nothing more. The
 * cache's change log (`ChangeLog`, or `CacheStore`, which serves the same reads) satisfies it
 * as it is; tests and a future read replica can provide their own. Narrow on purpose: the local
 * API only reads, so it gets no way to write.
 */
import type { CacheChange, ChangesSince, LocalObject } from '../store/index.js';

export interface LocalReadModel {
  /** The objects of `kind` (in `namespace`, when given) with their seqs, and the seq they were read at. */
  list(kind: string, namespace?: string): { seq: number; items: LocalObject[] };
  /**
   * Optional fast path for GET: one object with its seq. Without it a GET reads the object's
   * namespace with `list` and picks the key, because `get(key)` of the cache returns the body
   * without the seq that must be served as its resourceVersion.
   */
  getStored?(key: string): LocalObject | undefined;
  /** The seq of the latest committed change. */
  currentSeq(): number;
  /** The changes after `seq` (optionally of one kind), or `gone` when they are no longer known. */
  changesSince(seq: number, kind?: string): ChangesSince;
  /** Called after each committed batch (each change names its kind); returns the unsubscribe function. */
  onChange(listener: (changes: readonly CacheChange[]) => void): () => void;
}
