/**
 * The edge agent, assembled: link -> store -> reconcile -> runtime, and upstream: runtime and
 * node events and the local bus -> filter -> outbox -> pump -> link. Constructed with its
 * dependencies; edge-agent/main.ts is only the command line around it.
 *
 * It opens the cache first and is ready from then on: a node whose hub is unreachable starts
 * and serves what it has, and nothing here ever clears the cache because a connection failed.
 */
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AgentHttpEndpoints } from './http-endpoints.js';
import { FullJitterBackoff } from './link/backoff.js';
import { HubLink, combineObservers, type HubLinkObserver } from './link/hub-link.js';
import { UpstreamPump } from './link/upstream-pump.js';
import { CloudRules } from './filter/cloud-rules.js';
import { LocalBus } from './filter/inputs/local-bus.js';
import { runtimeCandidate } from './filter/inputs/runtime-events.js';
import { NodeConditions } from './filter/inputs/node-conditions.js';
import { UpstreamEvents } from './filter/upstream-events.js';
import type { KubeletApiServer } from './kubelet-api/index.js';
import type { LinkTransport, TokenOption } from './link/transport.js';
import { TunnelDialer } from './link/tunnel-dialer.js';
import type { LocalApiServer } from './local-api/index.js';
import { Reconciler } from './reconcile/reconciler.js';
import { StatusReporter } from './reconcile/status-reporter.js';
import { CriRuntime } from './runtime/cri/cri-runtime.js';
import { CriPodCgroups } from './runtime/cri/cri-isolation.js';
import { CriStreams } from './runtime/cri/cri-streams.js';
import { detectCgroups } from './runtime/cgroup-detect.js';
import { ProcessRuntime, RuntimeRouter, defaultHostIP, type BackoffSettings, type BwrapMode, type Runtime } from './runtime/index.js';
import { ProcessStreams } from './runtime/process-streams.js';
import { RuntimeStreamsRouter, type RuntimeStreams } from './runtime/runtime-streams.js';
import { collectNodeInfo, localNodeStatus, type NodeTaint, type Reserved } from './node-info.js';
import { openEdgeStore, type EdgeStore } from './store/index.js';
import { NO_TELEMETRY, type AgentTelemetry, type TelemetryFactory } from './telemetry.js';
import { agentVersion } from './version.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface EdgeAgentOptions {
  node: string;
  dataDir: string;
  transport: LinkTransport;
  logger: Logger;
  /** The agent's metrics (prometheus-telemetry.ts); none when absent. Required by metricsListen. */
  metrics?: TelemetryFactory;
  labels?: Record<string, string>;
  /** Taints for the Node when the hub registers it (--register-with-taints). */
  registerWithTaints?: NodeTaint[];
  metricsListen?: HostPort;
  /** Serve the cache read-only on this address (loopback). */
  localApiListen?: HostPort;
  /** Also serve Secrets on the local API. */
  localApiSecrets?: boolean;
  /** Let the local API bind a non-loopback address (`--local-api-allow-remote`). */
  localApiAllowRemote?: boolean;
  /** Also serve the kubelet API (logs, exec, attach, port-forward, stats) on this loopback address (`--kubelet-api-address`). */
  kubeletApiListen?: HostPort;
  backoff?: FullJitterBackoff;
  /** Upstream event rules when the cloud sent none. */
  filterRulesFile?: string;
  /** The device's MQTT broker, whose messages are upstream event candidates. */
  localMqtt?: { url: string; topics: string[] };
  /** Byte budget of the upstream outbox. */
  outboxMaxBytes?: number;
  /** Run Pods in bubblewrap sandboxes: auto (when bwrap works), never, always. */
  sandbox?: BwrapMode;
  /** CrashLoopBackOff timing (kubelet: 10 s doubling to 5 min). */
  restartBackoff?: Partial<BackoffSettings>;
  /** Full reconcile pass at least this often, ms. */
  resyncIntervalMs?: number;
  /** Root of the Secret volumes, on tmpfs/ramfs (default: the runtime's choice, secret-volumes.ts). */
  secretsDir?: string;
  /** The hub token's file: hidden from Pod sandboxes. */
  tokenFile?: string;
  /** A CRI endpoint (`unix:///run/containerd/containerd.sock`): Pods run as containers there, except those with runtimeClassName edge-process. */
  containerRuntimeEndpoint?: string;
  /** Root of the CRI containers' logs (`<dir>/pods/<ns>_<pod>_<uid>/<container>/<n>.log`). Default `<dataDir>/log`. */
  podLogDir?: string;
  /** Image GC thresholds in percent of the image filesystem (kubelet: 85, 80). */
  imageGcHighThreshold?: number;
  imageGcLowThreshold?: number;
  /** Process runtime: the cgroup subtree (`--cgroup-root`); default below the agent's own cgroup. */
  cgroupRoot?: string;
  /** pids limit per Pod cgroup (`--pod-max-pids`). */
  podMaxPids?: number;
  /** Let privileged containers run (`--allow-privileged`). */
  allowPrivileged?: boolean;
  /** Kept back from Pods: allocatable = capacity minus this (`--system-reserved` + `--kube-reserved`). */
  reserved?: Reserved;
  /**
   * Serve `kubectl logs/exec/attach/port-forward/top` through tunnels the hub asks for
   * (protocol/README.md, "Stream tunnels"): dialled at `streamUrl` (ws[s]://, the hub's
   * --listen) with the node's token, and served by the kubelet API (`kubeletApi()`).
   */
  tunnels?: { streamUrl: string; token?: TokenOption; ca?: Buffer };
}

/** With --cgroup-root, CRI Pods get their own cgroups below `<root>/cri` (the sandboxes' cgroup_parent). */
function criCgroups(options: EdgeAgentOptions, logger: Logger): { cgroups?: CriPodCgroups } {
  if (!options.cgroupRoot) return {};
  const parent = `${options.cgroupRoot.replace(/\/+$/, '')}/cri`;
  const setup = detectCgroups({ dataDir: options.dataDir, root: parent });
  if (!setup.ok) {
    logger.warn({ reason: setup.reason }, 'no Pod cgroups for CRI Pods: sandboxes get the runtime\'s default cgroup parent');
    return {};
  }
  return { cgroups: new CriPodCgroups(setup.driver, parent, logger.child({ component: 'cri' }), options.podMaxPids) };
}

export class EdgeAgent {
  readonly store: EdgeStore;
  readonly link: HubLink;
  readonly metrics: AgentTelemetry;
  readonly pump: UpstreamPump;
  readonly events: UpstreamEvents;
  /** The process runtime (every Pod without a container runtime; runtimeClassName edge-process with one). */
  readonly runtime: ProcessRuntime;
  /** The CRI runtime, with --container-runtime-endpoint. */
  readonly cri?: CriRuntime;
  /** What the reconciler drives: the process runtime alone, or both behind a RuntimeRouter. */
  private readonly pods: Runtime;
  private readonly reconciler: Reconciler;
  private readonly reporter: StatusReporter;
  private readonly rules: CloudRules;
  private readonly conditions: NodeConditions;
  private readonly bus?: LocalBus;
  private endpoints?: AgentHttpEndpoints;
  private localApi?: LocalApiServer;
  private readonly tunnels?: TunnelDialer;
  /** What the kubelet API streams from: both runtimes behind one. */
  readonly streams: RuntimeStreams;
  private kubeletApiServer?: Promise<KubeletApiServer>;
  private readonly criStreams?: CriStreams;

  constructor(private readonly options: EdgeAgentOptions) {
    const { logger } = options;
    this.store = openEdgeStore({
      dir: options.dataDir,
      logger: logger.child({ component: 'store' }),
      ...(options.outboxMaxBytes ? { outbox: { maxBytes: options.outboxMaxBytes } } : {}),
    });
    if (options.metricsListen && !options.metrics) throw new Error('EdgeAgent: metricsListen needs metrics');
    this.metrics = options.metrics ? options.metrics(() => this.store.cache.size, this.store.outbox) : NO_TELEMETRY;
    this.pump = new UpstreamPump({ outbox: this.store.outbox, logger: logger.child({ component: 'upstream' }) });
    this.events = new UpstreamEvents({
      outbox: this.store.outbox,
      logger: logger.child({ component: 'events' }),
      notify: () => this.pump.notify(),
      onDecision: (decision) => this.metrics.countEvent(decision.action),
    });
    const offer = this.events.offer.bind(this.events);
    this.rules = new CloudRules({
      engine: this.events.engine,
      cache: this.store.cache,
      logger: logger.child({ component: 'filter-rules' }),
      ...(options.filterRulesFile ? { localFile: options.filterRulesFile } : {}),
      onRejected: () => this.metrics.countRejectedRules(),
    });
    this.conditions = new NodeConditions({ dataDir: options.dataDir, offer, logger });
    if (options.localMqtt) {
      this.bus = new LocalBus({ ...options.localMqtt, node: options.node, offer, logger: logger.child({ component: 'local-bus' }) });
    }
    this.runtime = new ProcessRuntime({
      // Pods live under DATA/pods; the runtime hides DATA (cache.db, secret.key), the Secret
      // volumes' directory and the token file from sandboxes.
      dataDir: options.dataDir,
      ...(options.secretsDir ? { secretsDir: options.secretsDir } : {}),
      ...(options.tokenFile ? { secretFiles: [options.tokenFile] } : {}),
      nodeName: options.node,
      lookup: this.store.cache,
      logger: logger.child({ component: 'runtime' }),
      ...(options.sandbox ? { useBwrap: options.sandbox } : {}),
      ...(options.restartBackoff ? { backoff: options.restartBackoff } : {}),
      ...(options.cgroupRoot ? { cgroupRoot: options.cgroupRoot } : {}),
      ...(options.podMaxPids ? { podMaxPids: options.podMaxPids } : {}),
      ...(options.allowPrivileged ? { allowPrivileged: true } : {}),
    });
    this.pods = this.runtime;
    if (options.containerRuntimeEndpoint) {
      this.cri = new CriRuntime({
        endpoint: options.containerRuntimeEndpoint,
        // Apart from the process runtime's DATA/pods, whose directories it adopts.
        dataDir: path.join(options.dataDir, 'cri'),
        logDir: options.podLogDir ?? path.join(options.dataDir, 'log'),
        nodeName: options.node,
        lookup: this.store.cache,
        logger: logger.child({ component: 'cri' }),
        hostIP: defaultHostIP(),
        ...(options.secretsDir ? { secretsDir: options.secretsDir } : {}),
        ...(options.restartBackoff ? { backoff: options.restartBackoff } : {}),
        ...(options.imageGcHighThreshold !== undefined ? { imageGcHighPercent: options.imageGcHighThreshold } : {}),
        ...(options.imageGcLowThreshold !== undefined ? { imageGcLowPercent: options.imageGcLowThreshold } : {}),
        ...(options.allowPrivileged ? { allowPrivileged: true } : {}),
        ...criCgroups(options, logger),
      });
      this.pods = new RuntimeRouter(this.cri, this.runtime);
    }
    const processStreams = new ProcessStreams({ dataDir: options.dataDir, runtime: this.runtime });
    if (this.cri && options.containerRuntimeEndpoint) {
      this.criStreams = new CriStreams({ endpoint: options.containerRuntimeEndpoint, runtime: this.cri, nodeName: options.node, logDir: options.podLogDir ?? path.join(options.dataDir, 'log') });
    }
    this.streams = new RuntimeStreamsRouter(this.criStreams ? [processStreams, this.criStreams] : [processStreams]);
    this.reporter = new StatusReporter({
      runtime: this.pods,
      cache: this.store.cache,
      outbox: this.store.outbox,
      logger: logger.child({ component: 'status' }),
      notify: () => this.pump.notify(),
    });
    this.reconciler = new Reconciler({
      nodeName: options.node,
      cache: this.store.cache,
      runtime: this.pods,
      logger: logger.child({ component: 'reconcile' }),
      ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
      onTerminated: (key, pod) => this.reporter.terminated(key, pod),
      // The store knows whether a Pod it lacks was deleted or is only unknown (cache-completeness.ts).
      cacheComplete: () => this.store.cache.complete,
      onQuarantined: (key, pod, message) => this.reporter.quarantined(key, pod, message),
      onEvent: (event) => offer(runtimeCandidate(event.pod, event)),
      onReleased: (key) => this.reporter.released(key),
    });
    this.pods.onChange((key, event) => {
      this.reconciler.wake();
      if (event) offer(runtimeCandidate(key, event));
    });
    const conditions = this.conditions;
    const nodeEvents: HubLinkObserver = {
      connected: (welcome) => conditions.hubClock(welcome.ts),
      synced: ({ matched, ops, ms }) => {
        conditions.resynced(ops, ms);
        // In sync with the hub: Pods missing from the cache from now on were deleted.
        if (matched && this.store.cache.markComplete()) this.reconciler.wake();
      },
    };
    if (options.tunnels) {
      const { streamUrl, token, ca } = options.tunnels;
      const handler = {
        handleConnection: (socket: Duplex) =>
          void this.kubeletApi().then(
            (api) => api.handleConnection(socket),
            (err: unknown) => {
              logger.error({ err }, 'the kubelet API did not load');
              socket.destroy();
            },
          ),
      };
      this.tunnels = new TunnelDialer({ streamUrl, node: options.node, ...(token ? { token } : {}), ...(ca ? { ca } : {}), handler, logger: logger.child({ component: 'tunnels' }) });
    }
    this.link = new HubLink({
      node: options.node,
      agentVersion: agentVersion(),
      nodeInfo: () => collectNodeInfo({ labels: options.labels ?? {}, ...(options.registerWithTaints ? { taints: options.registerWithTaints } : {}), ...(options.reserved ? { reserved: options.reserved } : {}) }),
      cache: this.store.cache,
      transport: options.transport,
      logger: logger.child({ component: 'link' }),
      observer: combineObservers(this.metrics.observer(), nodeEvents),
      upstream: this.pump,
      ...(this.tunnels ? { tunnels: this.tunnels } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }

  /** Starts serving and connecting; resolves with the bound addresses without waiting for the hub. */
  async start(): Promise<{ metrics?: string; localApi?: string; kubeletApi?: string; sandbox: string; secretsDir?: string; containerRuntime?: string }> {
    const bound: { metrics?: string; localApi?: string; kubeletApi?: string } = {};
    const { metricsListen, localApiListen } = this.options;
    if (metricsListen && this.metrics.registry) {
      this.endpoints = new AgentHttpEndpoints(this.metrics.registry, () => true);
      bound.metrics = await this.endpoints.start(metricsListen.host, metricsListen.port);
    }
    if (localApiListen) {
      // Loaded only when served: most devices run without the local API.
      const { LocalApiServer } = await import('./local-api/index.js');
      const startedAt = new Date();
      this.localApi = new LocalApiServer({
        readModel: this.store.cache.changeLog,
        host: localApiListen.host,
        port: localApiListen.port,
        allowRemote: this.options.localApiAllowRemote ?? false,
        serveSecrets: this.options.localApiSecrets ?? false,
        logger: this.options.logger.child({ component: 'local-api' }),
        // Pods are served with the status the runtime sees now, hub or no hub (Failed/InvalidSpec when quarantined).
        podStatus: (key) => this.reporter.quarantineStatus(key) ?? this.pods.podStatus(key),
        // The agent knows its own node: served Ready with its nodeInfo, hub or no hub.
        nodeStatus: (name) => (name === this.options.node ? localNodeStatus(collectNodeInfo({ labels: this.options.labels ?? {}, ...(this.options.reserved ? { reserved: this.options.reserved } : {}) }), agentVersion(), startedAt, new Date()) : undefined),
        // The Pods' logs from the device, cloud or no cloud (`kubectl logs` against the local API).
        podLogs: async (res, namespace, name, query) => (await this.kubeletApi()).podLog(res, namespace, name, query),
      });
      bound.localApi = await this.localApi.start();
    }
    if (this.options.kubeletApiListen) {
      const { host, port } = this.options.kubeletApiListen;
      bound.kubeletApi = await (await this.kubeletApi()).listen(host, port);
    }
    this.rules.start();
    this.conditions.start();
    await this.bus?.start();
    // Adopt the Pods that kept running while the agent was away before deciding anything.
    await this.pods.start();
    this.reporter.start();
    this.reconciler.start();
    this.link.start();
    return {
      ...bound,
      sandbox: this.runtime.sandboxKind ?? 'direct',
      ...(this.runtime.secretsDir ? { secretsDir: this.runtime.secretsDir } : {}),
      ...(this.cri ? { containerRuntime: this.cri.runtimeVersion } : {}),
    };
  }

  /**
   * The kubelet API for this node's Pods (edge-agent/kubelet-api/), loaded on first use. The hub's
   * stream tunnel hands it each connection: `(await agent.kubeletApi()).handleConnection(socket)`.
   */
  kubeletApi(): Promise<KubeletApiServer> {
    this.kubeletApiServer ??= import('./kubelet-api/index.js').then(
      ({ KubeletApiServer }) =>
        new KubeletApiServer({
          nodeName: this.options.node,
          getPod: (key) => this.store.cache.get(key),
          listPods: () => [...this.store.cache.keysOfKind('Pod')].flatMap((key) => { const pod = this.store.cache.get(key); return pod ? [pod] : []; }),
          podStatus: (key) => this.pods.podStatus(key),
          streams: this.streams,
          logger: this.options.logger.child({ component: 'kubelet-api' }),
        }),
    );
    return this.kubeletApiServer;
  }

  /** Stops the agent; its Pods keep running and the next start adopts them. */
  async stop(): Promise<void> {
    await this.reconciler.stop();
    this.reporter.stop();
    await this.pods.stop();
    this.rules.stop();
    this.conditions.stop();
    await this.bus?.stop();
    // Pending aggregates go into the outbox before it closes.
    this.events.close();
    this.link.stop();
    this.tunnels?.stop();
    await this.localApi?.close();
    await (await this.kubeletApiServer)?.close();
    this.criStreams?.close();
    await this.endpoints?.close();
    this.store.close();
  }
}
