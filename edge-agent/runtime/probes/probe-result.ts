/**
 * What one probe or hook run gives: success or failure, and the output the kubelet puts in its
 * event ("Liveness probe failed: <output>"), cut to a bounded size.
 */
export interface ProbeOutcome {
  ok: boolean;
  output: string;
}

/** Output beyond this is cut (the kubelet keeps 10 KiB of exec output; an event message is shorter). */
export const MAX_OUTPUT = 1024;

export function outcome(ok: boolean, output: string): ProbeOutcome {
  const text = output.trim();
  return { ok, output: text.length > MAX_OUTPUT ? `${text.slice(0, MAX_OUTPUT)}...` : text };
}

/** Runs `work` with a deadline: past `timeoutMs` the answer is a failure and `abort` is told to stop it. Never rejects. */
export async function withTimeout(work: (signal: AbortSignal) => Promise<ProbeOutcome>, timeoutMs: number, what: string): Promise<ProbeOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ProbeOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(outcome(false, `${what} timed out after ${timeoutMs / 1000}s`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      work(controller.signal).catch((err: unknown) => outcome(false, err instanceof Error ? err.message : String(err))),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
