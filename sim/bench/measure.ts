/** Throughput measurement for in-process micro benchmarks. */
// The tables' verdict is the run report's too (report/targets.ts): it lives in report/.
export { verdict } from '../report/verdict.js';

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

