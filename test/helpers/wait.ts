/** Waiting on conditions with a deadline: the only synchronisation tests may use. */

export interface WaitOptions {
  /** Give up after this long. Default 20 s (a loaded 2-core CI machine is slow, not wrong). */
  timeoutMs?: number;
  /** Poll interval. Default 20 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
}

/**
 * Polls `probe` until it returns a value other than undefined, null or false, and returns it.
 * A probe that throws counts as "not yet"; its last error is reported on timeout.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<Exclude<T, undefined | null | false>> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as Exclude<T, undefined | null | false>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves with the first `event` of `emitter` within the deadline. */
export function nextEvent<T = unknown>(
  emitter: { once(event: string, listener: (...args: never[]) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`)), timeoutMs);
    emitter.once(event, ((value: T) => {
      clearTimeout(timer);
      resolve(value);
    }) as (...args: never[]) => void);
  });
}

/**
 * Event-driven waiting for helpers that see traffic (a protocol client, a scripted hub): they
 * call `wake()` on every frame and close, and `until` re-checks its probe then, with a deadline.
 */
export class Waiters {
  private readonly waiting = new Set<() => void>();

  wake(): void {
    for (const check of [...this.waiting]) check();
  }

  until<T>(probe: () => T | undefined | false, timeoutMs: number, timeoutMessage: () => string): Promise<T> {
    const now = probe();
    if (now) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(check);
        reject(new Error(timeoutMessage()));
      }, timeoutMs);
      const check = (): void => {
        const value = probe();
        if (!value) return;
        clearTimeout(timer);
        this.waiting.delete(check);
        resolve(value);
      };
      this.waiting.add(check);
    });
  }
}
