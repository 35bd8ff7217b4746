#!/usr/bin/env node
/** `edge-agent`: keep a node's cache in sync with the hub and serve it, online or offline. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { dns1123SubdomainError } from '../protocol/index.js';
import { EdgeAgent, type HostPort } from './agent.js';
import { applyConfigFile } from './config-file.js';
import { TokenFile } from './link/token-file.js';
import { transportForUrl } from './link/transport-for-url.js';
import { isLoopbackAddress } from './local-api/host-check.js';
import { loadPrometheusTelemetry } from './prometheus-telemetry.js';
import { parseReserved, parseTaints, type NodeTaint, type Reserved } from './node-info.js';

interface AgentCliOptions {
  config?: string;
  node?: string;
  hub?: string;
  data: string;
  tokenFile?: string;
  hubCa?: string;
  labels?: Record<string, string>;
  registerWithTaints?: NodeTaint[];
  metrics?: HostPort;
  localApi?: HostPort;
  localApiSecrets?: boolean;
  localApiAllowRemote?: boolean;
  kubeletApiAddress?: HostPort;
  streamUrl?: string;
  streams: boolean;
  filterRules?: string;
  localMqtt?: string;
  localMqttTopics: string[];
  outboxMaxBytes?: number;
  sandbox: 'auto' | 'never' | 'always';
  restartBackoffInitial?: number;
  restartBackoffMax?: number;
  secretsDir?: string;
  containerRuntimeEndpoint?: string;
  podLogDir?: string;
  imageGcHighThreshold?: number;
  imageGcLowThreshold?: number;
  cgroupRoot?: string;
  podMaxPids?: number;
  allowPrivileged?: boolean;
  systemReserved?: Reserved;
  kubeReserved?: Reserved;
  logLevel: string;
}

function parseHostPort(value: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT, got "${value}"`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

function parseNodeName(value: string): string {
  const why = dns1123SubdomainError(value);
  if (why) throw new InvalidArgumentError(`"${value}" is not a valid node name: ${why}`);
  return value;
}

function parseLabels(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of value.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`expected key=value[,key=value], got "${pair}"`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw new InvalidArgumentError(`expected a percentage 0-100, got "${value}"`);
  return n;
}

function parseTaintsFlag(value: string): NodeTaint[] {
  try {
    return parseTaints(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parseReservedFlag(value: string): Reserved {
  try {
    return parseReserved(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const program = new Command('edge-agent')
  .description('Sync this node with an edge-sync hub, keep everything in a local SQLite cache, and run its Pods from it with or without the cloud.')
  .showHelpAfterError()
  .addOption(new Option('--config <file>', 'YAML file with any of these settings by camelCase name (hub, node, tokenFile, ...); flags and environment override it').env('EDGE_CONFIG'))
  .addOption(new Option('--node <name>', 'this node\'s name (a DNS-1123 subdomain); required').argParser(parseNodeName).env('EDGE_NODE'))
  .addOption(new Option('--hub <url>', 'hub address: ws://HOST:PORT or wss:// (WebSocket), mqtt://HOST:PORT or mqtts:// (through an MQTT broker); required').env('EDGE_HUB'))
  .addOption(new Option('--data <dir>', 'data directory: cache.db, secret.key').default('/var/lib/edge-agent').env('EDGE_DATA'))
  .addOption(new Option('--token-file <file>', 'file holding this node\'s token (cloud-hub token create NODE); only its owner may read it (chmod 600); read again when the hub refuses the token and on SIGHUP, so a rotated token needs no restart').env('EDGE_TOKEN_FILE'))
  .addOption(
    new Option('--stream-url <url>', 'ws[s]://HOST:PORT of the hub (its --listen) to dial when it asks for a stream tunnel (kubectl logs, exec, attach, port-forward, top); default: --hub when that is ws[s]://; needed with an mqtt:// --hub for streams')
      .env('EDGE_STREAM_URL'),
  )
  .addOption(new Option('--no-streams', 'answer no stream tunnels: kubectl logs, exec, attach, port-forward and top do not reach this node').env('EDGE_NO_STREAMS'))
  .addOption(new Option('--hub-ca <file>', 'PEM CA certificate that signs the hub\'s (or the MQTT broker\'s) certificate, for wss:// and mqtts:// with a private CA (a hub started with --tls writes DATA/hub-ca.crt); without it the system\'s CAs are used').env('EDGE_HUB_CA'))
  .addOption(new Option('--labels <k=v,...>', 'labels for the Node object when the hub registers it; the hub drops what a kubelet may not set (node-role.kubernetes.io/*, other kubernetes.io/k8s.io labels outside the kubelet\'s set) and logs why').argParser(parseLabels).env('EDGE_NODE_LABELS'))
  .addOption(
    new Option('--register-with-taints <key[=value]:effect,...>', 'taints for the Node object when the hub registers it, as the kubelet\'s flag (e.g. node-role.kubernetes.io/edge:NoSchedule keeps workloads without that toleration, cluster DaemonSets included, off this node)')
      .argParser(parseTaintsFlag)
      .env('EDGE_REGISTER_WITH_TAINTS'),
  )
  .addOption(new Option('--local-api <host:port>', 'serve the cached objects read-only, Kubernetes-style (list/get/watch), on this loopback address (127.0.0.1, ::1, localhost)').argParser(parseHostPort).env('EDGE_LOCAL_API'))
  .addOption(new Option('--local-api-secrets', 'also serve Secrets on the local API').env('EDGE_LOCAL_API_SECRETS'))
  .addOption(new Option('--local-api-allow-remote', 'let --local-api bind a non-loopback address (the local API has no authentication: anyone who reaches it reads the cache)').env('EDGE_LOCAL_API_ALLOW_REMOTE'))
  .addOption(
    new Option('--kubelet-api-address <host:port>', 'also serve the kubelet API for this node\'s Pods (containerLogs, exec, attach, portForward, stats/summary, metrics/resource) on this loopback address, for debugging; the hub reaches it through its own tunnel without it. No authentication: loopback only')
      .argParser(parseHostPort)
      .env('EDGE_KUBELET_API_ADDRESS'),
  )
  .addOption(new Option('--filter-rules <file>', 'upstream event rules (YAML) used until the cloud sends its own; default: the built-in rules').env('EDGE_FILTER_RULES'))
  .addOption(new Option('--local-mqtt <url>', 'the device\'s MQTT broker: its messages are upstream event candidates').env('EDGE_LOCAL_MQTT'))
  .addOption(new Option('--local-mqtt-topics <filters>', 'comma-separated topic filters to subscribe to on the local broker').default(['#'], '#').argParser((v) => v.split(',').map((t) => t.trim()).filter(Boolean)).env('EDGE_LOCAL_MQTT_TOPICS'))
  .addOption(new Option('--outbox-max-bytes <n>', 'byte budget of the upstream outbox; when full the lowest-priority oldest events go first').argParser(positiveInt).env('EDGE_OUTBOX_MAX_BYTES'))
  .addOption(new Option('--sandbox <mode>', 'run each Pod in a bubblewrap sandbox (own mount and PID namespace, volumes at their mountPath): auto uses it when bwrap works').choices(['auto', 'never', 'always']).default('auto').env('EDGE_SANDBOX'))
  .addOption(new Option('--restart-backoff-initial <ms>', 'first CrashLoopBackOff (and, with a container runtime, ImagePullBackOff) delay (kubelet: 10000), doubling up to --restart-backoff-max').argParser(positiveInt).env('EDGE_RESTART_BACKOFF_INITIAL'))
  .addOption(new Option('--restart-backoff-max <ms>', 'longest CrashLoopBackOff delay (kubelet: 300000)').argParser(positiveInt).env('EDGE_RESTART_BACKOFF_MAX'))
  .addOption(new Option('--secrets-dir <dir>', 'where Secret volumes are written: must be on tmpfs or ramfs (Pods with Secret volumes wait otherwise); default $RUNTIME_DIRECTORY/secrets, else /run/edge-agent/secrets, else /dev/shm/edge-agent-<uid>, the first on a memory filesystem').env('EDGE_SECRETS_DIR'))
  .addOption(new Option('--container-runtime-endpoint <endpoint>', 'run Pods as containers through this CRI v1 endpoint (kubelet\'s flag), e.g. unix:///run/containerd/containerd.sock; Pods with runtimeClassName edge-process still run as processes; without it every Pod runs as processes').env('EDGE_CONTAINER_RUNTIME_ENDPOINT'))
  .addOption(new Option('--pod-log-dir <dir>', 'with --container-runtime-endpoint: root of the containers\' logs, DIR/pods/<ns>_<pod>_<uid>/<container>/<n>.log (the kubelet\'s /var/log); default DATA/log').env('EDGE_POD_LOG_DIR'))
  .addOption(new Option('--image-gc-high-threshold <percent>', 'with --container-runtime-endpoint: image filesystem usage at which unused images are removed, least recently used first (kubelet\'s flag)').argParser(percent).default(85).env('EDGE_IMAGE_GC_HIGH_THRESHOLD'))
  .addOption(new Option('--image-gc-low-threshold <percent>', 'image GC removes images until usage is below this (kubelet\'s flag)').argParser(percent).default(80).env('EDGE_IMAGE_GC_LOW_THRESHOLD'))
  .addOption(new Option('--cgroup-root <path>', 'process runtime: the cgroup subtree its Pods run in (one cgroup per Pod and per container, with their limits), as a cgroup path such as /edge-sync (the same in every cgroup v1 hierarchy); default <the agent\'s own cgroup>/edge-sync/<hash of --data>, which systemd delegates with Delegate=yes').env('EDGE_CGROUP_ROOT'))
  .addOption(new Option('--pod-max-pids <n>', 'pids limit of each Pod\'s cgroup (kubelet\'s flag); default none').argParser(positiveInt).env('EDGE_POD_MAX_PIDS'))
  .addOption(new Option('--allow-privileged', 'let containers with securityContext.privileged run (refused otherwise, as a kubelet without --allow-privileged)').env('EDGE_ALLOW_PRIVILEGED'))
  .addOption(new Option('--system-reserved <cpu=Q,memory=Q>', 'resources kept back for the system: the Node\'s allocatable is its capacity minus this and --kube-reserved (kubelet\'s flag), e.g. cpu=200m,memory=256Mi').argParser(parseReservedFlag).env('EDGE_SYSTEM_RESERVED'))
  .addOption(new Option('--kube-reserved <cpu=Q,memory=Q>', 'resources kept back for the agent itself (and the container runtime), subtracted from allocatable like --system-reserved').argParser(parseReservedFlag).env('EDGE_KUBE_RESERVED'))
  .addOption(new Option('--metrics <host:port>', 'serve /metrics, /healthz and /readyz here').argParser(parseHostPort).env('EDGE_METRICS'))
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').env('LOG_LEVEL'))
  .action(async (options: AgentCliOptions) => {
    if (options.config) applyConfigFile(program, options.config, { lists: ['localMqttTopics', 'registerWithTaints'], maps: ['labels', 'systemReserved', 'kubeReserved'] });
    const settings = program.opts<AgentCliOptions>();
    for (const [field, flag, env] of [['node', '--node', 'EDGE_NODE'], ['hub', '--hub', 'EDGE_HUB']] as const) {
      if (!settings[field]) throw new Error(`${flag} is required (or ${env}, or "${field}:" in the config file)`);
    }
    if ((settings.imageGcLowThreshold ?? 80) >= (settings.imageGcHighThreshold ?? 85)) {
      throw new Error(`--image-gc-low-threshold (${settings.imageGcLowThreshold}) must be below --image-gc-high-threshold (${settings.imageGcHighThreshold})`);
    }
    if (settings.localApi && !settings.localApiAllowRemote && !isLoopbackAddress(settings.localApi.host)) {
      throw new Error(
        `--local-api ${settings.localApi.host}:${settings.localApi.port}: not a loopback address, and the local API has no authentication; bind 127.0.0.1, ::1 or localhost, or add --local-api-allow-remote (EDGE_LOCAL_API_ALLOW_REMOTE, or "localApiAllowRemote: true" in the config file) to serve it beyond this machine`,
      );
    }
    if (settings.kubeletApiAddress && !isLoopbackAddress(settings.kubeletApiAddress.host)) {
      throw new Error(`--kubelet-api-address ${settings.kubeletApiAddress.host}:${settings.kubeletApiAddress.port}: not a loopback address; the kubelet API runs commands in Pods and has no authentication of its own: bind 127.0.0.1, ::1 or localhost`);
    }
    await run(settings as AgentCliOptions & { node: string; hub: string });
  });

function readHubCa(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new Error(`--hub-ca ${file}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--hub-ca ${file}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)`);
  return pem;
}

async function run(options: AgentCliOptions & { node: string; hub: string }): Promise<void> {
  const logger = pino({ name: 'edge-agent', level: options.logLevel, base: { pid: process.pid, node: options.node } }, pino.destination({ dest: 1, sync: true }));
  const token = options.tokenFile ? new TokenFile(options.tokenFile, logger) : undefined;
  const ca = readHubCa(options.hubCa);
  const transport = transportForUrl({ hubUrl: options.hub, node: options.node, ...(token ? { token } : {}), ...(ca ? { ca } : {}) });
  const streamUrl = options.streams ? (options.streamUrl ?? (/^wss?:\/\//i.test(options.hub) ? options.hub : undefined)) : undefined;
  if (streamUrl !== undefined && !/^wss?:\/\//i.test(streamUrl)) throw new Error(`--stream-url: expected ws://HOST:PORT or wss://HOST:PORT (the hub's --listen), got ${JSON.stringify(streamUrl)}`);
  const agent = new EdgeAgent({
    node: options.node,
    dataDir: options.data,
    transport,
    logger,
    // prom-client is loaded only when /metrics is served.
    ...(options.metrics ? { metrics: await loadPrometheusTelemetry() } : {}),
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.registerWithTaints ? { registerWithTaints: options.registerWithTaints } : {}),
    ...(options.metrics ? { metricsListen: options.metrics } : {}),
    ...(options.localApi ? { localApiListen: options.localApi, localApiSecrets: options.localApiSecrets ?? false, localApiAllowRemote: options.localApiAllowRemote ?? false } : {}),
    ...(options.kubeletApiAddress ? { kubeletApiListen: options.kubeletApiAddress } : {}),
    ...(streamUrl ? { tunnels: { streamUrl, ...(token ? { token } : {}), ...(ca ? { ca } : {}) } } : {}),
    ...(options.filterRules ? { filterRulesFile: options.filterRules } : {}),
    ...(options.localMqtt ? { localMqtt: { url: options.localMqtt, topics: options.localMqttTopics } } : {}),
    ...(options.outboxMaxBytes ? { outboxMaxBytes: options.outboxMaxBytes } : {}),
    sandbox: options.sandbox,
    ...(options.cgroupRoot ? { cgroupRoot: options.cgroupRoot } : {}),
    ...(options.podMaxPids ? { podMaxPids: options.podMaxPids } : {}),
    ...(options.allowPrivileged ? { allowPrivileged: true } : {}),
    ...(options.systemReserved || options.kubeReserved
      ? { reserved: { cpuMillis: (options.systemReserved?.cpuMillis ?? 0) + (options.kubeReserved?.cpuMillis ?? 0), memoryBytes: (options.systemReserved?.memoryBytes ?? 0) + (options.kubeReserved?.memoryBytes ?? 0) } }
      : {}),
    ...(options.secretsDir ? { secretsDir: options.secretsDir } : {}),
    ...(options.tokenFile ? { tokenFile: options.tokenFile } : {}),
    ...(options.containerRuntimeEndpoint ? { containerRuntimeEndpoint: options.containerRuntimeEndpoint } : {}),
    ...(options.podLogDir ? { podLogDir: options.podLogDir } : {}),
    ...(options.imageGcHighThreshold !== undefined ? { imageGcHighThreshold: options.imageGcHighThreshold } : {}),
    ...(options.imageGcLowThreshold !== undefined ? { imageGcLowThreshold: options.imageGcLowThreshold } : {}),
    ...(options.restartBackoffInitial || options.restartBackoffMax
      ? { restartBackoff: { ...(options.restartBackoffInitial ? { initialMs: options.restartBackoffInitial } : {}), ...(options.restartBackoffMax ? { maxMs: options.restartBackoffMax } : {}) } }
      : {}),
  });
  const bound = await agent.start();
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // SIGHUP: read the token file again (rotation); the next connection uses it.
  process.on('SIGHUP', () => void token?.reload('SIGHUP'));
  logger.info({ hub: transport.description, ...(streamUrl ? { streams: streamUrl } : {}), data: options.data, objects: agent.store.cache.size, ...bound }, 'ready');
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`edge-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
