/**
 * A node's pending work, keyed by object: marking a key that is already pending keeps its
 * place and its first event time, so a newer version replaces an older one and a slow node
 * costs at most one entry per object. What to send is decided when the key is taken, from
 * the desired state as it is then (cloud-hub/session/desired-state.ts).
 */
export class SendQueue {
  private readonly pending = new Map<string, number>();

  get size(): number {
    return this.pending.size;
  }

  has(key: string): boolean {
    return this.pending.has(key);
  }

  /** Marks `key`; `at` is when the change that made it pending reached the hub. */
  mark(key: string, at: number): void {
    if (!this.pending.has(key)) this.pending.set(key, at);
  }

  /** Removes and returns the oldest pending key with its event time. */
  take(): [key: string, at: number] | undefined {
    for (const entry of this.pending) {
      this.pending.delete(entry[0]);
      return entry;
    }
    return undefined;
  }

  clear(): void {
    this.pending.clear();
  }
}
