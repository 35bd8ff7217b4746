/**
 * CrashLoopBackOff timing, as the kubelet's flowcontrol.Backoff keyed by container: the first
 * restart after an exit is immediate and records a delay of `initialMs`; each later restart
 * waits for the recorded delay counted from the exit, then doubles it (up to `maxMs`). When no
 * restart happened for `resetAfterMs` (the container ran that long), the delay starts over.
 * Defaults are the kubelet's: 10 s, 5 min, 10 min. Pure functions over a small persisted entry,
 * so the delays survive an agent restart.
 */

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const KUBELET_BACKOFF: BackoffSettings = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export interface BackoffEntry {
  /** The delay the next restart waits, counted from the exit. */
  delayMs: number;
  /** When the last restart was decided (ms since the epoch). */
  lastUpdate: number;
}

function expired(entry: BackoffEntry, now: number, settings: BackoffSettings): boolean {
  return now - entry.lastUpdate > settings.resetAfterMs;
}

/** How much longer a container that exited at `finishedAt` must wait before its restart (0: restart now). */
export function backoffRemaining(entry: BackoffEntry | undefined, finishedAt: number, now: number, settings: BackoffSettings): number {
  if (!entry || expired(entry, now, settings)) return 0;
  return Math.max(0, finishedAt + entry.delayMs - now);
}

/** The entry after a restart at `now`. */
export function nextBackoff(entry: BackoffEntry | undefined, now: number, settings: BackoffSettings): BackoffEntry {
  if (!entry || expired(entry, now, settings)) return { delayMs: settings.initialMs, lastUpdate: now };
  return { delayMs: Math.min(entry.delayMs * 2, settings.maxMs), lastUpdate: now };
}

/** A container waiting out its backoff: its waiting state and the BackOff event, in the kubelet's words. */
export function crashLoopBackOff(pod: { name: string; namespace: string; uid: string }, container: string, delayMs: number): { waiting: { reason: string; message: string }; event: { reason: string; message: string } } {
  const podName = `${pod.name}_${pod.namespace}(${pod.uid})`;
  return {
    waiting: { reason: 'CrashLoopBackOff', message: `back-off ${goDuration(delayMs)} restarting failed container=${container} pod=${podName}` },
    event: { reason: 'BackOff', message: `Back-off restarting failed container ${container} in pod ${podName}` },
  };
}

/** A duration the way Go prints it (10s, 1m20s, 5m0s, 250ms), for kubelet-identical messages. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Number((totalSeconds % 60).toFixed(3));
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
