/**
 * One Pod's supervisor: turns its spec and its containers' records into actions (start, kill,
 * restart after backoff, give up), level-triggered like the kubelet's SyncPod. Everything it
 * does runs on the Pod's serial queue; nothing here blocks on a grace period: a kill sends
 * SIGTERM, records a deadline and returns, and the next pass (woken by a timer, the periodic
 * poll or the process's exit) escalates to SIGKILL or notices the exit.
 *
 * Exits are noticed by looking, not by waiting: a container is alive while its tracked pid
 * exists with the recorded start time. That works the same for processes this agent started
 * and for those it adopted after a restart (which are not its children); for its own children
 * the 'exit' event only makes it look sooner. The exit code comes from the exit wrapper's file.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { commandStarted } from './command-started.js';
import { prepareContainerRoot } from './container-root.js';
import { backoffRemaining, goDuration, nextBackoff, type BackoffSettings } from './crash-loop-backoff.js';
import { expandCommand, type EnvResolver } from './env-resolver.js';
import { parseExitCode } from './exit-wrapper.js';
import type { ProcessLauncher } from './launcher.js';
import type { LogRotator } from './log-rotator.js';
import type { OomCounter } from './oom.js';
import { PodLayout } from './pod-layout.js';
import { assertValidPod } from './pod-validation.js';
import { parsePod, type ContainerSpec, type PodView } from './pod-spec.js';
import { savePodState, type ContainerRecord, type KillRequest, type PodState, type RunningInstance, type Termination } from './pod-state.js';
import { applyConditions, desiredConditions, renderContainers, renderPodStatus } from './pod-status.js';
import { isSameProcessAlive } from './proc-stat.js';
import { processEnv } from './process-env.js';
import { shouldRestart } from './restart-policy.js';
import type { RuntimeEvent } from './runtime.js';
import type { Sandbox } from './sandbox.js';
import type { SecretVolumes } from './secret-volumes.js';
import { SerialQueue } from './serial-queue.js';
import { specHash } from './spec-hash.js';
import type { VolumeManager } from './volume-manager.js';

/** While a container is being stopped, look this often: an adopted process sends no exit event. */
const KILL_POLL_MS = 50;
/** While SIGTERM waits for the command to be exec'd (a kill right after the start), look this often. */
const TERM_PENDING_POLL_MS = 5;
/** Send SIGTERM anyway if the command has not shown up by then. */
const TERM_PENDING_MAX_MS = 2_000;
/** How long SIGKILL may take to be reported before the runtime stops waiting (the kernel is quick). */
const KILL_SETTLE_MS = 5_000;

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
  /** Where Secret volumes live (a memory filesystem); undefined: Pods with Secret volumes cannot start. */
  secrets: SecretVolumes | undefined;
  backoff: BackoffSettings;
  /** PATH given to containers before their own env. */
  path: string;
  /** Reports a status change, with the event when there is one. */
  notify(key: string, event?: RuntimeEvent): void;
  /** The Pod is gone (killPod finished): its files are removed. */
  onGone(worker: PodWorker): void;
}

function withoutStatus(pod: JsonObject): JsonObject {
  const { status: _status, ...rest } = pod;
  return rest;
}

export class PodWorker {
  private readonly queue = new SerialQueue();
  private readonly logger: Logger;
  private view: PodView;
  private readonly layout: PodLayout;
  /** Own children that exited, with how (a hint when the exit wrapper could not write its file). */
  private readonly childExits = new Map<number, NodeJS.Signals | null>();
  /** Last error message reported per container, so a level-triggered retry does not repeat its event. */
  private readonly reported = new Map<string, string>();
  private volumeBlocking: string | undefined;
  /** Whether this worker has set the volumes up (an adopted Pod's may be gone: a reboot empties the Secrets' tmpfs). */
  private volumesSynced = false;
  private events: RuntimeEvent[] = [];
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
    this.lastSaved = JSON.stringify(state);
  }

  /** A Pod the runtime has not seen before. */
  static create(deps: PodWorkerDeps, pod: JsonObject): PodWorker {
    const view = parsePod(pod);
    const now = deps.now();
    const state: PodState = {
      version: 1,
      key: view.key,
      uid: view.uid,
      pod: withoutStatus(pod),
      firstSeen: now,
      startTime: now,
      conditions: {},
      containers: {},
    };
    const worker = new PodWorker(deps, state);
    worker.lastSaved = '';
    return worker;
  }

  /** A Pod found on disk at start(): its processes may still be running. */
  static adopt(deps: PodWorkerDeps, state: PodState): PodWorker {
    const worker = new PodWorker(deps, state);
    for (const record of Object.values(state.containers)) {
      const running = record.running;
      if (running && isSameProcessAlive(running.pid, running.startTicks)) {
        worker.logger.info({ container: record.name, pid: running.pid }, 'adopted running container');
      }
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
    return renderPodStatus(this.view, this.state, this.deps.hostIP);
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

  /** poll() from a timer or an exit event, where nobody awaits it: failures are logged. */
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const resolve of this.goneWaiters.splice(0)) resolve();
    await this.queue.idle();
  }

  private syncVolumes(): void {
    this.volumesSynced = true;
    const result = this.deps.volumes.sync(this.view, this.layout);
    this.volumeBlocking = result.blocking;
    for (const warning of result.warnings) this.event({ type: 'Warning', reason: 'FailedMount', message: warning }, `volume:${warning}`);
    if (result.blocking) this.event({ type: 'Warning', reason: 'FailedMount', message: result.blocking }, `volume:${result.blocking}`);
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
      this.killRemovedContainers(now);
      this.restartChangedContainers(now);
      await this.startContainers(now);
      for (const record of Object.values(this.state.containers)) {
        if (record.running) this.deps.logs.rotateIfNeeded(this.layout.logFile(record.name));
      }
    }
    const rendered = renderContainers(this.view, this.state);
    applyConditions(this.state.conditions, desiredConditions(rendered.initContainerStatuses, rendered.containerStatuses, rendered.phase), now);
    this.save();
    this.flush();
    this.arm(now);
  }

  /** Notices exited instances and escalates overdue kills. */
  private observe(now: number): void {
    for (const record of Object.values(this.state.containers)) {
      const running = record.running;
      if (!running) continue;
      if (!isSameProcessAlive(running.pid, running.startTicks)) {
        this.finish(record, running, now);
        continue;
      }
      const killing = running.killing;
      if (killing && killing.signal === 'SIGTERM' && now >= killing.deadline) {
        killing.signal = 'SIGKILL';
        this.save(); // recorded before it is sent: a SIGKILLed wrapper leaves no exit file
        this.signal(running, 'SIGKILL');
      } else if (killing && killing.signal === 'SIGTERM' && !killing.termSent) {
        this.sendTerm(running, killing, now);
      }
    }
  }

  private finish(record: ContainerRecord, running: RunningInstance, now: number): void {
    const termination = this.termination(record, running, now);
    record.previous = record.last;
    record.last = termination;
    delete record.running;
    delete record.waiting;
    this.childExits.delete(running.pgid);
    rmSync(this.layout.exitFile(record.name, running.instance), { force: true });
    rmSync(this.layout.infoFile(record.name, running.instance), { force: true });
    const message = `Container ${record.name} exited with code ${termination.exitCode}${termination.reason === 'Completed' || termination.reason === 'Error' ? '' : ` (${termination.reason})`}`;
    // The event carries the exit time, which may be earlier than when it was noticed.
    const at = termination.finishedAt;
    if (termination.reason === 'Completed') this.event({ container: record.name, type: 'Normal', reason: 'Completed', message }, undefined, at);
    else if (termination.reason === 'OOMKilled') this.event({ container: record.name, type: 'Warning', reason: 'OOMKilled', message }, undefined, at);
    else this.event({ container: record.name, type: 'Warning', reason: 'Error', message }, undefined, at);
    this.logger.info({ container: record.name, pid: running.pid, exitCode: termination.exitCode, reason: termination.reason }, 'container exited');
  }

  /** How an instance ended: the exit wrapper's file, else what the runtime knows it did. */
  private termination(record: ContainerRecord, running: RunningInstance, now: number): Termination {
    const base = { startedAt: running.startedAt, containerID: `process://${running.pid}` };
    let text = '';
    let finishedAt = now;
    try {
      // The path is the layout's, not the one recorded in state.json: nothing read back from
      // disk chooses which file the agent opens or removes.
      const exitFile = this.layout.exitFile(record.name, running.instance);
      text = readFileSync(exitFile, 'utf8');
      if (text.trim() !== '') finishedAt = Math.min(now, statSync(exitFile).mtimeMs);
    } catch {
      // no exit file
    }
    finishedAt = Math.max(Math.floor(finishedAt), running.startedAt);
    const oomNow = this.deps.oom.read();
    const oomRose = running.oomBaseline !== undefined && oomNow !== undefined && oomNow > running.oomBaseline;
    const killing = running.killing;
    const code = parseExitCode(text);
    if (code !== undefined) {
      const out: Termination = { ...base, exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt };
      const sent = killing && (killing.signal === 'SIGKILL' || killing.termSent) ? constants.signals[killing.signal] : undefined;
      if (sent !== undefined && code === 128 + sent) out.signal = sent;
      else if (code === 128 + constants.signals.SIGKILL && oomRose) out.reason = 'OOMKilled';
      return out;
    }
    if (killing?.signal === 'SIGKILL') return { ...base, exitCode: 137, signal: 9, reason: 'Error', finishedAt };
    // SIGTERM reached the wrapper before it had set its trap (a kill right after the start).
    if (killing?.signal === 'SIGTERM' && killing.termSent) return { ...base, exitCode: 143, signal: 15, reason: 'Error', finishedAt };
    const childSignal = this.childExits.get(running.pgid);
    if (this.deps.sandbox.kind === 'direct' && childSignal) {
      const signal = constants.signals[childSignal];
      const reason = childSignal === 'SIGKILL' && oomRose ? 'OOMKilled' : 'Error';
      return { ...base, exitCode: 128 + signal, signal, reason, finishedAt };
    }
    if (oomRose) return { ...base, exitCode: 137, signal: 9, reason: 'OOMKilled', finishedAt };
    return {
      ...base,
      exitCode: 137,
      reason: 'ContainerStatusUnknown',
      message: 'The container process is gone without an exit code (its process group was killed by someone other than the runtime)',
      finishedAt,
    };
  }

  private driveDeletion(now: number): void {
    const deadline = this.state.deleting?.deadline ?? now;
    let running = 0;
    for (const record of Object.values(this.state.containers)) {
      if (!record.running) continue;
      running++;
      this.startKill(record, record.running, Math.max(0, deadline - now), 'Stopping container', now);
      // A SIGKILLed container that somehow does not go away must not keep the Pod forever.
      if (record.running.killing?.signal === 'SIGKILL' && now > deadline + KILL_SETTLE_MS) {
        this.logger.warn({ container: record.name, pid: record.running.pid }, 'container still present after SIGKILL; forgetting it');
        this.finish(record, record.running, now);
        running--;
      }
    }
    if (running > 0) return;
    this.gone = true;
    if (this.timer) clearTimeout(this.timer);
    rmSync(this.layout.dir, { recursive: true, force: true });
    this.deps.secrets?.removePod(this.layout.dirName);
    this.logger.info('pod removed');
    this.deps.onGone(this);
    this.flush();
    for (const resolve of this.goneWaiters.splice(0)) resolve();
  }

  private killRemovedContainers(now: number): void {
    const names = new Set([...this.view.initContainers, ...this.view.containers].map((container) => container.name));
    for (const record of Object.values(this.state.containers)) {
      if (names.has(record.name)) continue;
      if (record.running) this.startKill(record, record.running, this.view.terminationGracePeriodSeconds * 1000, 'Container removed from the Pod spec', now);
      else delete this.state.containers[record.name];
    }
  }

  /** A running container whose definition changed is restarted, whatever the restart policy (as the kubelet does). */
  private restartChangedContainers(now: number): void {
    for (const container of [...this.view.initContainers, ...this.view.containers]) {
      const record = this.state.containers[container.name];
      if (!record) continue;
      const hash = specHash(container.raw);
      if (record.specHash === hash) continue;
      if (record.running) {
        if (record.running.killing) continue;
        record.restartRequested = true;
        const message = `Container ${container.name} definition changed, will be restarted`;
        this.startKill(record, record.running, this.view.terminationGracePeriodSeconds * 1000, message, now);
      } else {
        // Not running: the new definition applies at its next start (a completed init container
        // is not run again), with a fresh backoff: the kubelet keys backoff by spec hash.
        record.specHash = hash;
        record.image = container.image;
        delete record.backoff;
        if (record.waiting?.reason === 'CrashLoopBackOff') delete record.waiting;
      }
    }
  }

  private async startContainers(now: number): Promise<void> {
    const policy = this.view.restartPolicy;
    let initialized = true;
    for (const container of this.view.initContainers) {
      const record = this.record(container, true);
      if (record.running) {
        initialized = false;
        break;
      }
      const last = record.last;
      if (last && last.exitCode === 0 && !record.restartRequested) continue;
      initialized = false;
      if (!last) await this.tryStart(record, container, now, false);
      else if (record.restartRequested) await this.tryStart(record, container, now, true, true);
      else if (shouldRestart(policy, last.exitCode, true)) await this.tryStart(record, container, now, true);
      else delete record.waiting; // failed for good: restartPolicy Never; the Pod is Failed
      break;
    }
    for (const container of this.view.containers) {
      const record = this.record(container, false);
      if (record.running) continue;
      const last = record.last;
      if (!initialized) {
        if (!last) record.waiting = { reason: 'PodInitializing' };
        continue;
      }
      if (!last) await this.tryStart(record, container, now, false);
      else if (record.restartRequested) await this.tryStart(record, container, now, true, true);
      else if (shouldRestart(policy, last.exitCode, false)) await this.tryStart(record, container, now, true);
      else delete record.waiting; // terminated for good
    }
  }

  private record(container: ContainerSpec, init: boolean): ContainerRecord {
    let record = this.state.containers[container.name];
    if (!record) {
      record = { name: container.name, init, specHash: specHash(container.raw), image: container.image, restartCount: 0, instances: 0 };
      this.state.containers[container.name] = record;
    }
    return record;
  }

  private waitWith(record: ContainerRecord, reason: string, message: string, event?: { reason: string; message: string }): void {
    record.waiting = { reason, message };
    if (event) this.event({ container: record.name, type: 'Warning', ...event }, `${record.name}:${event.message}`);
  }

  /** Starts the container unless something stops it (volumes, no command, backoff, configuration). */
  private async tryStart(record: ContainerRecord, container: ContainerSpec, now: number, restart: boolean, specChanged = false): Promise<void> {
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
        const delay = record.backoff?.delayMs ?? remaining;
        if (record.waiting?.reason !== 'CrashLoopBackOff') {
          this.event({ container: record.name, type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${container.name} in pod ${pod.name}_${pod.namespace}(${pod.uid})` });
        }
        record.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${goDuration(delay)} restarting failed container=${container.name} pod=${pod.name}_${pod.namespace}(${pod.uid})` };
        return;
      }
    }
    const env = this.deps.env.resolve(pod, container);
    if (!env.ok) return this.waitWith(record, 'CreateContainerConfigError', env.message, { reason: 'Failed', message: `Error: ${env.message}` });
    for (const warning of env.warnings) this.event({ container: container.name, type: 'Warning', reason: 'InvalidEnvironmentVariableNames', message: warning }, `${container.name}:${warning}`);
    const mounts = this.deps.volumes.mounts(pod, container, this.layout, env.env);
    if (!mounts.ok) return this.waitWith(record, 'CreateContainerConfigError', mounts.message, { reason: 'Failed', message: `Error: ${mounts.message}` });

    const sandboxed = this.deps.sandbox.kind === 'bwrap';
    const rootDir = this.layout.rootDir(container.name);
    if (!sandboxed) {
      let skipped: string[];
      try {
        skipped = prepareContainerRoot(rootDir, mounts.mounts, this.layout.dir);
      } catch (err) {
        const message = `cannot prepare the container's root directory: ${(err as Error).message}`;
        return this.waitWith(record, 'CreateContainerConfigError', message, { reason: 'Failed', message: `Error: ${message}` });
      }
      for (const mountPath of skipped) {
        this.event({ container: container.name, type: 'Warning', reason: 'FailedMount', message: `mountPath ${mountPath} lies inside another volume that is not the Pod's own: not linked in the container's root directory` }, `${container.name}:skip:${mountPath}`);
      }
    }
    const instance = record.instances + 1;
    const plan = this.deps.sandbox.plan({
      command: expandCommand(container, env.env),
      cwd: container.workingDir ?? (sandboxed ? '/' : rootDir),
      mounts: mounts.mounts,
      hostname: pod.name,
    });
    const oomBaseline = this.deps.oom.read();
    const startedAt = this.deps.now();
    const result = await this.deps.launcher.launch({
      plan,
      env: processEnv({ pod, mounts: mounts.mounts, sandboxed, rootDir, declared: env.env, path: this.deps.path }),
      logFile: this.layout.logFile(container.name),
      exitFile: this.layout.exitFile(container.name, instance),
      infoFile: this.layout.infoFile(container.name, instance),
    });
    if (restart) {
      record.restartCount++;
      if (specChanged) delete record.backoff;
      else record.backoff = nextBackoff(record.backoff, now, this.deps.backoff);
    }
    record.instances = instance;
    record.specHash = specHash(container.raw);
    record.image = container.image;
    delete record.restartRequested;
    delete record.waiting;
    for (const slot of [...this.reported.keys()]) if (slot.startsWith(`${container.name}\u0000`)) this.reported.delete(slot);
    if (!result.ok) {
      record.previous = record.last;
      record.last = { exitCode: 128, reason: 'StartError', message: result.message, startedAt, finishedAt: this.deps.now(), containerID: '' };
      this.event({ container: container.name, type: 'Warning', reason: 'Failed', message: `Error: ${result.message}` });
      this.logger.warn({ container: container.name, err: result.message }, 'container failed to start');
      this.retrySoon = true;
      return;
    }
    const { launched } = result;
    const running: RunningInstance = {
      pid: launched.pid,
      startTicks: launched.startTicks,
      pgid: launched.pgid,
      instance,
      startedAt,
      exitFile: this.layout.exitFile(container.name, instance),
      infoFile: this.layout.infoFile(container.name, instance),
    };
    if (oomBaseline !== undefined) running.oomBaseline = oomBaseline;
    record.running = running;
    this.save(); // the pid is on disk before anything else can go wrong
    launched.child.once('exit', (_code, signal) => {
      this.childExits.set(launched.pgid, signal);
      this.wake();
    });
    this.event({ container: container.name, type: 'Normal', reason: 'Created', message: `Created container ${container.name}` }, undefined, startedAt);
    this.event({ container: container.name, type: 'Normal', reason: 'Started', message: `Started container ${container.name}` }, undefined, startedAt);
    this.logger.info({ container: container.name, pid: launched.pid, restartCount: record.restartCount }, 'container started');
  }

  /** SIGTERM now (SIGKILL when there is no grace), SIGKILL at the deadline (observe()). */
  private startKill(record: ContainerRecord, running: RunningInstance, graceMs: number, reason: string, now: number): void {
    if (running.killing) {
      // killPod may bring the deadline forward.
      if (now + graceMs < running.killing.deadline) running.killing.deadline = now + graceMs;
      return;
    }
    running.killing = { signal: graceMs > 0 ? 'SIGTERM' : 'SIGKILL', requestedAt: now, deadline: now + graceMs, reason };
    this.save();
    this.event({ container: record.name, type: 'Normal', reason: 'Killing', message: reason === 'Stopping container' ? `Stopping container ${record.name}` : reason });
    if (running.killing.signal === 'SIGKILL') this.signal(running, 'SIGKILL');
    else this.sendTerm(running, running.killing, now);
  }

  /** SIGTERM once the command runs (see command-started.ts); until then observe() keeps trying. */
  private sendTerm(running: RunningInstance, killing: KillRequest, now: number): void {
    if (!commandStarted(running.pid) && now - killing.requestedAt < TERM_PENDING_MAX_MS) return;
    killing.termSent = true;
    this.signal(running, 'SIGTERM');
  }

  /**
   * Signals the container's process group, only after checking it is still the process the
   * runtime started. A group id that is not a real one is refused: kill(0) would signal the
   * agent's own group and kill(-1) every process it may signal.
   */
  private signal(running: RunningInstance, signal: 'SIGTERM' | 'SIGKILL'): void {
    if (!Number.isInteger(running.pgid) || running.pgid <= 1) {
      this.logger.error({ pgid: running.pgid }, 'refusing to signal an invalid process group');
      return;
    }
    if (!isSameProcessAlive(running.pid, running.startTicks)) return;
    try {
      process.kill(-running.pgid, signal);
    } catch (err) {
      this.logger.debug({ pid: running.pid, err: (err as Error).message }, 'signal not delivered');
    }
  }

  /** Queues an event; with `dedupe`, only when it differs from the last one of its container and reason. */
  private event(event: Omit<RuntimeEvent, 'pod' | 'at'>, dedupe?: string, at = this.deps.now()): void {
    if (dedupe !== undefined) {
      const slot = `${event.container ?? ''}\u0000${event.reason}`;
      if (this.reported.get(slot) === dedupe) return;
      this.reported.set(slot, dedupe);
    }
    this.events.push({ ...event, pod: this.state.key, at });
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
    const events = this.events;
    this.events = [];
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
    let wake = this.retrySoon ? now : Infinity;
    for (const record of Object.values(this.state.containers)) {
      if (record.running?.killing) {
        wake = Math.min(wake, now + (record.running.killing.termSent || record.running.killing.signal === 'SIGKILL' ? KILL_POLL_MS : TERM_PENDING_POLL_MS));
        if (record.running.killing.signal === 'SIGTERM') wake = Math.min(wake, record.running.killing.deadline);
      }
      if (record.waiting?.reason === 'CrashLoopBackOff' && record.last && record.backoff) {
        wake = Math.min(wake, record.last.finishedAt + record.backoff.delayMs);
      }
    }
    if (wake === Infinity) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, wake - now));
    this.timer.unref();
  }
}
