/**
 * Starting one container instance, once the pod worker has decided it should run: resolve its
 * environment and mounts, prepare its root directory (no sandbox) or its sandbox plan, launch it
 * under the exit wrapper, and record the new instance (or its StartError) in the container's
 * record. A configuration problem (a missing ConfigMap key, a mount that cannot be made) is an
 * answer, not an exception: the worker keeps the container waiting with the kubelet's reason and
 * message, and tries again on its next pass.
 */
import { joinCommand } from './cgroup-driver.js';
import type { ContainerIsolation } from './container-isolation.js';
import { prepareContainerRoot } from './container-root.js';
import { nextBackoff, type BackoffSettings } from './crash-loop-backoff.js';
import { expandCommand, type EnvResolver } from './env-resolver.js';
import type { Launched, ProcessLauncher } from './launcher.js';
import type { LogRotator } from './log-rotator.js';
import type { OomCounter } from './oom.js';
import type { PodLayout } from './pod-layout.js';
import type { ContainerSpec, PodView } from './pod-spec.js';
import type { ContainerRecord, RunningInstance } from './pod-state.js';
import { processEnv } from './process-env.js';
import type { Sandbox } from './sandbox.js';
import { specHash } from './spec-hash.js';
import type { VolumeManager } from './volume-manager.js';

export interface ContainerStartDeps {
  env: EnvResolver;
  volumes: VolumeManager;
  sandbox: Sandbox;
  launcher: ProcessLauncher;
  oom: OomCounter;
  /** Gives each instance its own log (the last one's becomes the previous log). */
  logs: LogRotator;
  /** cgroups and securityContext (container-isolation.ts). */
  isolation: ContainerIsolation;
  /** PATH given to containers before their own env. */
  path: string;
  backoff: BackoffSettings;
  now: () => number;
}

/** A Warning event about the start that does not stop it; `dedupe` keeps a retry from repeating it. */
export interface StartWarning {
  reason: string;
  message: string;
  dedupe: string;
}

/** How the container should start now: a restart counts and moves the backoff, unless its definition changed. */
export interface StartRequest {
  pod: PodView;
  container: ContainerSpec;
  record: ContainerRecord;
  layout: PodLayout;
  now: number;
  restart: boolean;
  specChanged: boolean;
}

export type StartOutcome =
  /** Not launched, nothing recorded: the container waits with reason CreateContainerConfigError and this message. */
  | { result: 'config-error'; message: string }
  /** Launching failed: recorded as the record's last termination (StartError). */
  | { result: 'start-error'; message: string }
  /** Running: recorded as the record's running instance. */
  | { result: 'started'; launched: Launched; startedAt: number };

export class ContainerStart {
  constructor(private readonly deps: ContainerStartDeps) {}

  /** Starts the next instance of `request.container`; warnings go to `warn` as they are found. */
  async start(request: StartRequest, warn: (warning: StartWarning) => void): Promise<StartOutcome> {
    const { pod, container, record, layout } = request;
    const env = this.deps.env.resolve(pod, container);
    if (!env.ok) return { result: 'config-error', message: env.message };
    for (const warning of env.warnings) warn({ reason: 'InvalidEnvironmentVariableNames', message: warning, dedupe: `${container.name}:${warning}` });
    const mounts = this.deps.volumes.mounts(pod, container, layout, env.env);
    if (!mounts.ok) return { result: 'config-error', message: mounts.message };
    const isolation = this.deps.isolation.prepare(pod, container, record.init);
    if (!isolation.ok) return { result: 'config-error', message: isolation.message };
    const { cgroup, procsFiles, privileges, readOnlyRoot } = isolation.plan;

    const sandboxed = this.deps.sandbox.kind === 'bwrap';
    const rootDir = layout.rootDir(container.name);
    if (!sandboxed) {
      let skipped: string[];
      try {
        skipped = prepareContainerRoot(rootDir, mounts.mounts, layout.dir);
      } catch (err) {
        return { result: 'config-error', message: `cannot prepare the container's root directory: ${(err as Error).message}` };
      }
      for (const mountPath of skipped) {
        warn({
          reason: 'FailedMount',
          message: `mountPath ${mountPath} lies inside another volume that is not the Pod's own: not linked in the container's root directory`,
          dedupe: `${container.name}:skip:${mountPath}`,
        });
      }
    }
    const instance = record.instances + 1;
    const plan = this.deps.sandbox.plan({
      command: expandCommand(container, env.env),
      cwd: container.workingDir ?? (sandboxed ? '/' : rootDir),
      mounts: mounts.mounts,
      hostname: pod.name,
      ...(procsFiles.length > 0 ? { prefix: joinCommand(procsFiles) } : {}),
      ...(privileges.length > 0 ? { privileges } : {}),
      ...(readOnlyRoot ? { readOnlyRoot } : {}),
    });
    // The container's own cgroup counts only its OOM kills; without one, the agent's (oom.ts).
    const oomBaseline = cgroup !== undefined ? this.deps.isolation.oomKills(cgroup) : this.deps.oom.read();
    // The last instance's log is kept as the previous one (`kubectl logs --previous`).
    if (record.instances > 0) this.deps.logs.retire(layout.logFile(container.name), layout.previousLogFile(container.name));
    const startedAt = this.deps.now();
    const result = await this.deps.launcher.launch({
      plan,
      env: processEnv({ pod, mounts: mounts.mounts, sandboxed, rootDir, declared: env.env, path: this.deps.path }),
      logFile: layout.logFile(container.name),
      exitFile: layout.exitFile(container.name, instance),
      infoFile: layout.infoFile(container.name, instance),
    });
    if (request.restart) {
      record.restartCount++;
      if (request.specChanged) delete record.backoff;
      else record.backoff = nextBackoff(record.backoff, request.now, this.deps.backoff);
    }
    record.instances = instance;
    record.specHash = specHash(container.raw);
    record.image = container.image;
    delete record.restartRequested;
    delete record.waiting;
    if (!result.ok) {
      record.previous = record.last;
      record.last = { exitCode: 128, reason: 'StartError', message: result.message, startedAt, finishedAt: this.deps.now(), containerID: '' };
      return { result: 'start-error', message: result.message };
    }
    const { launched } = result;
    const running: RunningInstance = {
      pid: launched.pid,
      startTicks: launched.startTicks,
      pgid: launched.pgid,
      instance,
      startedAt,
      exitFile: layout.exitFile(container.name, instance),
      infoFile: layout.infoFile(container.name, instance),
    };
    if (oomBaseline !== undefined) running.oomBaseline = oomBaseline;
    if (cgroup !== undefined) running.cgroup = cgroup;
    record.running = running;
    return { result: 'started', launched, startedAt };
  }
}
