/**
 * Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff and Jitter"):
 * the n-th retry waits a uniformly random time in [0, min(cap, base * 2^n)). Thousands of
 * agents cut off by the same outage therefore come back spread out instead of in one wave.
 * Hand-written because it is three lines; the retry libraries on npm wrap a promise-returning
 * call, while a link reconnects from events and resets after a stable connection.
 */
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  random?: () => number;
}

export class FullJitterBackoff {
  private attempt = 0;
  readonly baseMs: number;
  readonly capMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.capMs = options.capMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, ms. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
