/**
 * What the agent refused of the hub's `sync` ops on this session, and what to tell the hub.
 *
 * A refused op (store/object-rules.ts: a body that is not what its key says, a bad name, JSON
 * nested too deep) is answered with an `error` frame (E_SHAPE, the frame's `seq`, `ref: "sync"`)
 * and still acked with its frame: sending it again would not make it valid, and an unacked
 * frame would stall the hub's window. The hub now believes the node holds key@rv while the
 * cache does not, so `synced` would never match and the agent would reconnect and be refused
 * the same object forever. Instead the tracker remembers key -> rv of each refused op, and the
 * link accepts a `synced` whose digest equals the cache's digest with those entries laid over
 * it: in sync except for what it refused, knowingly, with a warning. A later op that applies to
 * the key forgets it; every new hello (a fresh resync) starts empty.
 */
import { mapDigest, type SyncFrame, type SyncOp } from '../../protocol/index.js';
import type { RefusedOp, SyncCache } from '../store/sync-cache.js';

/** More refused keys than this on one session: stop trusting the overlay (a resync follows). */
export const MAX_TRACKED_REFUSALS = 10_000;

export class RefusedOps {
  private readonly byKey = new Map<string, string>();
  private overflowed = false;

  get size(): number {
    return this.byKey.size;
  }

  keys(limit: number): string[] {
    return [...this.byKey.keys()].slice(0, limit);
  }

  clear(): void {
    this.byKey.clear();
    this.overflowed = false;
  }

  /** Records the outcome of one applied batch: refused ops are remembered, applied ones forget their key. */
  record(ops: readonly SyncOp[], refused: readonly RefusedOp[]): void {
    const refusedAt = new Map(refused.map((entry) => [entry.index, entry]));
    for (let index = 0; index < ops.length; index++) {
      const entry = refusedAt.get(index);
      const key = (ops[index] as SyncOp).key;
      if (!entry) {
        this.byKey.delete(key);
        continue;
      }
      if (this.byKey.size >= MAX_TRACKED_REFUSALS && !this.byKey.has(key)) {
        this.overflowed = true;
        continue;
      }
      this.byKey.set(key, entry.rv);
    }
  }

  /** Whether `digest` is the cache's digest once every refused op is counted as held. */
  explains(digest: string, cache: SyncCache): boolean {
    if (this.byKey.size === 0 || this.overflowed) return false;
    const expected = new Map(cache.entries());
    for (const [key, rv] of this.byKey) expected.set(key, rv);
    return mapDigest(expected) === digest;
  }
}

/** One `error` frame body per sync frame that had refused ops, naming each op by its path in that frame. */
export function refusalMessages(frames: readonly SyncFrame[], refused: readonly RefusedOp[]): Array<{ seq: number; msg: string }> {
  const messages: Array<{ seq: number; msg: string }> = [];
  let offset = 0;
  let next = 0;
  for (const frame of frames) {
    const end = offset + frame.ops.length;
    const parts: string[] = [];
    while (next < refused.length && (refused[next] as RefusedOp).index < end) {
      const entry = refused[next] as RefusedOp;
      parts.push(`ops.${entry.index - offset} (${entry.op} ${entry.key}): ${entry.reason}`);
      next++;
    }
    if (parts.length > 0) {
      const msg = `refused ${parts.length} of ${frame.ops.length} ops, the others applied: ${parts.join('; ')}`;
      messages.push({ seq: frame.seq, msg: msg.length > 4096 ? `${msg.slice(0, 4093)}...` : msg });
    }
    offset = end;
  }
  return messages;
}
