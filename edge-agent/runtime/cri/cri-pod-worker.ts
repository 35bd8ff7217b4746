/**
 * One Pod on the CRI runtime: a level-triggered pass like the kubelet's SyncPod
 * (kuberuntime_manager.go): make sure the Pod has one ready sandbox (a new one, and all its
 * containers again, when the old one died: a reboot), look at its containers, stop those whose
 * definition changed, start init containers one by one and then the app containers, honour the
 * restart policy with CrashLoopBackOff, run probes and hooks (cri-probes.ts), and render the
 * status. Everything it knows is in containerd plus the Pod's spec in `pod.json`, so an agent
 * restart loses back-off timers and probe results. All work runs on the Pod's serial queue.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { JsonObject } from '../../../protocol/index.js';
import { backoffRemaining, crashLoopBackOff, nextBackoff, type BackoffEntry, type BackoffSettings } from '../crash-loop-backoff.js';
import { checkDeadline, deadlineAt, type PodFailure } from '../active-deadline.js';
import { PodEvents } from '../pod-events.js';
import type { PodLayout } from '../pod-layout.js';
import type { ConditionRecord } from '../pod-state.js';
import { parsePod, type ContainerSpec, type PodView } from '../pod-spec.js';
import { applyConditions, desiredConditions, renderContainers, renderPodStatus, type StatusRecord } from '../pod-status.js';
import type { StartKind } from '../restart-policy.js';
import type { RuntimeEvent } from '../runtime.js';
import type { SecretVolumes } from '../secret-volumes.js';
import { SerialQueue } from '../serial-queue.js';
import { initPlan, sidecarNames, startFor, type SidecarRecord } from '../sidecars.js';
import { specHash } from '../spec-hash.js';
import type { Prober } from '../probes/prober.js';
import type { VolumeManager } from '../volume-manager.js';
import type { CriClient } from './cri-client.js';
import { HASH_ANNOTATION, POD_UID_LABEL, ownerLabels, sandboxConfig } from './cri-config.js';
import { isExited, nsToMs, restartCountOf, statusRecord, type Observed } from './cri-container-status.js';
import type { CriContainerStart } from './cri-container-start.js';
import type { CriLogs } from './cri-logs.js';
import { observeSandbox } from './cri-observe.js';
import { CriProbes } from './cri-probes.js';
import { savePodFile } from './cri-pod-file.js';
import { removePodContainers, removePodFiles } from './cri-pod-removal.js';
import type { ContainerStatus, PodSandboxConfig } from './cri-types.js';
import type { ImagePuller } from './image-puller.js';
import type { CriPodCgroups } from './cri-isolation.js';

export interface CriPodDeps {
  client: CriClient;
  /** The Pods' cgroups (the sandboxes' cgroup_parent), with --cgroup-root. */
  cgroups?: CriPodCgroups;
  /** `containerd://`: the prefix of container IDs in the status. */
  idPrefix: string;
  nodeName: string;
  hostIP: string;
  logger: Logger;
  now: () => number;
  volumes: VolumeManager;
  secrets: SecretVolumes | undefined;
  starter: CriContainerStart;
  images: ImagePuller;
  logs: CriLogs;
  backoff: BackoffSettings;
  prober: Prober;
  notify(key: string, event?: RuntimeEvent): void;
  onGone(worker: CriPodWorker): void;
}

export class CriPodWorker {
  private readonly queue = new SerialQueue();
  private readonly logger: Logger;
  private readonly events: PodEvents;
  private readonly probing: CriProbes;
  private view: PodView | undefined;
  private sandboxId: string | undefined;
  private sandbox: PodSandboxConfig | undefined;
  private startTime: number | undefined;
  private readonly conditions: Record<string, ConditionRecord> = {};
  /** Set when the Pod failed for good (activeDeadlineSeconds): every container is stopped, preStop first, none started. */
  private readonly outcome: { failure?: PodFailure } = {};
  private observed = new Map<string, Observed>();
  private readonly waiting = new Map<string, { reason: string; message?: string }>();
  private readonly backoff = new Map<string, BackoffEntry>();
  /** Restart counts carried over from a dead sandbox's containers. */
  private carried = new Map<string, number>();
  private volumeBlocking: string | undefined;
  private volumesSynced = false;
  private savedPod = '';
  private lastStatus = '';
  private lastSeen = '';
  private wakeAt = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private deleting: { deadline: number } | undefined;
  private disposed = false;
  private gone = false;
  private passed = false; // a pass has run since this worker was made
  private pending: Promise<void> | undefined;
  private readonly goneWaiters: (() => void)[] = [];

  constructor(
    private readonly deps: CriPodDeps,
    readonly key: string,
    readonly uid: string,
    private readonly layout: PodLayout,
    pod: JsonObject | undefined,
  ) {
    this.logger = deps.logger.child({ pod: key });
    this.events = new PodEvents(key, deps.now);
    this.probing = new CriProbes({ ...deps, logger: this.logger, events: this.events, changed: () => void this.queue.run(() => this.refresh(this.deps.now())), kill: (...args) => this.probeKill(...args) });
    if (pod) this.view = parsePod(pod);
    this.savedPod = pod ? JSON.stringify(pod) : '';
  }

  get dirName(): string {
    return this.layout.dirName;
  }

  status(): JsonObject | undefined {
    return this.view && !this.gone ? renderPodStatus(this.view, { startTime: this.startTime, conditions: this.conditions, containers: this.records(this.view), ...this.outcome }, this.deps.hostIP) : undefined;
  }

  /** Takes the new spec and refreshes volume files; a CRI pass follows when the spec changed or one is due. */
  async sync(pod: JsonObject): Promise<void> {
    let due = false;
    await this.queue.run(() => {
      if (this.disposed || this.deleting) return;
      const { status: _status, ...spec } = pod;
      due = JSON.stringify(spec) !== this.savedPod || !this.passed || this.deps.now() >= this.wakeAt;
      this.view = parsePod(spec);
      this.savePod(spec);
      this.syncVolumes();
    });
    if (due) await this.schedule();
  }

  /** One pass on the queue; a pass already queued and not yet begun serves every caller. */
  private schedule(): Promise<void> {
    if (this.pending) return this.pending;
    this.pending = this.queue.run(() => {
      this.pending = undefined;
      return this.reconcile();
    });
    return this.pending;
  }

  /** A pass if the Pod's containers changed (`seen`: their ids and states) or a timer is due. */
  poll(seen: string): Promise<void> {
    if (seen === this.lastSeen && this.deps.now() < this.wakeAt && !this.deleting) return Promise.resolve();
    return this.schedule();
  }

  async kill(gracePeriodSeconds: number): Promise<void> {
    await this.queue.run(() => {
      if (this.disposed || this.gone) return;
      const deadline = this.deps.now() + Math.max(0, gracePeriodSeconds) * 1000;
      if (!this.deleting || deadline < this.deleting.deadline) this.deleting = { deadline };
      return this.reconcile();
    });
    if (this.gone || this.disposed) return;
    await new Promise<void>((resolve) => this.goneWaiters.push(resolve));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.probing.stop();
    if (this.timer) clearTimeout(this.timer);
    for (const resolve of this.goneWaiters.splice(0)) resolve();
    await this.queue.idle();
  }

  private records(view: PodView): Record<string, StatusRecord> {
    const out: Record<string, StatusRecord> = {};
    for (const spec of [...view.initContainers, ...view.containers]) out[spec.name] = statusRecord(this.observed.get(spec.name), this.waiting.get(spec.name), this.deps.idPrefix);
    return this.probing.records(view, this.observed, out);
  }

  private savePod(pod: JsonObject): void {
    const text = JSON.stringify(pod);
    if (text !== this.savedPod) savePodFile(this.layout.dir, pod);
    this.savedPod = text;
  }

  private syncVolumes(): void {
    if (!this.view) return;
    this.volumesSynced = true;
    const result = this.deps.volumes.sync(this.view, this.layout);
    this.volumeBlocking = result.blocking;
    for (const warning of [...result.warnings, ...(result.blocking ? [result.blocking] : [])]) this.events.add({ type: 'Warning', reason: 'FailedMount', message: warning }, `volume:${warning}`);
  }

  private async reconcile(): Promise<void> {
    if (this.disposed || this.gone) return;
    const now = this.deps.now();
    this.wakeAt = Infinity;
    this.passed = true;
    try {
      if (this.deleting) {
        await this.driveDeletion();
        if (this.gone) return;
      } else if (this.view) {
        if (!this.volumesSynced || this.volumeBlocking) this.syncVolumes();
        if (await this.ensureSandbox(this.view, now)) {
          await this.observe();
          await this.stopChanged(this.view);
          const view = this.view;
          if (checkDeadline(this.outcome, view, this.startTime, now, this.events)) await Promise.all([...this.observed].filter(([, item]) => item.current?.state === 'CONTAINER_RUNNING').map(([name, { current }]) => this.probing.stopInstance(view, name, current!.id, `Stopping container ${name}`, view.terminationGracePeriodSeconds)));
          else if (await this.startContainers(this.view, now)) await this.observe();
          for (const observed of this.observed.values()) if (observed.current?.state === 'CONTAINER_RUNNING') await this.deps.logs.rotateIfNeeded(observed.current);
          this.probing.sync(this.view, this.observed, false);
        }
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'CRI pass failed; retrying');
      this.wakeAt = Math.min(this.wakeAt, now + 2_000);
    }
    // After the pass: the first one sets startTime (the sandbox's), so a deadline read before it was never armed.
    const deadline = this.outcome.failure || !this.view ? undefined : deadlineAt(this.view, this.startTime);
    if (deadline !== undefined) this.wakeAt = Math.min(this.wakeAt, deadline);
    this.refresh(now);
    this.arm(now);
  }

  /** Conditions from the current records (a probe result may have changed them), then the status to the listeners. */
  private refresh(now: number): void {
    if (this.view && !this.deleting && !this.gone) {
      const rendered = renderContainers(this.view, { conditions: this.conditions, containers: this.records(this.view), ...this.outcome });
      applyConditions(this.conditions, desiredConditions(rendered.initContainerStatuses, rendered.containerStatuses, rendered.phase, sidecarNames(this.view)), now);
    }
    this.flush();
  }

  /** A failed liveness or startup probe, or postStart hook: preStop, stop that instance; the restart policy decides what follows. */
  private async probeKill(container: string, id: string, reason: string, graceSeconds: number | undefined): Promise<void> {
    await this.queue.run(async () => {
      if (!this.view || this.deleting || this.disposed || this.observed.get(container)?.current?.state !== 'CONTAINER_RUNNING' || this.observed.get(container)?.current?.id !== id) return;
      await this.probing.stopInstance(this.view, container, id, reason, graceSeconds ?? this.view.terminationGracePeriodSeconds);
    });
    await this.schedule();
  }

  /** The ready sandbox, making one (and retiring dead ones) when there is none. */
  private async ensureSandbox(view: PodView, now: number): Promise<boolean> {
    const { client } = this.deps;
    const mine = { [POD_UID_LABEL]: this.uid, ...ownerLabels(this.deps.nodeName) };
    const sandboxes = await client.listPodSandbox({ labelSelector: mine });
    const ready = sandboxes.filter((item) => item.state === 'SANDBOX_READY').sort((a, b) => b.createdAt - a.createdAt)[0];
    const attempt = sandboxes.reduce((max, item) => Math.max(max, item.metadata.attempt + 1), 0);
    this.sandbox ??= sandboxConfig(view, this.deps.nodeName, this.deps.logs.podDir(view), ready?.metadata.attempt ?? attempt);
    if (ready) {
      this.sandboxId = ready.id;
      this.startTime ??= nsToMs(ready.createdAt);
      return true;
    }
    // None ready: the first start, or the sandbox died with the node. Restart counts go on.
    const old = await client.listContainers({ labelSelector: mine });
    this.carried = new Map();
    for (const container of old) {
      const count = restartCountOf(container as unknown as ContainerStatus);
      this.carried.set(container.metadata.name, Math.max(this.carried.get(container.metadata.name) ?? -1, count));
    }
    this.sandbox = sandboxConfig(view, this.deps.nodeName, this.deps.logs.podDir(view), attempt, this.deps.cgroups?.parentFor(view));
    mkdirSync(this.sandbox.logDirectory!, { recursive: true });
    try {
      this.sandboxId = await client.runPodSandbox(this.sandbox);
    } catch (err) {
      const message = `Failed to create pod sandbox: ${(err as Error).message}`;
      this.events.add({ type: 'Warning', reason: 'FailedCreatePodSandBox', message }, message);
      for (const spec of [...view.initContainers, ...view.containers]) this.waiting.set(spec.name, { reason: 'ContainerCreating', message });
      this.wakeAt = Math.min(this.wakeAt, now + this.deps.backoff.initialMs);
      return false;
    }
    this.startTime = now;
    this.observed = new Map();
    for (const item of sandboxes) await client.stopPodSandbox(item.id).then(() => client.removePodSandbox(item.id));
    this.logger.info({ sandbox: this.sandboxId, attempt }, 'pod sandbox started');
    return true;
  }

  /** Reads the sandbox's containers (cri-observe.ts). */
  private async observe(): Promise<void> {
    const labels = { [POD_UID_LABEL]: this.uid, ...ownerLabels(this.deps.nodeName) };
    const result = await observeSandbox(this.deps.client, labels, this.sandboxId!, this.observed);
    this.lastSeen = result.seen;
    this.observed = result.observed;
  }

  /** A running container whose definition changed is stopped (within the grace period) and started again. */
  private async stopChanged(view: PodView): Promise<void> {
    for (const spec of [...view.initContainers, ...view.containers]) {
      const current = this.observed.get(spec.name)?.current;
      if (current?.state !== 'CONTAINER_RUNNING' || current.annotations[HASH_ANNOTATION] === specHash(spec.raw)) continue;
      this.events.add({ container: spec.name, type: 'Normal', reason: 'Killing', message: `Container ${spec.name} definition changed, will be restarted` });
      await this.deps.client.stopContainer(current.id, view.terminationGracePeriodSeconds);
      this.observed.set(spec.name, { ...this.observed.get(spec.name), current: await this.deps.client.containerStatus(current.id) });
    }
  }

  /** Init containers in order, then the app containers; true when it started something. */
  private async startContainers(view: PodView, now: number): Promise<boolean> {
    let started = false;
    const records: Record<string, SidecarRecord> = this.records(view); // sidecars.ts: which init container starts, which sidecars stop
    for (const spec of view.initContainers) if (isExited(this.observed.get(spec.name)?.current) && this.observed.get(spec.name)!.current!.annotations[HASH_ANNOTATION] !== specHash(spec.raw)) records[spec.name] = { ...records[spec.name], restartRequested: true };
    const { starts, initialized, stop } = initPlan(view, records);
    for (const { spec } of starts) started = (await this.startIfDue(view, spec, true, now)) || started;
    for (const name of stop) await this.probing.stopInstance(view, name, this.observed.get(name)!.current!.id, `Stopping container ${name}`, view.terminationGracePeriodSeconds);
    for (const spec of view.containers) {
      const current = this.observed.get(spec.name)?.current;
      if (current?.state === 'CONTAINER_RUNNING') continue;
      if (!initialized) {
        if (!current) this.waiting.set(spec.name, { reason: 'PodInitializing' });
        continue;
      }
      started = (await this.startIfDue(view, spec, false, now)) || started;
    }
    return started;
  }

  private async startIfDue(view: PodView, spec: ContainerSpec, init: boolean, now: number): Promise<boolean> {
    const current = this.observed.get(spec.name)?.current;
    let kind: StartKind | undefined = { restart: false, specChanged: false };
    if (isExited(current)) {
      const changed = current.annotations[HASH_ANNOTATION] !== specHash(spec.raw);
      kind = startFor(view, spec, { last: { exitCode: current.exitCode }, restartRequested: changed }, init);
    }
    // No kind: terminated for good.
    if (!kind) return this.waiting.delete(spec.name) && false;
    if (this.volumeBlocking) {
      this.waiting.set(spec.name, { reason: 'ContainerCreating', message: this.volumeBlocking });
      return false;
    }
    if (current && isExited(current) && kind.restart && !kind.specChanged) {
      const finishedAt = nsToMs(current.finishedAt);
      const remaining = backoffRemaining(this.backoff.get(spec.name), finishedAt, now, this.deps.backoff);
      if (remaining > 0) {
        const backOff = crashLoopBackOff(view, spec.name, this.backoff.get(spec.name)!.delayMs);
        if (this.waiting.get(spec.name)?.reason !== 'CrashLoopBackOff') this.events.add({ container: spec.name, type: 'Warning', ...backOff.event });
        this.waiting.set(spec.name, backOff.waiting);
        this.wakeAt = Math.min(this.wakeAt, now + remaining);
        return false;
      }
    }
    const restartCount = current ? restartCountOf(current) + 1 : (this.carried.get(spec.name) ?? -1) + 1;
    const outcome = await this.deps.starter.start(
      { pod: view, container: spec, init, layout: this.layout, sandboxId: this.sandboxId!, sandbox: this.sandbox!, restartCount },
      (event) => this.events.add(event, event.type === 'Warning' || event.reason === 'BackOff' ? `${event.container}:${event.message}` : undefined),
    );
    if (outcome.result === 'waiting') {
      this.waiting.set(spec.name, { reason: outcome.reason, message: outcome.message });
      const retry = this.deps.images.backoffEnds(view, spec.image) ?? now + 1000;
      // ErrImagePull shows until a pass soon after (then ImagePullBackOff until the back-off ends), as on a kubelet.
      if (outcome.reason === 'ErrImagePull') this.wakeAt = Math.min(this.wakeAt, now + Math.min(1000, Math.max(0, retry - now) / 2));
      else this.wakeAt = Math.min(this.wakeAt, outcome.reason === 'ImagePullBackOff' ? retry : now + this.deps.backoff.initialMs);
      return false;
    }
    this.waiting.delete(spec.name);
    this.events.forgetContainer(spec.name);
    // The new instance's predecessor is `current`; the one before it is no longer needed.
    const stale = this.observed.get(spec.name)?.previous;
    if (stale) await this.deps.client.removeContainer(stale.id).catch(() => undefined);
    if (kind.restart) {
      if (kind.specChanged) this.backoff.delete(spec.name);
      else this.backoff.set(spec.name, nextBackoff(this.backoff.get(spec.name), now, this.deps.backoff));
    }
    this.logger.info({ container: spec.name, id: outcome.id, restartCount }, outcome.result === 'started' ? 'container started' : 'container failed to start');
    return true;
  }

  /** Stops every container within the deadline, then the sandboxes, then removes the Pod's files. */
  private async driveDeletion(): Promise<void> {
    const graceSeconds = Math.max(0, (this.deleting!.deadline - this.deps.now()) / 1000);
    this.probing.stop();
    const preStop = (container: string, id: string, grace: number) => this.probing.beforeStop(this.view, container, id, grace);
    await removePodContainers(this.deps.client, this.deps.nodeName, this.uid, graceSeconds, (container) => {
      this.events.add({ container, type: 'Normal', reason: 'Killing', message: `Stopping container ${container}` });
      this.flush();
    }, preStop, this.view ? sidecarNames(this.view) : []);
    this.deps.cgroups?.remove(this.uid);
    this.gone = true;
    if (this.timer) clearTimeout(this.timer);
    removePodFiles(this.deps, this.layout, this.view);
    this.logger.info('pod removed');
    this.deps.onGone(this);
    this.flush();
    for (const resolve of this.goneWaiters.splice(0)) resolve();
  }

  private flush(): void {
    const events = this.events.take();
    const status = JSON.stringify(this.status() ?? null);
    const changed = status !== this.lastStatus;
    this.lastStatus = status;
    for (const event of events) this.deps.notify(this.key, event);
    if (events.length === 0 && changed) this.deps.notify(this.key);
  }

  private arm(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || this.gone || this.wakeAt === Infinity) return;
    this.timer = setTimeout(() => void this.schedule().catch((err: unknown) => this.logger.error({ err }, 'CRI pass failed')), Math.max(0, this.wakeAt - now));
    this.timer.unref();
  }
}
