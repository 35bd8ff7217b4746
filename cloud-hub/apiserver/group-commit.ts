/**
 * Group commit: writes go into the storage's open batch and return at once; the batch commits at
 * the end of the event-loop turn (or at the next flush()), and only then do its changes reach the
 * watches and its writers hear that they are durable. One SQLite commit per turn instead of one
 * per write (see sqlite-storage.ts), and no watch or client ever sees a change a crash could take
 * back. Public reads flush first (registry.ts).
 *
 * A turn that handles many requests (64 keep-alive connections each with a write waiting) would
 * make the first of them wait for all the others: once the batch has been open for
 * `maxBatchMs`, it commits as soon as the write that noticed returns (a microtask, so a
 * synchronous chain of writes still lands in one commit) and those writers are answered.
 */
import type { ChangeInput, CommittedChange, SqliteObjectStorage } from './sqlite-storage.js';
import type { WatchFanout } from './watch-fanout.js';

export class GroupCommit {
  /** Changes of the open batch, published to watches when it commits. */
  private pending: CommittedChange[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  /** When the open batch took its first write (performance.now()). */
  private openedAt = 0;
  private flushSoon = false;

  constructor(
    private readonly storage: SqliteObjectStorage,
    private readonly fanout: WatchFanout,
    private readonly maxBatchMs = 2,
  ) {}

  /** Writes into the open batch, which is flushed at the end of this event-loop turn. */
  write(changes: ChangeInput[]): CommittedChange[] {
    for (const change of changes) {
      if (change.type === 'MODIFIED') continue;
      delete change.prev;
      delete change.prevBody;
    }
    const wasOpen = this.storage.hasPending;
    const committed = this.storage.commit(changes);
    this.pending.push(...committed);
    if (!wasOpen) this.openedAt = performance.now();
    this.flushTimer ??= setImmediate(() => {
      this.flushTimer = undefined;
      this.flush();
    });
    if (!this.flushSoon && performance.now() - this.openedAt >= this.maxBatchMs) {
      this.flushSoon = true;
      queueMicrotask(() => {
        this.flushSoon = false;
        this.flush();
      });
    }
    return committed;
  }

  /** Resolves when every write made so far is committed (rejects if that commit failed). */
  whenDurable(): Promise<void> {
    if (!this.storage.hasPending) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Commits the open batch now, then tells the watches and the waiting writers. */
  flush(): void {
    if (this.flushTimer) {
      clearImmediate(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (!this.storage.hasPending) return;
    const changes = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      this.storage.flush();
    } catch (err) {
      for (const waiter of waiters) waiter.reject(err);
      return;
    }
    this.fanout.publish(changes);
    for (const waiter of waiters) waiter.resolve();
  }
}
