/**
 * The process runtime: runs each container of the node's Pods as an OS process (no images),
 * optionally inside bubblewrap, and keeps them running across agent restarts. This class only
 * assembles the parts (constructed here, no module state) and keeps the Pod map; one
 * PodWorker per Pod does the supervising. See README.md in this folder for the behaviour.
 */
import { accessSync, constants, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { AtomicWriter } from './atomic-writer.js';
import { detectCgroups, type CgroupSetup } from './cgroup-detect.js';
import { ContainerIsolation } from './container-isolation.js';
import { KUBELET_BACKOFF, type BackoffSettings } from './crash-loop-backoff.js';
import { EnvResolver } from './env-resolver.js';
import { ProcessLauncher } from './launcher.js';
import { DEFAULT_LOG_ROTATION, LogRotator } from './log-rotator.js';
import { ReferencedObjects } from './referenced-objects.js';
import { kernelOomCounter, type OomCounter } from './oom.js';
import { PODS_DIR, STATE_FILE } from './pod-layout.js';
import { parsePod } from './pod-spec.js';
import { loadPodState } from './pod-state.js';
import { assertValidPod } from './pod-validation.js';
import { PodWorker, type PodWorkerDeps } from './pod-worker.js';
import { PodWorkerTable } from './pod-worker-table.js';
import { Prober } from './probes/prober.js';
import { DEFAULT_PATH } from './process-env.js';
import type { ObjectLookup, Runtime, RuntimeEvent } from './runtime.js';
import { BwrapSandbox, DirectSandbox, probeBwrap, type BwrapMode, type BwrapProbe, type Sandbox } from './sandbox.js';
import { SecretVolumes, chooseSecretsDir } from './secret-volumes.js';
import { VolumeManager } from './volume-manager.js';
import { VolumePayloads } from './volume-payload.js';

export interface ProcessRuntimeOptions {
  /** Where Pods' files live (`<dataDir>/pods/...`); the runtime touches nothing else there. */
  dataDir: string;
  nodeName: string;
  /** The agent's cache, for ConfigMaps and Secrets. */
  lookup: ObjectLookup;
  logger: Logger;
  /** status.hostIP and podIP (containers share the host network). Default: the first non-internal IPv4 address, else 127.0.0.1. */
  hostIP?: string;
  /** CrashLoopBackOff timing; defaults to the kubelet's 10 s doubling to 5 min, reset after 10 min. */
  backoff?: Partial<BackoffSettings>;
  /** Run containers in bubblewrap: 'auto' (default) when bwrap works, 'never', or 'always' (start() fails without it). */
  useBwrap?: BwrapMode;
  /** Rotate a container's log beyond this size. Default 10 MiB. */
  logMaxBytes?: number;
  /** Log files kept per container, the live one included. Default 5. */
  logFiles?: number;
  /** ms since the epoch. Default Date.now. */
  clock?: () => number;
  /** How often every container is checked for exits (adopted ones send no signal) and logs for size. Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * Host directories hidden from sandboxed containers (an empty tmpfs over each; a file reads
   * as /dev/null). Default [dataDir, secretsDir]; include the agent's data directory (cache,
   * secret key) when dataDir is below it.
   */
  hidePaths?: string[];
  /** Files of the agent that no workload may read (the hub token): hidden from sandboxes in addition to hidePaths. */
  secretFiles?: string[];
  /**
   * Root of the Secret volumes, on a memory filesystem (secret-volumes.ts). Default:
   * `$RUNTIME_DIRECTORY/secrets`, else `/run/edge-agent/secrets`, else
   * `/dev/shm/edge-agent-<uid>`, the first on tmpfs or ramfs.
   */
  secretsDir?: string;
  /** Where OOM kills are counted (oom.ts). Default: the kernel's counters; tests and other platforms inject one. */
  oomCounter?: OomCounter;
  /** Starts container processes. Default: a ProcessLauncher; tests wrap one to control timing. */
  launcher?: ProcessLauncher;
  /** The runtime's cgroup subtree as a cgroup path (`/edge-sync`); default `<the agent's cgroup>/edge-sync/<hash of dataDir>` (cgroup-detect.ts). */
  cgroupRoot?: string;
  /** The cgroups to use, instead of detecting them (tests: an unavailable setup). */
  cgroups?: CgroupSetup;
  /** pids limit of each Pod's cgroup (kubelet --pod-max-pids); default none. */
  podMaxPids?: number;
  /** Let containers with securityContext.privileged run (kubelet --allow-privileged). Default false. */
  allowPrivileged?: boolean;
}

/** setpriv on PATH (util-linux), for securityContext. */
function findSetpriv(searchPath = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  for (const dir of searchPath.split(':').filter(Boolean)) {
    const candidate = path.join(dir, 'setpriv');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The host's address as the kubelet would report it, for status.hostIP/podIP. */
export function defaultHostIP(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    const address = list?.find((candidate) => candidate.family === 'IPv4' && !candidate.internal);
    if (address) return address.address;
  }
  return '127.0.0.1';
}

export class ProcessRuntime implements Runtime {
  private readonly workers: PodWorkerTable<PodWorker>;
  private readonly logger: Logger;
  private readonly hostIP: string;
  private readonly now: () => number;
  private readonly oom: OomCounter;
  private deps: PodWorkerDeps | undefined;
  private secrets: SecretVolumes | undefined;
  private isolation: ContainerIsolation | undefined;
  private sandboxProbe: BwrapProbe | undefined;
  private interval: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ProcessRuntimeOptions) {
    this.logger = options.logger;
    this.workers = new PodWorkerTable(options.logger);
    this.hostIP = options.hostIP ?? defaultHostIP();
    this.now = options.clock ?? Date.now;
    this.oom = options.oomCounter ?? kernelOomCounter();
  }

  /** The directory of this runtime's Secret volumes once started (`<secretsDir>/<scope>`). */
  get secretsDir(): string | undefined {
    return this.secrets?.dir;
  }

  /** The cgroup driver in use once started, undefined without usable cgroups. */
  get cgroups(): ContainerIsolation['driver'] {
    return this.isolation?.driver;
  }

  /** 'bwrap' or 'direct' once started. */
  get sandboxKind(): 'bwrap' | 'direct' | undefined {
    return this.deps?.sandbox.kind;
  }

  async start(): Promise<void> {
    if (this.deps) return;
    const { options } = this;
    mkdirSync(path.join(options.dataDir, PODS_DIR), { recursive: true });
    const secrets = new SecretVolumes({ root: options.secretsDir ?? chooseSecretsDir().dir, dataDir: options.dataDir, logger: this.logger });
    this.secrets = secrets;
    // Prepared now, so that sandboxes hide it from the first start on.
    const secretsProblem = secrets.prepareRoot();
    if (secretsProblem) this.logger.warn({ secretsDir: secrets.root, problem: secretsProblem }, 'Secret volumes cannot be written: Pods with Secret volumes will wait in ContainerCreating');
    const sandbox = this.chooseSandbox(options.useBwrap ?? 'auto', secrets.root);
    const objects = new ReferencedObjects(options.lookup);
    const cgroups = options.cgroups ?? detectCgroups({ dataDir: options.dataDir, ...(options.cgroupRoot !== undefined ? { root: options.cgroupRoot } : {}) });
    if (cgroups.ok) this.logger.info({ cgroups: cgroups.driver.description }, 'containers run in cgroups');
    else this.logger.warn({ reason: cgroups.reason }, 'no usable cgroups: Pods asking for resource limits will not start');
    const isolation = new ContainerIsolation({
      cgroups,
      sandboxKind: sandbox.kind,
      setpriv: findSetpriv(),
      agentUid: process.getuid?.() ?? 0,
      agentGid: process.getgid?.() ?? 0,
      allowPrivileged: options.allowPrivileged ?? false,
      ...(options.podMaxPids !== undefined ? { podMaxPids: options.podMaxPids } : {}),
    });
    this.isolation = isolation;
    this.deps = {
      isolation,
      dataDir: options.dataDir,
      hostIP: this.hostIP,
      logger: this.logger,
      now: this.now,
      env: new EnvResolver({ objects, hostIP: this.hostIP }),
      volumes: new VolumeManager({ payloads: new VolumePayloads({ objects, hostIP: this.hostIP }), writer: new AtomicWriter(this.now), secrets }),
      sandbox,
      secrets,
      launcher: options.launcher ?? new ProcessLauncher(),
      logs: new LogRotator({ maxBytes: options.logMaxBytes ?? DEFAULT_LOG_ROTATION.maxBytes, files: options.logFiles ?? DEFAULT_LOG_ROTATION.files }),
      oom: this.oom,
      backoff: { ...KUBELET_BACKOFF, ...options.backoff },
      path: process.env.PATH || DEFAULT_PATH,
      prober: new Prober(),
      notify: (key, event) => this.workers.emit(key, event),
      onGone: (worker) => this.gone(worker),
    };
    await this.adoptAll(this.deps);
    this.interval = setInterval(() => this.pollAll(), options.pollIntervalMs ?? 1000);
    this.interval.unref();
    this.logger.info({ sandbox: sandbox.kind, pods: this.workers.size, dataDir: options.dataDir, secretsDir: secrets.dir }, 'process runtime started');
  }

  /** Throws `PodValidationError` for a Pod whose names are not safe to use (pod-validation.ts); nothing is created for it. */
  async syncPod(pod: JsonObject): Promise<void> {
    const deps = this.started();
    assertValidPod(pod);
    const view = parsePod(pod);
    const existing = this.workers.get(view.key);
    if (existing && existing.uid !== view.uid) {
      // Same name, new Pod: the old one goes first (its grace period), then the new one starts.
      this.workers.setReplacement(view.key, pod);
      if (!existing.deleting) this.workers.background(existing.kill(parsePod(existing.state.pod).terminationGracePeriodSeconds), view.key);
      return;
    }
    if (existing) {
      this.workers.updateReplacement(view.key, pod);
      return existing.sync(pod);
    }
    const worker = PodWorker.create(deps, pod);
    this.workers.set(view.key, worker);
    await worker.sync(pod);
  }

  async killPod(key: string, gracePeriodSeconds: number): Promise<void> {
    this.started();
    this.workers.dropReplacement(key);
    const worker = this.workers.get(key);
    if (!worker) return;
    await worker.kill(gracePeriodSeconds);
  }

  pods(): string[] {
    return this.workers.keys();
  }

  podStatus(key: string): JsonObject | undefined {
    return this.workers.get(key)?.status();
  }

  podUid(key: string): string | undefined {
    return this.workers.get(key)?.uid;
  }

  onChange(listener: (key: string, event?: RuntimeEvent) => void): () => void {
    return this.workers.onChange(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    await this.workers.disposeAll();
  }

  private started(): PodWorkerDeps {
    if (this.stopped) throw new Error('ProcessRuntime is stopped');
    if (!this.deps) throw new Error('ProcessRuntime.start() has not been called');
    return this.deps;
  }

  private chooseSandbox(mode: BwrapMode, secretsRoot: string): Sandbox {
    if (mode === 'never') return new DirectSandbox();
    this.sandboxProbe = probeBwrap();
    if (this.sandboxProbe.usable) {
      const hidden = [...(this.options.hidePaths ?? [this.options.dataDir, secretsRoot]), ...(this.options.secretFiles ?? [])];
      return new BwrapSandbox(this.sandboxProbe.path, hidden);
    }
    if (mode === 'always') throw new Error(`useBwrap is 'always' but bubblewrap is not usable: ${this.sandboxProbe.reason}`);
    this.logger.warn({ reason: this.sandboxProbe.reason }, 'bubblewrap not usable: containers run without namespaces');
    return new DirectSandbox();
  }

  /** Re-adopts the Pods a previous runtime left on disk. */
  private async adoptAll(deps: PodWorkerDeps): Promise<void> {
    const podsDir = path.join(this.options.dataDir, PODS_DIR);
    const found: PodWorker[] = [];
    for (const entry of readdirSync(podsDir)) {
      const state = loadPodState(path.join(podsDir, entry, STATE_FILE));
      if (!state) {
        this.logger.warn({ dir: entry }, 'pod directory without readable state; left alone');
        continue;
      }
      try {
        // Validated like a Pod from the hub (the constructor throws): a state written by an older
        // agent from a hostile Pod must not name paths outside the data directory either.
        const worker = PodWorker.adopt(deps, state);
        if (worker.dirName !== entry) throw new Error(`its Pod belongs in ${worker.dirName}`);
        found.push(worker);
      } catch (err) {
        this.logger.error({ dir: entry, err: (err as Error).message }, 'pod state not usable; left alone');
      }
    }
    // Newest first: if two instances of one key survived (a re-creation interrupted by the
    // restart), the newest owns the key and the other is deleted. A Pod whose deletion was under
    // way stays listed until it is gone; its first poll carries on with the recorded deadline.
    found.sort((a, b) => b.state.firstSeen - a.state.firstSeen);
    for (const worker of found) {
      if (!this.workers.has(worker.key)) {
        this.workers.set(worker.key, worker);
      } else {
        this.workers.addDraining(worker);
        if (!worker.deleting) this.workers.background(worker.kill(parsePod(worker.state.pod).terminationGracePeriodSeconds), worker.key);
      }
    }
    // Secret volumes of Pods deleted while no agent ran (their Pod directory is gone) go now.
    deps.secrets?.sweep(new Set(found.map((worker) => worker.dirName)));
    deps.isolation.sweep(new Set(found.map((worker) => worker.uid)));
    await Promise.all(this.workers.all().map((worker) => worker.poll()));
  }

  private pollAll(): void {
    if (this.stopped) return;
    for (const worker of this.workers.all()) {
      this.workers.background(worker.poll(), worker.key);
    }
  }

  private gone(worker: PodWorker): void {
    this.workers.gone(worker, (replacement) => {
      if (!this.deps || this.stopped) return;
      const next = PodWorker.create(this.deps, replacement);
      this.workers.set(worker.key, next);
      this.workers.background(next.sync(replacement), worker.key);
    });
  }
}
