/**
 * Probes and lifecycle hooks of one CRI Pod (cri-pod-worker.ts): the running app containers
 * for probes/pod-probes.ts, `exec` through CRI ExecSync (containerd runs the command in the
 * container with its environment, and cuts it at the timeout), the status records with the
 * probes' `started`/`ready`, and the preStop hook awaited before StopContainer, its time
 * taken from the grace period.
 */
import type { Logger } from 'pino';
import type { PodEvents } from '../pod-events.js';
import type { ContainerSpec, PodView } from '../pod-spec.js';
import type { StatusRecord } from '../pod-status.js';
import { hookFailure } from '../probes/hook-messages.js';
import { PodProbes, type ProbeEvent, type ProbedInstance } from '../probes/pod-probes.js';
import type { ProbeTarget, Prober } from '../probes/prober.js';
import { containerHooks, containerProbes } from '../probes/probe-spec.js';
import type { CriClient } from './cri-client.js';
import { isSidecar } from '../sidecars.js';

/** The containers with probes and hooks: the sidecars and the app containers. */
const probedSpecs = (view: PodView): ContainerSpec[] => [...view.initContainers.filter(isSidecar), ...view.containers];
import { nsToMs, type Observed } from './cri-container-status.js';

export interface CriProbesDeps {
  prober: Prober;
  client: CriClient;
  hostIP: string;
  now(): number;
  logger: Logger;
  events: PodEvents;
  /** A probe result changed or an event is queued: refresh the status. */
  changed(): void;
  /** Stop the container instance `id` (a failed liveness or startup probe, or postStart hook). */
  kill(container: string, id: string, reason: string, graceSeconds: number | undefined): Promise<void>;
}

export class CriProbes {
  private readonly probes: PodProbes;

  constructor(private readonly deps: CriProbesDeps) {
    const event = (item: ProbeEvent) => {
      deps.events.add(item);
      deps.changed();
    };
    const kill = (container: string, id: string, reason: string, grace: number | undefined) => {
      deps.kill(container, id, reason, grace).catch((err: unknown) => deps.logger.warn({ container, err: (err as Error).message }, 'stopping a container after its probe failed'));
    };
    this.probes = new PodProbes({ prober: deps.prober, now: deps.now, logger: deps.logger, changed: deps.changed, event, kill });
  }

  sync(view: PodView, observed: ReadonlyMap<string, Observed>, deleting: boolean): void {
    const instances: ProbedInstance[] = [];
    for (const spec of deleting ? [] : probedSpecs(view)) {
      const current = observed.get(spec.name)?.current;
      if (current?.state !== 'CONTAINER_RUNNING') continue;
      const hooks = containerHooks(spec.raw, '');
      instances.push({
        name: spec.name,
        instance: current.id,
        startedAt: nsToMs(current.startedAt),
        probes: containerProbes(spec.raw, ''),
        ...(hooks.postStart ? { postStart: hooks.postStart } : {}),
        target: this.target(current.id),
      });
    }
    this.probes.sync(instances);
  }

  records(view: PodView, observed: ReadonlyMap<string, Observed>, records: Record<string, StatusRecord>): Record<string, StatusRecord> {
    for (const spec of probedSpecs(view)) {
      const record = records[spec.name];
      const current = observed.get(spec.name)?.current;
      if (record?.running && current) record.probed = this.probes.status(spec.name, current.id, containerProbes(spec.raw, ''));
    }
    return records;
  }

  /** Runs the container's preStop hook (if any) within the grace period; the grace left (seconds) for StopContainer. */
  async beforeStop(view: PodView | undefined, container: string, id: string, graceSeconds: number): Promise<number> {
    const spec = view && probedSpecs(view).find((item) => item.name === container);
    const hook = spec ? containerHooks(spec.raw, '').preStop : undefined;
    if (!hook) return graceSeconds;
    const began = this.deps.now();
    const result = await this.deps.prober.run(hook, this.target(id), Math.max(1, graceSeconds * 1000));
    if (!result.ok) this.deps.events.add({ container, type: 'Warning', reason: 'FailedPreStopHook', message: hookFailure('PreStop', hook, container, result.output) });
    return Math.max(0, graceSeconds - (this.deps.now() - began) / 1000);
  }

  /** Stops one instance as the kubelet does: the Killing event, preStop, StopContainer with the grace left. */
  async stopInstance(view: PodView, container: string, id: string, message: string, graceSeconds: number): Promise<void> {
    this.deps.events.add({ container, type: 'Normal', reason: 'Killing', message });
    await this.deps.client.stopContainer(id, await this.beforeStop(view, container, id, graceSeconds));
  }

  stop(): void {
    this.probes.stop();
  }

  private target(id: string): ProbeTarget {
    return { host: this.deps.hostIP, exec: (command, timeoutMs) => this.deps.client.execSync(id, command, timeoutMs / 1000) };
  }
}
