/**
 * The apply rules of protocol v1, once, for every cache: given a batch of ops and a read-only
 * view of what is stored, work out what the batch changes without writing anything. The caches
 * then commit the plan their own way (Map updates, one SQLite transaction) and announce it.
 *
 * - `put` stores the object at rv.
 * - `patch` applies the RFC 7386 merge patch only when the cached rv is `baseRv`; otherwise it
 *   applies nothing for that key and the key goes into `needs` (the hub answers with a `put`).
 * - Any op whose `rv` equals the cached rv is a duplicate (a resent frame) and is skipped.
 * - `del` of an absent key is a no-op, counted as skipped like a duplicate.
 * - A `put` whose object, or a `patch` whose patch or result, breaks the rules of
 *   object-rules.ts is refused: not applied, listed in `refused`, the key left as it was.
 *
 * Ops apply in order, so an op sees what earlier ops of the same batch did.
 */
import { keyError, mergePatch, type JsonObject, type SyncOp } from '../../protocol/index.js';
import { depthError, objectError } from './object-rules.js';
import type { ApplyResult, CacheChange, RefusedOp } from './sync-cache.js';

/** What a cache shows the planner. */
export interface CacheView {
  rvOf(key: string): string | undefined;
  /** The stored object, or undefined when the key is absent or its body cannot be read. */
  get(key: string): JsonObject | undefined;
  /**
   * Optional: the change for a put that replaces the stored object at `key`, when the cache
   * has a cheaper way to provide its `previous` than `get` (the SQLite cache decodes it only
   * when read; see ReplacingPut).
   */
  replacingPut?(key: string, kind: string, rv: string, obj: JsonObject): CacheChange;
}

/** A key's state at the end of the batch: the stored rv and object, or null when deleted. */
export type FinalState = { rv: string; obj: JsonObject } | null;

export interface ApplyPlan extends ApplyResult {
  /** Only keys the batch changed. */
  final: Map<string, FinalState>;
}

/** The kind part of a key that passed keyError (`Kind/namespace/name`). */
function kindOfKey(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

export function planApply(ops: readonly SyncOp[], view: CacheView): ApplyPlan {
  const final = new Map<string, FinalState>();
  const changes: CacheChange[] = [];
  const needs = new Set<string>();
  const refused: RefusedOp[] = [];
  let skipped = 0;

  const rvNow = (key: string): string | undefined => (final.has(key) ? final.get(key)?.rv : view.rvOf(key));

  const attachPrevious = (change: CacheChange): void => {
    const key = change.key;
    if (final.has(key)) {
      const pending = final.get(key);
      if (pending) change.previous = pending.obj;
      return;
    }
    if (view.rvOf(key) === undefined) return;
    const previous = view.get(key);
    if (previous) change.previous = previous;
  };

  for (let index = 0; index < ops.length; index++) {
    const op = ops[index] as SyncOp;
    const why = keyError(op.key);
    // A malformed key fails the whole batch: the SQLite cache could not file it, and a batch
    // either applies whole or not at all.
    if (why !== undefined) throw new Error(`op ${index} (${op.op}) has an invalid key ${JSON.stringify(op.key)}: ${why}`);
    const cachedRv = rvNow(op.key);
    const kind = kindOfKey(op.key);

    if (op.op === 'del') {
      if (cachedRv === undefined) {
        skipped++;
        continue;
      }
      const change: CacheChange = { type: 'del', kind, key: op.key };
      attachPrevious(change);
      changes.push(change);
      final.set(op.key, null);
      needs.delete(op.key);
      continue;
    }

    if (op.op === 'put') {
      const why = objectError(op.key, op.obj);
      if (why !== undefined) {
        refused.push({ index, op: 'put', key: op.key, rv: op.rv, reason: why });
        continue;
      }
    }

    if (cachedRv === op.rv) {
      skipped++;
      continue;
    }

    if (op.op === 'put') {
      let change: CacheChange;
      if (view.replacingPut && !final.has(op.key) && cachedRv !== undefined) {
        change = view.replacingPut(op.key, kind, op.rv, op.obj);
      } else {
        change = { type: 'put', kind, key: op.key, rv: op.rv, obj: op.obj };
        attachPrevious(change);
      }
      changes.push(change);
      final.set(op.key, { rv: op.rv, obj: op.obj });
      needs.delete(op.key);
      continue;
    }

    // patch
    if (cachedRv !== op.baseRv) {
      needs.add(op.key);
      continue;
    }
    const base = final.has(op.key) ? final.get(op.key)?.obj : view.get(op.key);
    if (base === undefined) {
      // The rv matched but the body is unreadable (the SQLite cache dropped it): ask again.
      needs.add(op.key);
      continue;
    }
    const patchWhy = depthError(op.patch);
    if (patchWhy !== undefined) {
      refused.push({ index, op: 'patch', key: op.key, rv: op.rv, reason: `the patch is ${patchWhy}` });
      continue;
    }
    const obj = mergePatch.apply(base, op.patch) as JsonObject;
    const resultWhy = objectError(op.key, obj);
    if (resultWhy !== undefined) {
      refused.push({ index, op: 'patch', key: op.key, rv: op.rv, reason: `after the patch, ${resultWhy}` });
      continue;
    }
    changes.push({ type: 'put', kind, key: op.key, rv: op.rv, obj, previous: base });
    final.set(op.key, { rv: op.rv, obj });
  }

  return { changes, needs: [...needs], skipped, refused, final };
}
