/**
 * The cache contract both edge caches implement: `CacheStore` (SQLite, the agent) and
 * `MemoryCache` (Maps, the simulator's thousands of virtual nodes). The link applies `sync`
 * batches through it and reads the digest for `hello`; the reconciler, the filter's cloud rules
 * and the local API follow `onChange`, each picking the kinds it cares about by `change.kind`.
 * The rules of `apply` are the protocol's (protocol/README.md, "Steady stream") and live in one
 * place, `planApply`, so the two caches cannot drift apart.
 */
import type { CacheEntry, JsonObject, SyncOp } from '../../protocol/index.js';

/**
 * One committed change to one key. `obj` is the object now stored (put), `previous` the one it
 * replaced or removed (absent when there was none). Both are read-only: caches hand out the
 * objects they hold or decode, and a listener that edits one corrupts what others see.
 */
export interface CacheChange {
  type: 'put' | 'del';
  /** The object's kind (the first part of its key), so listeners never parse keys. */
  kind: string;
  key: string;
  rv?: string;
  obj?: JsonObject;
  previous?: JsonObject;
}

/**
 * What a batch did. `changes` lists what was committed, in op order; `needs` the keys whose
 * `patch` could not apply (cached rv is not `baseRv`), which the link asks for with `need`;
 * `skipped` counts ops that were already in effect (an op whose rv equals the cached rv, or a
 * `del` of an absent key). A key listed in `needs` that a later op of the same batch put or
 * deleted is not listed: nothing is missing any more.
 */
export interface ApplyResult {
  changes: CacheChange[];
  needs: string[];
  skipped: number;
  /**
   * Ops not applied because their object breaks the rules in object-rules.ts (a body that is
   * not what its key says, an invalid name, nesting too deep), in op order. The rest of the
   * batch applies; the key keeps what it held before.
   */
  refused: RefusedOp[];
}

export interface RefusedOp {
  /** Position of the op in the batch. */
  index: number;
  op: 'put' | 'patch';
  key: string;
  /** The rv the op would have stored: the hub now believes the node holds key@rv. */
  rv: string;
  reason: string;
}

export interface SyncCache {
  readonly size: number;
  /** cacheDigest over [key, rv] (memoised; invalidated on change). */
  digest(): string;
  /** [key, rv] pairs. */
  entries(): Iterable<CacheEntry>;
  rvOf(key: string): string | undefined;
  /** The keys of the objects of one kind (`Pod`, `ConfigMap`, ...), in no particular order. */
  keysOfKind(kind: string): Iterable<string>;
  /** The object, or undefined when absent (or, in the SQLite cache, unreadable). Never writes. */
  get(key: string): JsonObject | undefined;
  /** All ops in ONE transaction: a batch that throws leaves the cache as it was. Ops whose object breaks the rules are refused, not applied (`refused`). */
  apply(ops: readonly SyncOp[]): ApplyResult;
  /** Called after commit, never for a batch that failed. Returns the unsubscribe function. */
  onChange(listener: (changes: readonly CacheChange[]) => void): () => void;
}
