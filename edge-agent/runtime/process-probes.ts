/**
 * Probes and lifecycle hooks of one process-runtime Pod (pod-worker.ts): which instances run
 * (for probes/pod-probes.ts), how `exec` reaches each (process-exec.ts), the status records
 * with the probes' `started`/`ready`, and the preStop hook before a stop signal.
 */
import type { Logger } from 'pino';
import type { PodEvents } from './pod-events.js';
import type { PodLayout } from './pod-layout.js';
import type { ContainerSpec, PodView } from './pod-spec.js';
import type { ContainerRecord, PodState, RunningInstance } from './pod-state.js';
import type { StatusRecord } from './pod-status.js';
import { execInContainer } from './process-exec.js';
import { PodProbes, type ProbeEvent, type ProbedInstance } from './probes/pod-probes.js';
import { PreStopHooks } from './probes/pre-stop.js';
import type { ProbeTarget, Prober } from './probes/prober.js';
import { containerHooks, containerProbes } from './probes/probe-spec.js';
import { isSidecar } from './sidecars.js';

/** The containers with probes and hooks: the sidecars and the app containers. */
const probed = (view: PodView): ContainerSpec[] => [...view.initContainers.filter(isSidecar), ...view.containers];

export interface ProcessProbesDeps {
  prober: Prober;
  hostIP: string;
  sandboxed: boolean;
  layout: PodLayout;
  now(): number;
  logger: Logger;
  /** Something changed (a result, a hook ended): run a pass. */
  wake(): void;
  /** Where the Pod's events queue (the next pass hands them on). */
  events: PodEvents;
  /** Stops the instance (a failed liveness or startup probe, or postStart hook); failures are logged here. */
  kill(container: string, instance: string, reason: string, graceSeconds: number | undefined): Promise<void>;
}

export class ProcessProbes {
  private readonly probes: PodProbes;
  private readonly preStop: PreStopHooks;

  constructor(private readonly deps: ProcessProbesDeps) {
    const event = (item: ProbeEvent) => {
      deps.events.add(item);
      deps.wake();
    };
    const kill = (container: string, instance: string, reason: string, grace: number | undefined) => {
      deps.kill(container, instance, reason, grace).catch((err: unknown) => deps.logger.error({ container, err }, 'stopping a container after its probe failed'));
    };
    this.probes = new PodProbes({ prober: deps.prober, now: deps.now, logger: deps.logger, changed: deps.wake, event, kill });
    this.preStop = new PreStopHooks({ prober: deps.prober, event, wake: deps.wake });
  }

  /** Probes for the running app containers that are not being stopped. */
  sync(view: PodView, state: PodState): void {
    const instances: ProbedInstance[] = [];
    for (const container of probed(view)) {
      const running = state.containers[container.name]?.running;
      if (!running || running.killing || state.deleting) continue;
      const hooks = containerHooks(container.raw, '');
      instances.push({
        name: container.name,
        instance: String(running.instance),
        startedAt: running.startedAt,
        probes: containerProbes(container.raw, ''),
        ...(hooks.postStart ? { postStart: hooks.postStart } : {}),
        target: this.target(container, running),
      });
    }
    this.probes.sync(instances);
  }

  /** The records to render, running app containers with what the probes say. */
  records(view: PodView, state: PodState): Record<string, StatusRecord> {
    const out: Record<string, StatusRecord> = { ...state.containers };
    for (const container of probed(view)) {
      const record = state.containers[container.name];
      if (!record?.running) continue;
      out[container.name] = { ...record, probed: this.probes.status(container.name, String(record.running.instance), containerProbes(container.raw, '')) };
    }
    return out;
  }

  /**
   * Whether the stop signal may go now: undefined while the container's preStop hook runs
   * (started on the first call), else the grace (ms) left for it.
   */
  beforeStop(view: PodView, record: ContainerRecord, running: RunningInstance, graceMs: number, now: number): number | undefined {
    const container = probed(view).find((item) => item.name === record.name);
    const hook = container ? containerHooks(container.raw, '').preStop : undefined;
    if (!container || !hook) return graceMs;
    return this.preStop.before(record.name, String(running.instance), hook, this.target(container, running), graceMs, now);
  }

  /** Whether the preStop hook of this instance has started (its Killing event was reported then). */
  stopBegun(record: ContainerRecord, running: RunningInstance): boolean {
    return this.preStop.begun(record.name, String(running.instance));
  }

  stop(): void {
    this.probes.stop();
  }

  private target(container: ContainerSpec, running: RunningInstance): ProbeTarget {
    const sandboxed = this.deps.sandboxed;
    const cwd = container.workingDir ?? (sandboxed ? '/' : this.deps.layout.rootDir(container.name));
    return { host: this.deps.hostIP, exec: (command, _timeoutMs, signal) => execInContainer({ pid: running.pid, sandboxed, cwd }, command, signal) };
  }
}
