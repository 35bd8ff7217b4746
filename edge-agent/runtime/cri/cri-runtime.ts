/**
 * The CRI runtime: runs Pods as containers through a Container Runtime Interface v1 endpoint
 * (containerd), behind the same Runtime contract as the process runtime. One CriPodWorker per
 * Pod (cri-pod-worker.ts); this class connects, adopts what a previous agent left (sandboxes and
 * containers carrying this node's labels, and the Pod specs saved under `dataDir`), polls the
 * runtime once per interval for every Pod's containers, and keeps the Pod map. See README.md.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { JsonObject } from '../../../protocol/index.js';
import { AtomicWriter } from '../atomic-writer.js';
import { KUBELET_BACKOFF, type BackoffSettings } from '../crash-loop-backoff.js';
import { EnvResolver } from '../env-resolver.js';
import { DEFAULT_LOG_ROTATION } from '../log-rotator.js';
import { PODS_DIR, PodLayout } from '../pod-layout.js';
import { parsePod } from '../pod-spec.js';
import { PodWorkerTable } from '../pod-worker-table.js';
import { Prober } from '../probes/prober.js';
import { assertValidPod } from '../pod-validation.js';
import { ReferencedObjects } from '../referenced-objects.js';
import type { ObjectLookup, Runtime, RuntimeEvent } from '../runtime.js';
import { SecretVolumes, chooseSecretsDir } from '../secret-volumes.js';
import { VolumeManager } from '../volume-manager.js';
import { VolumePayloads } from '../volume-payload.js';
import { CriClient } from './cri-client.js';
import { POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL, ownerLabels } from './cri-config.js';
import { CriContainerStart } from './cri-container-start.js';
import { CriLogs } from './cri-logs.js';
import { seenOf } from './cri-container-status.js';
import { POD_FILE, loadPodFile } from './cri-pod-file.js';
import { CriPodWorker, type CriPodDeps } from './cri-pod-worker.js';
import { ImageGc } from './image-gc.js';
import { ImagePuller } from './image-puller.js';
import type { CriPodCgroups } from './cri-isolation.js';

export interface CriRuntimeOptions {
  /** `unix:///run/containerd/containerd.sock` (kubelet's --container-runtime-endpoint). */
  endpoint: string;
  /** Where Pods' volume files and saved specs live (`<dataDir>/pods/<ns>_<name>_<uid>/`). */
  dataDir: string;
  /** Root of the container logs: `<logDir>/pods/<ns>_<name>_<uid>/<container>/<n>.log`. */
  logDir: string;
  nodeName: string;
  lookup: ObjectLookup;
  logger: Logger;
  /** status.hostIP and podIP: every sandbox uses the host network. */
  hostIP: string;
  /** CrashLoopBackOff and image pull back-off (kubelet: 10 s doubling to 5 min). */
  backoff?: Partial<BackoffSettings>;
  logMaxBytes?: number;
  logFiles?: number;
  clock?: () => number;
  /** How often the runtime is asked for every Pod's containers. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Root of the Secret volumes, on tmpfs or ramfs (secret-volumes.ts). */
  secretsDir?: string;
  /** Image GC thresholds, percent of the image filesystem (kubelet: 85 and 80). */
  imageGcHighPercent?: number;
  imageGcLowPercent?: number;
  /** How often image GC looks at the disk. Default 5 min (the kubelet's ImageGCPeriod). */
  imageGcIntervalMs?: number;
  /** Let privileged containers run (--allow-privileged). */
  allowPrivileged?: boolean;
  /** The Pods' cgroups (sandbox cgroup_parent), with --cgroup-root; containerd's default parent without. */
  cgroups?: CriPodCgroups;
}

export class CriRuntime implements Runtime {
  private readonly workers: PodWorkerTable<CriPodWorker>;
  private readonly now: () => number;
  private client: CriClient | undefined;
  private deps: CriPodDeps | undefined;
  private interval: NodeJS.Timeout | undefined;
  private gcInterval: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  /** `containerd 1.6.20` once started. */
  runtimeVersion = '';

  constructor(private readonly options: CriRuntimeOptions) {
    this.now = options.clock ?? Date.now;
    this.workers = new PodWorkerTable(options.logger);
  }

  async start(): Promise<void> {
    if (this.deps) return;
    const { options } = this;
    const logger = options.logger;
    const client = await CriClient.connect(options.endpoint);
    this.client = client;
    let version;
    try {
      version = await client.version();
    } catch (err) {
      client.close();
      throw new Error(`container runtime at ${options.endpoint} does not answer: ${(err as Error).message}`);
    }
    this.runtimeVersion = `${version.runtimeName} ${version.runtimeVersion}`;
    mkdirSync(path.join(options.dataDir, PODS_DIR), { recursive: true });
    const secrets = new SecretVolumes({ root: options.secretsDir ?? chooseSecretsDir().dir, dataDir: options.dataDir, logger });
    const problem = secrets.prepareRoot();
    if (problem) logger.warn({ secretsDir: secrets.root, problem }, 'Secret volumes cannot be written: Pods with Secret volumes will wait in ContainerCreating');
    const objects = new ReferencedObjects(options.lookup);
    const backoff = { ...KUBELET_BACKOFF, ...options.backoff };
    const env = new EnvResolver({ objects, hostIP: options.hostIP });
    const volumes = new VolumeManager({ payloads: new VolumePayloads({ objects, hostIP: options.hostIP }), writer: new AtomicWriter(this.now), secrets });
    const images = new ImagePuller({ client, lookup: options.lookup, backoff, now: this.now });
    this.deps = {
      client,
      idPrefix: `${version.runtimeName}://`,
      nodeName: options.nodeName,
      hostIP: options.hostIP,
      logger,
      now: this.now,
      volumes,
      secrets,
      images,
      starter: new CriContainerStart({ client, images, env, volumes, nodeName: options.nodeName, allowPrivileged: options.allowPrivileged ?? false }),
      ...(options.cgroups ? { cgroups: options.cgroups } : {}),
      logs: new CriLogs({ root: options.logDir, maxBytes: options.logMaxBytes ?? DEFAULT_LOG_ROTATION.maxBytes, files: options.logFiles ?? DEFAULT_LOG_ROTATION.files, client, logger, now: this.now }),
      backoff,
      prober: new Prober(),
      notify: (key, event) => this.workers.emit(key, event),
      onGone: (worker) => this.gone(worker),
    };
    await this.adopt(this.deps, secrets);
    this.interval = setInterval(() => void this.poll(), options.pollIntervalMs ?? 1000);
    this.interval.unref();
    const gc = new ImageGc({ client, logger, highPercent: options.imageGcHighPercent ?? 85, lowPercent: options.imageGcLowPercent ?? 80, now: this.now });
    this.gcInterval = setInterval(() => {
      gc.run().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'image GC failed'));
    }, options.imageGcIntervalMs ?? 300_000);
    this.gcInterval.unref();
    logger.info({ endpoint: options.endpoint, runtime: this.runtimeVersion, pods: this.workers.size }, 'CRI runtime started');
  }

  /** Throws PodValidationError for a Pod whose names are unsafe; the CRI work itself runs in the background. */
  async syncPod(pod: JsonObject): Promise<void> {
    const deps = this.started();
    assertValidPod(pod);
    const view = parsePod(pod);
    const existing = this.workers.get(view.key);
    if (existing && existing.uid !== view.uid) {
      this.workers.setReplacement(view.key, pod);
      this.workers.background(existing.kill(parsePod(pod).terminationGracePeriodSeconds), view.key);
      return;
    }
    if (existing) {
      this.workers.updateReplacement(view.key, pod);
      this.workers.background(existing.sync(pod), view.key);
      return;
    }
    const worker = new CriPodWorker(deps, view.key, view.uid, PodLayout.forPod(this.options.dataDir, view.namespace, view.name, view.uid, deps.secrets?.dir), undefined);
    this.workers.set(view.key, worker);
    this.workers.background(worker.sync(pod), view.key);
  }

  async killPod(key: string, gracePeriodSeconds: number): Promise<void> {
    this.started();
    this.workers.dropReplacement(key);
    await this.workers.get(key)?.kill(gracePeriodSeconds);
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

  /** Stops supervising; containers keep running in the container runtime. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    if (this.gcInterval) clearInterval(this.gcInterval);
    await this.workers.disposeAll();
    this.client?.close();
  }

  private started(): CriPodDeps {
    if (this.stopped) throw new Error('CriRuntime is stopped');
    if (!this.deps) throw new Error('CriRuntime.start() has not been called');
    return this.deps;
  }

  /** Sandboxes with this node's labels, and Pod directories with a saved spec (a sandbox lost with the runtime's state). */
  private async adopt(deps: CriPodDeps, secrets: SecretVolumes): Promise<void> {
    const found = new Map<string, { namespace: string; name: string; uid: string }>();
    for (const sandbox of await deps.client.listPodSandbox({ labelSelector: ownerLabels(this.options.nodeName) })) {
      const uid = sandbox.labels[POD_UID_LABEL] ?? sandbox.metadata.uid;
      found.set(uid, { namespace: sandbox.labels[POD_NAMESPACE_LABEL] ?? sandbox.metadata.namespace, name: sandbox.labels[POD_NAME_LABEL] ?? sandbox.metadata.name, uid });
    }
    const podsDir = path.join(this.options.dataDir, PODS_DIR);
    for (const entry of readdirSync(podsDir)) {
      const [namespace, name, uid] = entry.split('_');
      if (namespace && name && uid && existsSync(path.join(podsDir, entry, POD_FILE))) found.set(uid, { namespace, name, uid });
    }
    for (const { namespace, name, uid } of found.values()) {
      let layout: PodLayout;
      try {
        layout = PodLayout.forPod(this.options.dataDir, namespace, name, uid, deps.secrets?.dir);
      } catch (err) {
        this.options.logger.warn({ namespace, name, uid, err: (err as Error).message }, 'sandbox with unusable names; left alone');
        continue;
      }
      const pod = loadPodFile(layout.dir);
      let valid = pod;
      try {
        if (pod) assertValidPod(pod);
      } catch {
        valid = undefined;
      }
      const worker = new CriPodWorker(deps, `Pod/${namespace}/${name}`, uid, layout, valid);
      if (this.workers.has(worker.key)) {
        this.workers.addDraining(worker);
        this.workers.background(worker.kill(0), worker.key);
      } else {
        this.workers.set(worker.key, worker);
      }
      this.options.logger.info({ pod: worker.key, uid, spec: valid !== undefined }, 'adopted pod');
    }
    secrets.sweep(new Set(this.workers.owners().map((worker) => worker.dirName)));
    await this.poll();
  }

  /** One ListContainers for all Pods; each worker runs a pass when its containers changed or it is due. */
  private async poll(): Promise<void> {
    if (this.stopped || this.polling || !this.deps) return;
    this.polling = true;
    try {
      const list = await this.deps.client.listContainers({ labelSelector: ownerLabels(this.options.nodeName) });
      const byUid = new Map<string, typeof list>();
      for (const item of list) {
        const uid = item.labels[POD_UID_LABEL] ?? '';
        byUid.set(uid, [...(byUid.get(uid) ?? []), item]);
      }
      for (const worker of this.workers.all()) this.workers.background(worker.poll(seenOf(byUid.get(worker.uid) ?? [])), worker.key);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'container runtime poll failed');
    } finally {
      this.polling = false;
    }
  }

  private gone(worker: CriPodWorker): void {
    this.workers.gone(worker, (replacement) => {
      if (!this.stopped) void this.syncPod(replacement).catch((err: unknown) => this.options.logger.error({ pod: worker.key, err }, 'replacement pod failed'));
    });
  }
}
