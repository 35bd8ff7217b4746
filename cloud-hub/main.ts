#!/usr/bin/env node
/** `cloud-hub`: serve the fleet, run the embedded API alone, or manage node tokens. */
import type { KubeConfig } from '@kubernetes/client-node';
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { resolveOwner, writeMosquittoAuth } from './auth/mosquitto-auth.js';
import { TokenAdmin } from './auth/token-admin.js';
import { LOG_LEVELS, createLogger, parseHostPort, parsePositiveInt } from './cli-options.js';
import { apiServerCommand } from './apiserver/command.js';
import { controllerSettingsFrom, withControllerFlags } from './apiserver/controller-settings.js';
import type { EmbeddedApiServer } from './apiserver/index.js';
import { CloudHub } from './hub.js';
import { kubeletSettingsFrom, peerSettingsFrom, tunnelLimitsFrom, withKubeletFlags, type KubeletFlags } from './kubelet-flags.js';
import { KubeClient } from './kube/kube-client.js';
import { loadKubeConfig } from './kube/kube-config.js';
import { DEFAULT_NODE_LIMITS, type NodeLimits } from './session/node-limits.js';
import type { HostPort } from './transport/host-port.js';
import { loadHubTls } from './transport/hub-tls.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/index.js';

interface MosquittoAuthCommandOptions {
  dir: string;
  hubUser: string;
  hubPasswordFile: string;
  owner?: string;
  conf?: string;
  nodeListener: HostPort;
  hubListener: HostPort;
  kubeconfig?: string;
  data?: string;
  namespace: string;
}

interface ServeOptions extends KubeletFlags {
  embedded?: boolean;
  kubeconfig?: string;
  data: string;
  listen: HostPort;
  apiListen: HostPort;
  apiHistory?: number;
  apiBookmarkInterval?: number;
  metrics?: HostPort;
  namespace: string;
  hubId?: string;
  heartbeatInterval: number;
  shutdownTimeout: number;
  nodeGracePeriod: number;
  apiQps: number;
  window: number;
  mqtt?: string;
  mqttPasswordFile?: string;
  embeddedBroker?: HostPort;
  shards: number;
  shardLeaseDuration: number;
  eventWebhook?: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsSan?: string[];
  metricsTls?: boolean;
  maxPending: number;
  maxPendingPerAddress: number;
  handshakeTimeout: number;
  nodeFrameRate: number;
  nodeByteRate: number;
  nodeEventRate: number;
  nodeRateBurst: number;
  maxSendBuffer: number;
  autonomy: boolean;
  logLevel: string;
  nodeMonitorGracePeriod: number;
  nodeMonitorPeriod: number;
  defaultUnreachableTolerationSeconds: number;
  defaultNotReadyTolerationSeconds: number;
}

const nonNegativeInt = (value: string): number => (value === '0' ? 0 : parsePositiveInt(value));
const limit = DEFAULT_NODE_LIMITS;

const logLevelOption = () => new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL');
const namespaceOption = () =>
  new Option('--namespace <ns>', 'namespace holding node tokens and edge configuration').default('edge-system').env('EDGE_NAMESPACE');

const program = new Command('cloud-hub')
  .description(
    'Stream scoped Kubernetes objects to edge agents over WebSocket and MQTT.\n' +
      'Without --kubeconfig or --embedded, the cluster comes from DIR/kubeconfig when\n' +
      '--data DIR is given, else from $KUBECONFIG, ~/.kube/config or the in-cluster\n' +
      'service account. Logs "listening" with the bound addresses, then "ready" once\n' +
      'every informer has listed (when /readyz turns 200).',
  )
  .showHelpAfterError()
  // Subcommands declare --kubeconfig/--data too; each flag belongs to the command it follows.
  .enablePositionalOptions()
  .addOption(new Option('--embedded', 'run the embedded Kubernetes-wire API in-process (no cluster needed)').env('EDGE_EMBEDDED'))
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig of the cluster to serve').env('EDGE_KUBECONFIG').conflicts('embedded'))
  .addOption(new Option('--data <dir>', 'data directory of the embedded API (state, CA, kubeconfig) and of the hub\'s generated TLS CA (hub-ca.crt); without --embedded, given explicitly: use DIR/kubeconfig').default('.edge-hub').env('EDGE_DATA'))
  .addOption(new Option('--listen <host:port>', 'WebSocket listen address (port 0: any free port)').default(parseHostPort('0.0.0.0:7070'), '0.0.0.0:7070').argParser(parseHostPort).env('EDGE_LISTEN'))
  .addOption(new Option('--api-listen <host:port>', 'embedded API listen address').default(parseHostPort('127.0.0.1:6443'), '127.0.0.1:6443').argParser(parseHostPort).env('EDGE_API_LISTEN'))
  .addOption(new Option('--api-history <n>', 'embedded API: changes kept for watches to resume from (older resourceVersions get 410 Gone; default 10000)').argParser(parsePositiveInt).env('EDGE_API_HISTORY'))
  .addOption(new Option('--api-bookmark-interval <ms>', 'embedded API: how often a watch that allows bookmarks gets one (default 60000)').argParser(parsePositiveInt).env('EDGE_API_BOOKMARK_INTERVAL'))
  .addOption(new Option('--mqtt <url>', 'also serve nodes through this MQTT broker: mqtt://[user@]HOST:PORT or mqtts://').env('EDGE_MQTT'))
  .addOption(new Option('--mqtt-password-file <file>', 'password of the hub\'s broker user (the user is in --mqtt)').env('EDGE_MQTT_PASSWORD_FILE'))
  .addOption(new Option('--embedded-broker <host:port>', 'run an MQTT 3.1.1 broker in-process on this address and serve nodes through it').argParser(parseHostPort).env('EDGE_EMBEDDED_BROKER').conflicts('mqtt'))
  .addOption(new Option('--shards <n>', 'with --mqtt: shards of the fleet, owned by replicas through Leases (0: this hub serves every node)').default(16).argParser((v) => (v === '0' ? 0 : parsePositiveInt(v))).env('EDGE_SHARDS'))
  .addOption(new Option('--shard-lease-duration <ms>', 'how long a dead replica keeps its MQTT shards, and stays in its peers\' membership list (its membership Lease is renewed every third of it)').default(15_000).argParser(parsePositiveInt).env('EDGE_SHARD_LEASE_DURATION'))
  .addOption(new Option('--event-webhook <url>', 'POST forwarded edge events that are not about a Pod or Node here (default: the broker\'s edge/v1/<node>/events topics, else the log)').env('EDGE_EVENT_WEBHOOK'))
  .addOption(new Option('--metrics <host:port>', 'serve /metrics, /healthz and /readyz here').argParser(parseHostPort).env('EDGE_METRICS'))
  .addOption(namespaceOption())
  .addOption(new Option('--hub-id <id>', 'this replica\'s name in logs, frames, its membership Lease and MQTT shard Leases; one that survives a restart (the pod name) lets a restarted replica take its shards back at once (default: hostname-pid)').env('EDGE_HUB_ID'))
  .addOption(new Option('--heartbeat-interval <ms>', 'heartbeat interval asked of agents').default(10_000).argParser(parsePositiveInt).env('EDGE_HEARTBEAT_INTERVAL'))
  .addOption(new Option('--shutdown-timeout <ms>', 'on SIGTERM/SIGINT, how long a clean stop (closing sessions, handing over Leases) may take before the process exits anyway; a second signal exits at once').default(15_000).argParser(parsePositiveInt).env('EDGE_SHUTDOWN_TIMEOUT'))
  .addOption(new Option('--node-grace-period <ms>', 'Lease age after which an edge node is NotReady (Leases are renewed every quarter of it, at most every 10 s)').default(40_000).argParser(parsePositiveInt).env('EDGE_NODE_GRACE_PERIOD'))
  .addOption(new Option('--window <frames>', 'unacked sync frames per node before the hub waits').default(16).argParser(parsePositiveInt).env('EDGE_WINDOW'))
  .addOption(new Option('--tls', 'serve wss:// (and https health on the same port) with --tls-cert/--tls-key, or else with a certificate signed by a CA generated in --data (agents trust it with --hub-ca DATA/hub-ca.crt)').env('EDGE_TLS'))
  .addOption(new Option('--tls-cert <file>', 'PEM certificate (chain) for wss://; implies --tls').env('EDGE_TLS_CERT'))
  .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('EDGE_TLS_KEY'))
  .addOption(new Option('--tls-san <names>', 'more DNS names or IPs agents reach the hub by, for the generated certificate (it always names loopback, this host\'s name and a specific --listen address)').argParser((v) => v.split(',').map((n) => n.trim()).filter(Boolean)).env('EDGE_TLS_SAN'))
  .addOption(new Option('--metrics-tls', 'with --tls: serve --metrics over https with the same certificate').env('EDGE_METRICS_TLS'))
  .addOption(new Option('--max-pending <n>', 'connections not yet authenticated, over all peers; more are closed at once (0: no cap)').default(limit.maxPending).argParser(nonNegativeInt).env('EDGE_MAX_PENDING'))
  .addOption(new Option('--max-pending-per-address <n>', 'the same per remote address; raise it (or 0) when agents come through one NAT, proxy or ingress address').default(limit.maxPendingPerAddress).argParser(nonNegativeInt).env('EDGE_MAX_PENDING_PER_ADDRESS'))
  .addOption(new Option('--handshake-timeout <ms>', 'from connect to an authenticated upgrade, and from there to the first frame; slower peers are closed').default(limit.handshakeTimeoutMs).argParser(parsePositiveInt).env('EDGE_HANDSHAKE_TIMEOUT'))
  .addOption(new Option('--node-frame-rate <n>', 'frames per second one node may send (sustained); over it the hub stops reading the node for a while (E_RATE_LIMITED)').default(limit.frameRate).argParser(parsePositiveInt).env('EDGE_NODE_FRAME_RATE'))
  .addOption(new Option('--node-byte-rate <bytes>', 'frame bytes per second one node may send (sustained)').default(limit.byteRate).argParser(parsePositiveInt).env('EDGE_NODE_BYTE_RATE'))
  .addOption(new Option('--node-event-rate <n>', 'events and Pod status reports per second one node may send (sustained)').default(limit.eventRate).argParser(parsePositiveInt).env('EDGE_NODE_EVENT_RATE'))
  .addOption(new Option('--node-rate-burst <seconds>', 'each node rate may be exceeded by this many seconds\' worth at once').default(limit.burstSeconds).argParser(parsePositiveInt).env('EDGE_NODE_RATE_BURST'))
  .addOption(new Option('--max-send-buffer <bytes>', 'bytes waiting for one connection that does not read; over it the connection is cut and its memory freed').default(limit.maxSendBufferBytes).argParser(parsePositiveInt).env('EDGE_MAX_SEND_BUFFER'))
  .addOption(new Option('--api-qps <n>', 'sustained Kubernetes API writes per second (Lease renewals take up to half: N nodes renewed every 10 s need N/5)').default(500).argParser(parsePositiveInt).env('EDGE_API_QPS'))
  .addOption(
    new Option('--no-autonomy', 'leave the tolerations of pods on edge nodes alone (by default pods on an edge node tolerate its outage forever unless the node or the pod is annotated edge-sync.io/autonomy: "false")').env('EDGE_NO_AUTONOMY'),
  )
  .addOption(logLevelOption());
withControllerFlags(withKubeletFlags(program))
  // --data names the cluster only when given: its default is the embedded API's directory.
  .action(async (options: ServeOptions, command: Command) => serve(options, command.getOptionValueSource('data') !== 'default'));

program.addCommand(apiServerCommand());

const token = new Command('token').description('Manage node credentials (stored as SHA-256 hashes in Secrets).');
for (const [name, description] of [
  ['create', 'print a new token for NODE (replaces an existing one)'],
  ['revoke', 'delete NODE\'s token and disconnect it'],
] as const) {
  token
    .command(`${name} <node>`)
    .description(description)
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig of the cluster').env('EDGE_KUBECONFIG'))
    .addOption(new Option('--data <dir>', 'use the embedded API of this data directory (DIR/kubeconfig)').env('EDGE_DATA'))
    .addOption(namespaceOption())
    .action(async (node: string, options: { kubeconfig?: string; data?: string; namespace: string }) => {
      const admin = new TokenAdmin(new KubeClient(loadKubeConfig(options)), options.namespace);
      if (name === 'create') {
        process.stdout.write(`${await admin.create(node)}\n`);
      } else if (!(await admin.revoke(node))) {
        throw new Error(`node ${node} has no token`);
      }
    });
}
token
  .command('list')
  .description('list the nodes that have a token')
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig of the cluster').env('EDGE_KUBECONFIG'))
  .addOption(new Option('--data <dir>', 'use the embedded API of this data directory (DIR/kubeconfig)').env('EDGE_DATA'))
  .addOption(namespaceOption())
  .action(async (options: { kubeconfig?: string; data?: string; namespace: string }) => {
    for (const node of await new TokenAdmin(new KubeClient(loadKubeConfig(options)), options.namespace).list()) process.stdout.write(`${node}\n`);
  });
token
  .command('mosquitto-auth')
  .description(
    'write mosquitto\'s password files and ACLs from the node tokens into DIR (passwd and acl for the nodes\' listener, hub.passwd and hub.acl for the hub\'s), ' +
      'and with --conf a mosquitto.conf using them; reload mosquitto afterwards (SIGHUP)',
  )
  .addOption(new Option('--dir <dir>', 'directory to write the four files to').makeOptionMandatory().env('EDGE_MOSQUITTO_DIR'))
  .addOption(new Option('--hub-user <name>', 'the hub\'s own broker user (not a valid node name, so no node can take it)').default('_cloud-hub').env('EDGE_MOSQUITTO_HUB_USER'))
  .addOption(new Option('--hub-password-file <file>', 'file with the hub user\'s password').makeOptionMandatory().env('EDGE_MQTT_PASSWORD_FILE'))
  .addOption(
    new Option('--owner <user[:group]>', 'give the files to the broker\'s user (mosquitto started as root reads them as user "mosquitto"); password files are mode 0640').env(
      'EDGE_MOSQUITTO_OWNER',
    ),
  )
  .addOption(new Option('--conf <file>', 'also write a mosquitto.conf with the listeners and limits edge-sync relies on').env('EDGE_MOSQUITTO_CONF'))
  .addOption(new Option('--node-listener <host:port>', 'with --conf: the listener agents connect to').default(parseHostPort(':1883'), ':1883').argParser(parseHostPort).env('EDGE_MOSQUITTO_NODE_LISTENER'))
  .addOption(
    new Option('--hub-listener <host:port>', 'with --conf: the listener only hub replicas reach').default(parseHostPort('127.0.0.1:1884'), '127.0.0.1:1884').argParser(parseHostPort).env('EDGE_MOSQUITTO_HUB_LISTENER'),
  )
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig of the cluster').env('EDGE_KUBECONFIG'))
  .addOption(new Option('--data <dir>', 'use the embedded API of this data directory (DIR/kubeconfig)').env('EDGE_DATA'))
  .addOption(namespaceOption())
  .action(async (options: MosquittoAuthCommandOptions) => {
    const owner = options.owner ? resolveOwner(options.owner) : undefined;
    const hashes = await new TokenAdmin(new KubeClient(loadKubeConfig(options)), options.namespace).mosquittoHashes();
    const missing = [...hashes].filter(([, hash]) => !hash).map(([node]) => node);
    if (missing.length > 0) process.stderr.write(`cloud-hub: tokens without a broker hash (recreate them): ${missing.join(', ')}\n`);
    const written = writeMosquittoAuth({
      dir: options.dir,
      hubUser: options.hubUser,
      hubPassword: readFileSync(options.hubPasswordFile, 'utf8').trim(),
      hashes,
      ...(owner ? { owner } : {}),
      ...(options.conf ? { conf: { file: options.conf, nodeListener: options.nodeListener, hubListener: options.hubListener, maxPacketBytes: DEFAULT_MAX_FRAME_BYTES + 64 * 1024 } } : {}),
    });
    process.stdout.write(`wrote ${written.nodes} node credentials and the hub user: ${written.files.join(', ')}\n`);
    if (!owner && process.getuid?.() === 0) {
      process.stderr.write('cloud-hub: the files belong to root; mosquitto started as root reads them as user "mosquitto": pass --owner mosquitto\n');
    }
  });
program.addCommand(token);

async function serve(options: ServeOptions, dataGiven: boolean): Promise<void> {
  const logger = createLogger('cloud-hub', options.logLevel);
  // TLS first: a bad certificate fails the start before anything else runs.
  const wantsTls = Boolean(options.tls || options.tlsCert || options.tlsKey);
  if (options.metricsTls && !wantsTls) throw new Error('--metrics-tls needs --tls (or --tls-cert/--tls-key)');
  const tls = wantsTls
    ? await loadHubTls({
        ...(options.tlsCert ? { certFile: options.tlsCert } : {}),
        ...(options.tlsKey ? { keyFile: options.tlsKey } : {}),
        dataDir: options.data,
        listenHost: options.listen.host,
        ...(options.tlsSan ? { sans: options.tlsSan } : {}),
      })
    : undefined;
  let embedded: EmbeddedApiServer | undefined;
  let kubeConfig: KubeConfig;
  // Known once the hub listens; the embedded API asks for it on each pods/log, exec, ... request.
  let kubeletEndpoint: { host: string; port: number; ca: string } | undefined;
  let api: string | undefined;
  if (options.embedded) {
    // Loaded only here (and by `apiserver`): with it come SQLite, @peculiar/x509 and reflect-metadata.
    const { EmbeddedApiServer } = await import('./apiserver/index.js');
    embedded = new EmbeddedApiServer({
      dataDir: options.data,
      host: options.apiListen.host,
      port: options.apiListen.port,
      ...(options.apiHistory ? { historyWindow: options.apiHistory } : {}),
      ...(options.apiBookmarkInterval ? { bookmarkIntervalMs: options.apiBookmarkInterval } : {}),
      logger: logger.child({ component: 'apiserver' }),
      controllers: controllerSettingsFrom(options),
      kubelet: () => kubeletEndpoint,
    });
    await embedded.start();
    api = embedded.url;
    kubeConfig = loadKubeConfig({ kubeconfig: embedded.kubeconfigPath });
  } else {
    kubeConfig = loadKubeConfig({ ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}), ...(dataGiven ? { data: options.data } : {}) });
  }
  const kubelet = await kubeletSettingsFrom(options, options.data, options.tlsSan ?? [], embedded?.caCertPath);
  const limits: NodeLimits = {
    maxPending: options.maxPending,
    maxPendingPerAddress: options.maxPendingPerAddress,
    handshakeTimeoutMs: options.handshakeTimeout,
    frameRate: options.nodeFrameRate,
    byteRate: options.nodeByteRate,
    eventRate: options.nodeEventRate,
    burstSeconds: options.nodeRateBurst,
    maxSendBufferBytes: options.maxSendBuffer,
  };
  const hub = new CloudHub({
    kubeConfig,
    logger,
    registry: new Registry(),
    hubId: options.hubId ?? `${hostname()}-${process.pid}`,
    namespace: options.namespace,
    listen: options.listen,
    ...(options.metrics ? { metricsListen: options.metrics } : {}),
    heartbeatMs: options.heartbeatInterval,
    nodeGracePeriodMs: options.nodeGracePeriod,
    window: options.window,
    ...(options.mqtt ? { mqtt: { url: options.mqtt, ...(options.mqttPasswordFile ? { password: readFileSync(options.mqttPasswordFile, 'utf8').trim() } : {}) } } : {}),
    ...(options.embeddedBroker ? { embeddedBroker: options.embeddedBroker } : {}),
    shards: options.shards,
    ...(options.eventWebhook ? { eventWebhook: options.eventWebhook } : {}),
    shardLeaseDurationMs: options.shardLeaseDuration,
    apiQps: options.apiQps,
    apiBurst: options.apiQps * 2,
    ...(tls ? { tls: { cert: tls.cert, key: tls.key }, metricsTls: options.metricsTls ?? false } : {}),
    limits,
    autonomy: options.autonomy,
    // The embedded API is one process: no peers to forward to.
    ...(kubelet ? { kubelet, ...(options.embedded ? {} : { peers: peerSettingsFrom(options, kubelet.caPem) }) } : {}),
    tunnelLimits: tunnelLimitsFrom(options),
  });
  if (options.mqtt && options.shards > 0 && !options.hubId) {
    logger.warn('no --hub-id: this replica holds its MQTT shard Leases as hostname-pid, so after a crash they move only when they expire; set --hub-id (a Deployment: the pod name)');
  }
  const bound = await hub.start();
  if (bound.kubelet && kubelet) {
    const url = new URL(bound.kubelet);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    kubeletEndpoint = { host: host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host, port: Number(url.port), ca: kubelet.caPem };
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A stop that waits on an unreachable API (Lease hand-over) or a stuck peer must not keep
    // the process alive for ever: a supervisor's SIGKILL would come later and lose the log line.
    setTimeout(() => {
      logger.error({ timeoutMs: options.shutdownTimeout }, 'clean stop took too long: exiting anyway');
      process.exit(1);
    }, options.shutdownTimeout).unref();
    await hub.stop();
    await embedded?.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const addresses = { ws: bound.ws, ...(tls?.caFile ? { hubCa: tls.caFile } : {}), ...(bound.mqtt ? { mqtt: bound.mqtt } : {}), ...(bound.metrics ? { metrics: bound.metrics } : {}), ...(bound.kubelet ? { kubelet: bound.kubelet } : {}), ...(api ? { api, kubeconfig: embedded?.kubeconfigPath } : {}), cluster: kubeConfig.getCurrentCluster()?.server };
  // Bound is not ready: agents are answered, and /readyz says 200, once every informer has listed.
  logger.info(addresses, 'listening');
  void hub.source.whenSynced().then(() => {
    if (!stopping) logger.info(addresses, 'ready');
  });
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`cloud-hub: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
