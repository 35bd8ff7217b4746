/**
 * Seeded randomness, so a chaos run is reproducible from its seed: the fault schedule, which
 * nodes each fault hits, the garbage written into caches and the churn's choices all come from
 * here. Mersenne Twister (pure-rand), whose first outputs are well mixed even for small seeds.
 */
import { randomInt } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { mersenne } from 'pure-rand/generator/mersenne';

/** Seeds are unsigned 32-bit integers. */
export const MAX_SEED = 2 ** 32 - 1;

/** A fresh seed for a run that was not given one (printed in the report, so it can be replayed). */
export function newSeed(): number {
  return randomInt(0, 2 ** 31);
}

export class SeededRandom {
  private readonly generator: ReturnType<typeof mersenne>;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new RangeError(`seed must be an integer 0-${MAX_SEED}, got ${seed}`);
    this.generator = mersenne(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.generator);
  }

  /** A function with Math.random's contract, drawing from this stream. */
  get asFunction(): () => number {
    return () => this.next();
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** Integer uniform in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** `count` distinct items (all when there are fewer), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    const n = Math.min(count, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.next() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  }

  shuffle<T>(items: readonly T[]): T[] {
    return this.sample(items, items.length);
  }

  /** An independent stream for one purpose (a worker, the churn), fixed by this seed and `label`. */
  derive(label: number): SeededRandom {
    // splitmix32-style mixing, so neighbouring labels give unrelated seeds.
    let z = (this.seed + Math.imul(label + 1, 0x9e3779b9)) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return new SeededRandom((z ^ (z >>> 16)) >>> 0);
  }
}
