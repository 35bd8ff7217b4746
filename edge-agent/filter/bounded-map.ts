/**
 * A Map with a fixed capacity that evicts the least recently used entry. Per-key filter state
 * (rate-limit windows, dedupe windows, aggregate buckets) is keyed by values that local apps
 * control (sensor ids, topics); without a cap a chatty or hostile publisher grows the agent's
 * memory without bound. Map iteration order is insertion order, so "touch" is delete + set and
 * the oldest entry is the first one.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  /** `onEvict` sees every entry pushed out by the cap (not those removed by `delete` or `clear`). */
  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** The value, leaving the order alone (for timers checking their own entry). */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Stores `value` as most recently used, evicting the least recently used entry when full. */
  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.capacity) this.evictOldest();
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** A snapshot, oldest first, so callers may delete while they walk it. */
  entries(): [K, V][] {
    return [...this.map.entries()];
  }

  private evictOldest(): void {
    const oldest = this.map.entries().next();
    if (oldest.done) return;
    const [key, value] = oldest.value;
    this.map.delete(key);
    this.onEvict?.(key, value);
  }
}
