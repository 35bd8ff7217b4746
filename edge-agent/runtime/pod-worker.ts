/**
 * One Pod's supervisor: its spec and its containers' records into actions (start, kill, restart
 * after backoff, give up), level-triggered like the kubelet's SyncPod, on the Pod's serial queue;
 * nothing blocks on a grace period (a kill sends SIGTERM, records a deadline and returns; the
 * next pass escalates). Exits are noticed by looking (tracked pid and start time). The pieces
 * it uses (container-start/-killer/-exit.ts, process-probes.ts, ...) are listed in README.md.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { checkDeadline, deadlineAt } from './active-deadline.js';
import { ContainerExits } from './container-exit.js';
import { ContainerKiller } from './container-killer.js';
import { ContainerStart, type ContainerStartDeps } from './container-start.js';
import { backoffRemaining, crashLoopBackOff, type BackoffSettings } from './crash-loop-backoff.js';
import type { EnvResolver } from './env-resolver.js';
import { exitEvent } from './exit-classification.js';
import type { ProcessLauncher } from './launcher.js';
import type { LogRotator } from './log-rotator.js';
import type { OomCounter } from './oom.js';
import { PodEvents } from './pod-events.js';
import { PodLayout } from './pod-layout.js';
import { assertValidPod } from './pod-validation.js';
import { parsePod, type ContainerSpec, type PodView } from './pod-spec.js';
import { newPodState, savePodState, withoutStatus, type ContainerRecord, type PodState, type RunningInstance } from './pod-state.js';
import { applyConditions, desiredConditions, renderContainers, renderPodStatus } from './pod-status.js';
import { isSameProcessAlive } from './proc-stat.js';
import type { Prober } from './probes/prober.js';
import { ProcessProbes } from './process-probes.js';
import { nextStart, type StartKind } from './restart-policy.js';
import type { RuntimeEvent } from './runtime.js';
import type { Sandbox } from './sandbox.js';
import type { SecretVolumes } from './secret-volumes.js';
import { SerialQueue } from './serial-queue.js';
import { initPlan, sidecarNames, stoppable } from './sidecars.js';
import { specChanges } from './spec-changes.js';
import { specHash } from './spec-hash.js';
import type { VolumeManager } from './volume-manager.js';

export interface PodWorkerDeps {
  dataDir: string;
  hostIP: string;
  logger: Logger;
  now: () => number;
  env: EnvResolver;
  volumes: VolumeManager;
  sandbox: Sandbox;
  launcher: ProcessLauncher;
  logs: LogRotator;
  oom: OomCounter;
  isolation: ContainerStartDeps['isolation']; // cgroups and securityContext (container-isolation.ts)
  /** Where Secret volumes live (a memory filesystem); undefined: Pods with Secret volumes cannot start. */
  secrets: SecretVolumes | undefined;
  backoff: BackoffSettings;
  /** PATH given to containers before their own env. */
  path: string;
  prober: Prober;
  /** Reports a status change, with the event when there is one. */
  notify(key: string, event?: RuntimeEvent): void;
  /** The Pod is gone (killPod finished): its files are removed. */
  onGone(worker: PodWorker): void;
}

export class PodWorker {
  private readonly queue = new SerialQueue();
  private readonly logger: Logger;
  private view: PodView;
  private readonly layout: PodLayout;
  private readonly killer: ContainerKiller;
  private readonly starter: ContainerStart;
  private readonly events: PodEvents;
  private readonly exits: ContainerExits;
  private readonly probing: ProcessProbes;
  private volumeBlocking: string | undefined;
  /** Whether this worker has set the volumes up (an adopted Pod's may be gone: a reboot empties the Secrets' tmpfs). */
  private volumesSynced = false;
  private lastSaved = '';
  private lastStatus = '';
  private timer: NodeJS.Timeout | undefined;
  private pollPending: Promise<void> | undefined;
  private retrySoon = false;
  private disposed = false;
  private gone = false;
  private readonly goneWaiters: (() => void)[] = [];

  /** Throws (before anything is created) for a Pod whose names are not safe to use in paths. */
  private constructor(
    private readonly deps: PodWorkerDeps,
    readonly state: PodState,
  ) {
    assertValidPod(state.pod);
    this.view = parsePod(state.pod);
    this.layout = PodLayout.forPod(deps.dataDir, this.view.namespace, this.view.name, this.view.uid, deps.secrets?.dir);
    this.logger = deps.logger.child({ pod: state.key });
    this.killer = new ContainerKiller({ logger: this.logger, persist: () => this.save() });
    this.starter = new ContainerStart(deps);
    this.events = new PodEvents(state.key, deps.now);
    this.exits = new ContainerExits({ layout: this.layout, oom: deps.oom, sandboxKind: deps.sandbox.kind, cgroupOomKills: (cgroup) => deps.isolation.oomKills(cgroup) });
    this.lastSaved = JSON.stringify(state);
    const kill = (container: string, instance: string, reason: string, grace: number | undefined) => this.queue.run(() => this.probeKill(container, instance, reason, grace));
    this.probing = new ProcessProbes({ ...deps, sandboxed: deps.sandbox.kind === 'bwrap', layout: this.layout, logger: this.logger, wake: () => this.wake(), events: this.events, kill });
  }

  /** A Pod the runtime has not seen before. */
  static create(deps: PodWorkerDeps, pod: JsonObject): PodWorker {
    const view = parsePod(pod);
    const worker = new PodWorker(deps, newPodState(view.key, view.uid, pod, deps.now()));
    worker.lastSaved = '';
    return worker;
  }

  /** A Pod found on disk at start(): its processes may still be running. */
  static adopt(deps: PodWorkerDeps, state: PodState): PodWorker {
    const worker = new PodWorker(deps, state);
    for (const { name, running } of Object.values(state.containers)) {
      if (running && isSameProcessAlive(running.pid, running.startTicks)) worker.logger.info({ container: name, pid: running.pid }, 'adopted running container');
    }
    return worker;
  }

  get key(): string {
    return this.state.key;
  }

  get uid(): string {
    return this.state.uid;
  }

  /** `<ns>_<name>_<uid>`: the Pod's directory name under pods/ (and under the secrets directory). */
  get dirName(): string {
    return this.layout.dirName;
  }

  get deleting(): boolean {
    return this.state.deleting !== undefined;
  }

  status(): JsonObject {
    return renderPodStatus(this.view, { ...this.state, containers: this.probing.records(this.view, this.state) }, this.deps.hostIP);
  }

  /** syncPod: take the new spec, refresh volume files, act. */
  sync(pod: JsonObject): Promise<void> {
    return this.queue.run(() => {
      if (this.disposed || this.deleting) return;
      assertValidPod(pod, this.state.key);
      this.state.pod = withoutStatus(pod);
      this.view = parsePod(this.state.pod);
      this.syncVolumes();
      return this.reconcile();
    });
  }

  /** Look at the processes and act; coalesced, so a burst of triggers costs one pass. */
  poll(): Promise<void> {
    if (this.pollPending) return this.pollPending;
    this.pollPending = this.queue.run(() => {
      this.pollPending = undefined;
      if (this.disposed) return;
      if (this.volumeBlocking !== undefined && !this.deleting) this.syncVolumes();
      return this.reconcile();
    });
    return this.pollPending;
  }

  /** poll() from a timer, an exit or a probe, where nobody awaits it: failures are logged. */
  private wake(): void {
    this.poll().catch((err: unknown) => this.logger.error({ err }, 'pod supervision pass failed'));
  }

  /** killPod: stop every container within the grace period, then remove the Pod's files. */
  async kill(gracePeriodSeconds: number): Promise<void> {
    await this.queue.run(() => {
      if (this.disposed || this.gone) return;
      const now = this.deps.now();
      const deadline = now + Math.max(0, gracePeriodSeconds) * 1000;
      // A second killPod may shorten the grace period, never lengthen it.
      if (!this.state.deleting || deadline < this.state.deleting.deadline) this.state.deleting = { requestedAt: now, deadline };
      return this.reconcile();
    });
    if (this.gone || this.disposed) return;
    await new Promise<void>((resolve) => this.goneWaiters.push(resolve));
  }

  /** stop(): forget timers; processes keep running, state stays on disk. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.probing.stop();
    if (this.timer) clearTimeout(this.timer);
    for (const resolve of this.goneWaiters.splice(0)) resolve();
    await this.queue.idle();
  }

  private syncVolumes(): void {
    this.volumesSynced = true;
    const result = this.deps.volumes.sync(this.view, this.layout);
    this.volumeBlocking = result.blocking;
    for (const warning of [...result.warnings, ...(result.blocking ? [result.blocking] : [])]) this.events.add({ type: 'Warning', reason: 'FailedMount', message: warning }, `volume:${warning}`);
    for (const volume of result.updated) this.logger.debug({ volume }, 'volume files written');
  }

  /** One level-triggered pass over the Pod. */
  private async reconcile(): Promise<void> {
    if (this.disposed || this.gone) return;
    const now = this.deps.now();
    this.retrySoon = false;
    this.observe(now);
    if (this.state.deleting) {
      this.driveDeletion(now);
      if (this.gone) return;
    } else {
      for (const kill of specChanges(this.view, this.state)) this.startKill(kill.record, kill.running, this.view.terminationGracePeriodSeconds * 1000, kill.reason, now);
      const failed = checkDeadline(this.state, this.view, this.state.startTime, now, this.events);
      if (!failed) await this.startContainers(now);
      this.probing.sync(this.view, this.state);
      for (const record of Object.values(this.state.containers)) {
        if (record.running && failed) this.startKill(record, record.running, this.view.terminationGracePeriodSeconds * 1000, 'Stopping container', now);
        if (record.running) this.deps.logs.rotateIfNeeded(this.layout.logFile(record.name));
      }
    }
    const rendered = renderContainers(this.view, { ...this.state, containers: this.probing.records(this.view, this.state) });
    applyConditions(this.state.conditions, desiredConditions(rendered.initContainerStatuses, rendered.containerStatuses, rendered.phase, sidecarNames(this.view)), now);
    this.save();
    this.flush();
    this.arm(now);
  }

  /** Notices exited instances and escalates overdue kills. */
  private observe(now: number): void {
    for (const record of Object.values(this.state.containers)) {
      const running = record.running;
      if (!running) continue;
      if (!isSameProcessAlive(running.pid, running.startTicks)) this.finish(record, running, now);
      else this.killer.advance(running, now);
    }
  }

  private finish(record: ContainerRecord, running: RunningInstance, now: number): void {
    const termination = this.exits.record(record, running, now);
    // The event carries the exit time, which may be earlier than when it was noticed.
    this.events.add(exitEvent(record.name, termination), undefined, termination.finishedAt);
    this.logger.info({ container: record.name, pid: running.pid, exitCode: termination.exitCode, reason: termination.reason }, 'container exited');
  }

  private driveDeletion(now: number): void {
    const deadline = this.state.deleting?.deadline ?? now;
    let running = 0;
    const stopNow = stoppable(this.view, this.state.containers, now >= deadline); // app containers first, then sidecars in reverse
    for (const record of Object.values(this.state.containers)) {
      if (!record.running) continue;
      running++;
      if (stopNow.includes(record.name)) this.startKill(record, record.running, Math.max(0, deadline - now), 'Stopping container', now);
      // A SIGKILLed container that somehow does not go away must not keep the Pod forever.
      if (this.killer.stuck(record.running, deadline, now)) {
        this.logger.warn({ container: record.name, pid: record.running.pid }, 'container still present after SIGKILL; forgetting it');
        this.finish(record, record.running, now);
        running--;
      }
    }
    if (running > 0) return;
    this.gone = true;
    this.probing.stop();
    if (this.timer) clearTimeout(this.timer);
    this.layout.remove();
    this.deps.secrets?.removePod(this.layout.dirName);
    if (!this.deps.isolation.removePod(this.state.uid)) this.logger.warn('pod cgroup still holds processes; left for the next start to remove');
    this.logger.info('pod removed');
    this.deps.onGone(this);
    this.flush();
    for (const resolve of this.goneWaiters.splice(0)) resolve();
  }

  private async startContainers(now: number): Promise<void> {
    const policy = this.view.restartPolicy;
    const { starts, initialized, stop } = initPlan(this.view, this.probing.records(this.view, this.state)); // sidecars.ts
    for (const { spec, start } of starts) {
      const record = this.record(spec, true);
      if (start) await this.tryStart(record, spec, now, start);
      else delete record.waiting; // failed for good: restartPolicy Never; the Pod is Failed
      if (record.running) this.retrySoon = true; // a sidecar that has started lets the next init container start
    }
    for (const name of stop) this.startKill(this.state.containers[name]!, this.state.containers[name]!.running!, this.view.terminationGracePeriodSeconds * 1000, 'Stopping container', now);
    for (const container of this.view.containers) {
      const record = this.record(container, false);
      if (record.running) continue;
      if (!initialized) {
        if (!record.last) record.waiting = { reason: 'PodInitializing' };
        continue;
      }
      const start = nextStart(policy, record, false);
      if (start) await this.tryStart(record, container, now, start);
      else delete record.waiting; // terminated for good
    }
  }

  private record(container: ContainerSpec, init: boolean): ContainerRecord {
    return (this.state.containers[container.name] ??= { name: container.name, init, specHash: specHash(container.raw), image: container.image, restartCount: 0, instances: 0 });
  }

  private waitWith(record: ContainerRecord, reason: string, message: string, event?: { reason: string; message: string }): void {
    record.waiting = { reason, message };
    if (event) this.events.add({ container: record.name, type: 'Warning', ...event }, `${record.name}:${event.message}`);
  }

  /** Starts the container unless something stops it (volumes, no command, backoff, configuration). */
  private async tryStart(record: ContainerRecord, container: ContainerSpec, now: number, { restart, specChanged }: StartKind): Promise<void> {
    const pod = this.view;
    // The kubelet sets volumes up before it starts a container; for an adopted Pod this worker may not have yet.
    if (!this.volumesSynced) this.syncVolumes();
    if (this.volumeBlocking) return this.waitWith(record, 'ContainerCreating', this.volumeBlocking);
    if (!container.command) {
      const message = `container ${container.name} has no command: the process runtime runs the container's command and args as a host process and cannot use an image's entrypoint`;
      return this.waitWith(record, 'NoCommand', message, { reason: 'Failed', message: `Error: ${message}` });
    }
    if (restart && !specChanged && record.last) {
      const remaining = backoffRemaining(record.backoff, record.last.finishedAt, now, this.deps.backoff);
      if (remaining > 0) {
        const backOff = crashLoopBackOff(pod, container.name, record.backoff?.delayMs ?? remaining);
        if (record.waiting?.reason !== 'CrashLoopBackOff') this.events.add({ container: record.name, type: 'Warning', ...backOff.event });
        record.waiting = backOff.waiting;
        return;
      }
    }
    const outcome = await this.starter.start({ pod, container, record, layout: this.layout, now, restart, specChanged }, (warning) =>
      this.events.add({ container: container.name, type: 'Warning', reason: warning.reason, message: warning.message }, warning.dedupe),
    );
    if (outcome.result === 'config-error') return this.waitWith(record, 'CreateContainerConfigError', outcome.message, { reason: 'Failed', message: `Error: ${outcome.message}` });
    this.events.forgetContainer(container.name);
    if (outcome.result === 'start-error') {
      this.events.add({ container: container.name, type: 'Warning', reason: 'Failed', message: `Error: ${outcome.message}` });
      this.logger.warn({ container: container.name, err: outcome.message }, 'container failed to start');
      this.retrySoon = true;
      return;
    }
    const { launched, startedAt } = outcome;
    this.save(); // the pid is on disk before anything else can go wrong
    launched.child.once('exit', (_code, signal) => {
      this.exits.childExited(launched.pgid, signal);
      this.wake();
    });
    this.events.add({ container: container.name, type: 'Normal', reason: 'Created', message: `Created container ${container.name}` }, undefined, startedAt);
    this.events.add({ container: container.name, type: 'Normal', reason: 'Started', message: `Started container ${container.name}` }, undefined, startedAt);
    this.logger.info({ container: container.name, pid: launched.pid, restartCount: record.restartCount }, 'container started');
  }

  /** The preStop hook first, then SIGTERM (SIGKILL when there is no grace left), SIGKILL at the deadline (container-killer.ts). */
  private startKill(record: ContainerRecord, running: RunningInstance, graceMs: number, reason: string, now: number): void {
    if (running.killing) return void this.killer.begin(running, graceMs, reason, now);
    const first = !this.probing.stopBegun(record, running);
    const left = this.probing.beforeStop(this.view, record, running, graceMs, now);
    if (first) this.events.add({ container: record.name, type: 'Normal', reason: 'Killing', message: reason === 'Stopping container' ? `Stopping container ${record.name}` : reason });
    if (left !== undefined) this.killer.begin(running, left, reason, now);
  }

  /** A failed liveness or startup probe, or postStart hook: stop that instance; the restart policy decides what follows. */
  private probeKill(container: string, instance: string, reason: string, graceSeconds: number | undefined): Promise<void> | undefined {
    const record = this.state.containers[container];
    if (this.disposed || this.gone || this.deleting || !record?.running || String(record.running.instance) !== instance) return;
    this.startKill(record, record.running, (graceSeconds ?? this.view.terminationGracePeriodSeconds) * 1000, reason, this.deps.now());
    return this.reconcile();
  }

  private save(): void {
    // Also once disposed: a container launched while the runtime was stopping must have its pid
    // on disk, or the next agent could neither adopt nor stop it and would start it a second time.
    if (this.gone) return;
    const text = JSON.stringify(this.state);
    if (text === this.lastSaved) return;
    savePodState(this.layout.stateFile, this.state);
    this.lastSaved = text;
  }

  /** Hands the pass's events (or a bare change) to the runtime's listeners. */
  private flush(): void {
    const events = this.events.take();
    const status = this.gone ? '' : JSON.stringify(this.status());
    const changed = status !== this.lastStatus;
    this.lastStatus = status;
    for (const event of events) this.deps.notify(this.state.key, event);
    if (events.length === 0 && changed) this.deps.notify(this.state.key);
  }

  /** Wakes the worker for the earliest thing it waits for: a backoff ending, a kill deadline, a dying process. */
  private arm(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || this.gone) return;
    let wake = Math.min(this.retrySoon ? now : Infinity, this.state.failure ? Infinity : (deadlineAt(this.view, this.state.startTime) ?? Infinity));
    for (const record of Object.values(this.state.containers)) {
      if (record.running) wake = Math.min(wake, this.killer.nextWakeAt(record.running, now));
      if (record.waiting?.reason === 'CrashLoopBackOff' && record.last && record.backoff) wake = Math.min(wake, record.last.finishedAt + record.backoff.delayMs);
    }
    if (wake === Infinity) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, wake - now));
    this.timer.unref();
  }
}
