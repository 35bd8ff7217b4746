/** Throughput measurement for in-process micro benchmarks. */

export interface Rate {
  opsPerSecond: number;
  iterations: number;
  ms: number;
}

/** Runs `fn` in batches for at least `ms` milliseconds after a warm-up, and returns its rate. */
export function measureRate(fn: () => unknown, ms = 1000, batch = 100): Rate {
  const warmUntil = performance.now() + Math.min(200, ms / 5);
  while (performance.now() < warmUntil) for (let i = 0; i < batch; i++) fn();
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < batch; i++) fn();
    iterations += batch;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return { opsPerSecond: (iterations * 1000) / elapsed, iterations, ms: elapsed };
}

/** `value` against `target`, as the word the tables print. */
export function verdict(value: number, target: number, higherIsBetter = true): string {
  const met = higherIsBetter ? value >= target : value <= target;
  if (met) return 'met';
  const by = higherIsBetter ? target / value : value / target;
  return `missed (${by.toFixed(2)}x)`;
}
