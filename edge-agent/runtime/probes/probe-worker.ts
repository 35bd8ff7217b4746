/**
 * One probe of one container instance, on the kubelet's schedule (prober/worker.go): the first
 * run `initialDelaySeconds` after the container started, then every `periodSeconds` (counted
 * from the previous run's start; a slow run delays the next), each cut at `timeoutSeconds`.
 * A result counts only after `successThreshold` successes or `failureThreshold` failures in a
 * row. A liveness or startup probe that has failed stops running until its container is
 * replaced (the kill is the runtime's); a startup probe stops once it has succeeded. While
 * `gate` says no (the startup probe has not passed), liveness and readiness do not run.
 */
import type { ProbeOutcome } from './probe-result.js';
import type { ProbeKind, ProbeSpec } from './probe-spec.js';

export type ProbeState = 'unknown' | 'success' | 'failure';

export interface ProbeWorkerDeps {
  probe: ProbeSpec;
  /** When the container instance started (ms since the epoch). */
  startedAt: number;
  now(): number;
  /** One run of the probe, already cut at its timeout; never rejects. */
  run(): Promise<ProbeOutcome>;
  /** Whether the probe may run now (liveness and readiness wait for the startup probe). */
  gate(): boolean;
  /** A run failed (the runtime reports `Unhealthy`). */
  failed(kind: ProbeKind, outcome: ProbeOutcome): void;
  /** The probe's result changed (after the thresholds). */
  changed(kind: ProbeKind, state: ProbeState, outcome: ProbeOutcome): void;
}

/** Readiness starts as failure, liveness as success, startup unknown (the kubelet's initial values). */
const INITIAL: Record<ProbeKind, ProbeState> = { readiness: 'failure', liveness: 'success', startup: 'unknown' };

export class ProbeWorker {
  state: ProbeState;
  private lastRaw: boolean | undefined;
  private run = 0;
  private onHold = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ProbeWorkerDeps) {
    this.state = INITIAL[deps.probe.kind];
  }

  start(): void {
    const first = this.deps.startedAt + this.deps.probe.initialDelaySeconds * 1000;
    this.schedule(Math.max(0, first - this.deps.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const began = this.deps.now();
    const { probe } = this.deps;
    try {
      if (!this.onHold && this.deps.gate()) {
        const result = await this.deps.run();
        if (this.stopped) return;
        this.record(result);
      }
    } catch {
      // A listener failed (they log their own problems): the probe goes on.
    }
    if (probe.kind === 'startup' && this.state === 'success') return; // done for this instance
    this.schedule(Math.max(0, began + probe.periodSeconds * 1000 - this.deps.now()));
  }

  private record(result: ProbeOutcome): void {
    const { probe } = this.deps;
    if (!result.ok) this.deps.failed(probe.kind, result);
    if (this.lastRaw === result.ok) this.run++;
    else {
      this.lastRaw = result.ok;
      this.run = 1;
    }
    if ((!result.ok && this.run < probe.failureThreshold) || (result.ok && this.run < probe.successThreshold)) return;
    const state: ProbeState = result.ok ? 'success' : 'failure';
    if (!result.ok && probe.kind !== 'readiness') {
      // The container is killed; nothing more to learn from this instance.
      this.run = 0;
      this.onHold = true;
    }
    if (state === this.state) return;
    this.state = state;
    this.deps.changed(probe.kind, state, result);
  }
}
