/** The last N ids seen, to drop redeliveries of at-least-once traffic without unbounded memory. */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** True the first time `id` is seen (within the last `capacity` ids). */
  firstSighting(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
    return true;
  }

  /** Forgets `id`, so a redelivery of it is handled again (its first delivery failed). */
  forget(id: string): void {
    this.ids.delete(id);
  }
}
