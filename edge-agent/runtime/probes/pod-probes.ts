/**
 * The probes of one Pod, shared by both runtimes: one ProbeWorker per probe of each running
 * container instance, the results (the kubelet's results managers, folded into `started` and
 * `ready`), the `Unhealthy` events, and the kill a failed liveness or startup probe calls for.
 * The runtime tells it which instances run (`sync`, on every pass) and asks it for each
 * container's `started`/`ready` when it renders the status; a result that changes calls
 * `changed`, so the status flows through the runtime's onChange like any other change (and
 * queues upstream while the agent is offline: probes are local and keep running).
 *
 * At most `maxConcurrent` probe runs of one Pod are in flight at once; the others wait their
 * turn (their count is bounded by containers x 3), so a Pod full of hanging probes costs a
 * bounded number of processes and sockets.
 */
import type { Logger } from 'pino';
import type { ProbeTarget, Prober } from './prober.js';
import type { ProbeOutcome } from './probe-result.js';
import { hookFailure } from './hook-messages.js';
import type { ContainerProbes, Handler, ProbeKind } from './probe-spec.js';
import { ProbeWorker } from './probe-worker.js';

export interface ProbedInstance {
  name: string;
  /** Identifies the instance: a new one (a restart) gets new workers. */
  instance: string;
  startedAt: number;
  probes: ContainerProbes;
  /** Run first; the probes start once it succeeded, a failure kills the instance. */
  postStart?: Handler;
  target: ProbeTarget;
}

export interface ProbeEvent {
  container: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface PodProbesDeps {
  prober: Prober;
  now(): number;
  logger: Logger;
  /** Probe runs of this Pod in flight at once. Default 4. */
  maxConcurrent?: number;
  /** `started` or `ready` of a container changed. */
  changed(): void;
  event(event: ProbeEvent): void;
  /** A liveness or startup probe failed: the instance is to be killed (with the probe's grace, when it has one) and restarted per policy. */
  kill(container: string, instance: string, reason: string, graceSeconds: number | undefined): void;
}

/** The kubelet gives postStart no timeout; a hook hanging this long is cut (and fails). */
const POST_START_TIMEOUT_MS = 5 * 60_000;

const NAMES: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

interface Entry {
  instance: string;
  /** The postStart hook is still running: not started, not ready, no probes yet. */
  postStarting: boolean;
  stopped: boolean;
  probes: ContainerProbes;
  workers: Partial<Record<ProbeKind, ProbeWorker>>;
  /** Last failure output reported per probe, so a steady failure is one event, not one per period. */
  reported: Partial<Record<ProbeKind, string>>;
}

export class PodProbes {
  private readonly entries = new Map<string, Entry>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly deps: PodProbesDeps) {}

  /** The running instances (with or without probes); workers of others stop. */
  sync(instances: readonly ProbedInstance[]): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const item of instances) {
      seen.add(item.name);
      const entry = this.entries.get(item.name);
      if (entry?.instance === item.instance) continue;
      if (entry) this.stopEntry(entry);
      this.entries.set(item.name, this.startEntry(item));
    }
    for (const [name, entry] of this.entries) {
      if (seen.has(name)) continue;
      this.stopEntry(entry);
      this.entries.delete(name);
    }
  }

  /**
   * `started` and `ready` of a running instance as the kubelet reports them: started once the
   * startup probe passed (at once without one), ready once started and the readiness probe
   * passed (at once without one). An instance not synced yet counts as just started.
   */
  status(name: string, instance: string, probes: ContainerProbes): { started: boolean; ready: boolean } {
    const entry = this.entries.get(name);
    const current = entry?.instance === instance ? entry : undefined;
    if (current?.postStarting) return { started: false, ready: false };
    const started = !probes.startup || current?.workers.startup?.state === 'success';
    const ready = started && (!probes.readiness || current?.workers.readiness?.state === 'success');
    return { started, ready };
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) this.stopEntry(entry);
    this.entries.clear();
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private startEntry(item: ProbedInstance): Entry {
    const entry: Entry = { instance: item.instance, postStarting: item.postStart !== undefined, stopped: false, probes: item.probes, workers: {}, reported: {} };
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const probe = item.probes[kind];
      if (!probe) continue;
      const worker = new ProbeWorker({
        probe,
        startedAt: item.startedAt,
        now: this.deps.now,
        run: () => this.limited(() => this.deps.prober.run(probe.handler, item.target, probe.timeoutSeconds * 1000)),
        gate: () => kind === 'startup' || !entry.workers.startup || entry.workers.startup.state === 'success',
        failed: (_kind, outcome) => this.failed(item.name, entry, kind, outcome),
        changed: (_kind, state, outcome) => {
          if (state === 'success') delete entry.reported[kind];
          if (state === 'failure' && kind !== 'readiness') {
            this.deps.kill(item.name, item.instance, `Container ${item.name} failed ${kind} probe, will be restarted`, probe.terminationGracePeriodSeconds);
          }
          this.deps.logger.info({ container: item.name, probe: kind, state, output: outcome.output }, 'probe result changed');
          this.deps.changed();
        },
      });
      entry.workers[kind] = worker;
    }
    const hook = item.postStart;
    if (!hook) {
      for (const worker of Object.values(entry.workers)) worker.start();
      return entry;
    }
    void this.deps.prober.run(hook, item.target, POST_START_TIMEOUT_MS).then((result) => {
      if (entry.stopped) return;
      entry.postStarting = false;
      if (result.ok) {
        for (const worker of Object.values(entry.workers)) worker.start();
      } else {
        this.deps.event({ container: item.name, type: 'Warning', reason: 'FailedPostStartHook', message: hookFailure('PostStart', hook, item.name, result.output) });
        this.deps.kill(item.name, item.instance, 'FailedPostStartHook', undefined);
      }
      this.deps.changed();
    }).catch((err: unknown) => this.deps.logger.error({ container: item.name, err }, 'postStart hook handling failed'));
    return entry;
  }

  private failed(container: string, entry: Entry, kind: ProbeKind, outcome: ProbeOutcome): void {
    if (entry.reported[kind] === outcome.output) return;
    entry.reported[kind] = outcome.output;
    this.deps.event({ container, type: 'Warning', reason: 'Unhealthy', message: `${NAMES[kind]} probe failed: ${outcome.output}` });
  }

  private stopEntry(entry: Entry): void {
    entry.stopped = true;
    for (const worker of Object.values(entry.workers)) worker.stop();
  }

  /** Runs `work` when fewer than maxConcurrent runs of this Pod are in flight. */
  private async limited(work: () => Promise<ProbeOutcome>): Promise<ProbeOutcome> {
    const max = this.deps.maxConcurrent ?? 4;
    while (this.active >= max && !this.stopped) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.stopped) return { ok: false, output: 'probes stopped' };
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
