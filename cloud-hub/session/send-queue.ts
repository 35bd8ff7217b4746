/**
 * A node's pending work, keyed by object: marking a key that is already pending keeps its
 * place and its first event time, so a newer version replaces an older one and a slow node
 * costs at most one entry per object. What to send is decided when the key is taken, from
 * the desired state as it is then (cloud-hub/session/desired-state.ts).
 *
 * Idle, a node has nothing pending: the map exists only while something is (one idle node
 * of ten thousand costs no table).
 */
export class SendQueue {
  private pending?: Map<string, number>;

  get size(): number {
    return this.pending?.size ?? 0;
  }

  has(key: string): boolean {
    return this.pending?.has(key) ?? false;
  }

  /** Marks `key`; `at` is when the change that made it pending reached the hub. */
  mark(key: string, at: number): void {
    const pending = (this.pending ??= new Map());
    if (!pending.has(key)) pending.set(key, at);
  }

  /** Removes and returns the oldest pending key with its event time. */
  take(): [key: string, at: number] | undefined {
    const pending = this.pending;
    if (!pending) return undefined;
    for (const entry of pending) {
      pending.delete(entry[0]);
      if (pending.size === 0) this.pending = undefined;
      return entry;
    }
    this.pending = undefined;
    return undefined;
  }

  clear(): void {
    this.pending = undefined;
  }
}
