#!/usr/bin/env node
/** `cloud-hub`: serve the fleet, run the embedded API alone, or manage node tokens. */
import { KubeConfig } from '@kubernetes/client-node';
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { resolveOwner, writeMosquittoAuth } from './auth/mosquitto-auth.js';
import { TokenAdmin } from './auth/token-admin.js';
import { LOG_LEVELS, createLogger, parseHostPort, parsePositiveInt } from './cli-options.js';
import { apiServerCommand } from './embedded/command.js';
import { EmbeddedApiServer } from './embedded/index.js';
import { CloudHub, type HostPort } from './hub.js';
import { KubeClient } from './kube/kube-client.js';
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

interface ServeOptions {
  embedded?: boolean;
  kubeconfig?: string;
  data: string;
  listen: HostPort;
  apiListen: HostPort;
  metrics?: HostPort;
  namespace: string;
  hubId?: string;
  heartbeatInterval: number;
  nodeGracePeriod: number;
  apiQps: number;
  window: number;
  mqtt?: string;
  mqttPasswordFile?: string;
  embeddedBroker?: HostPort;
  shards: number;
  shardLeaseDuration: number;
  eventWebhook?: string;
  logLevel: string;
}

const logLevelOption = () => new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('LOG_LEVEL');
const namespaceOption = () =>
  new Option('--namespace <ns>', 'namespace holding node tokens and edge configuration').default('edge-system').env('EDGE_NAMESPACE');

const program = new Command('cloud-hub')
  .description(
    'Stream scoped Kubernetes objects to edge agents over WebSocket and MQTT.\n' +
      'Without --kubeconfig or --embedded, the cluster comes from $KUBECONFIG, ~/.kube/config or the in-cluster service account.',
  )
  .showHelpAfterError()
  // Subcommands declare --kubeconfig/--data too; each flag belongs to the command it follows.
  .enablePositionalOptions()
  .addOption(new Option('--embedded', 'run the embedded Kubernetes-wire API in-process (no cluster needed)').env('EDGE_EMBEDDED'))
  .addOption(new Option('--kubeconfig <file>', 'kubeconfig of the cluster to serve').env('EDGE_KUBECONFIG').conflicts('embedded'))
  .addOption(new Option('--data <dir>', 'data directory of the embedded API (state, CA, kubeconfig)').default('.edge-hub').env('EDGE_DATA'))
  .addOption(new Option('--listen <host:port>', 'WebSocket listen address (port 0: any free port)').default(parseHostPort('0.0.0.0:7070'), '0.0.0.0:7070').argParser(parseHostPort).env('EDGE_LISTEN'))
  .addOption(new Option('--api-listen <host:port>', 'embedded API listen address').default(parseHostPort('127.0.0.1:6443'), '127.0.0.1:6443').argParser(parseHostPort).env('EDGE_API_LISTEN'))
  .addOption(new Option('--mqtt <url>', 'also serve nodes through this MQTT broker: mqtt://[user@]HOST:PORT or mqtts://').env('EDGE_MQTT'))
  .addOption(new Option('--mqtt-password-file <file>', 'password of the hub\'s broker user (the user is in --mqtt)').env('EDGE_MQTT_PASSWORD_FILE'))
  .addOption(new Option('--embedded-broker <host:port>', 'run an MQTT 3.1.1 broker in-process on this address and serve nodes through it').argParser(parseHostPort).env('EDGE_EMBEDDED_BROKER').conflicts('mqtt'))
  .addOption(new Option('--shards <n>', 'with --mqtt: shards of the fleet, owned by replicas through Leases (0: this hub serves every node)').default(16).argParser((v) => (v === '0' ? 0 : parsePositiveInt(v))).env('EDGE_SHARDS'))
  .addOption(new Option('--shard-lease-duration <ms>', 'how long a dead replica keeps its shards').default(15_000).argParser(parsePositiveInt).env('EDGE_SHARD_LEASE_DURATION'))
  .addOption(new Option('--event-webhook <url>', 'POST forwarded edge events that are not about a Pod or Node here (default: the broker\'s edge/v1/<node>/events topics, else the log)').env('EDGE_EVENT_WEBHOOK'))
  .addOption(new Option('--metrics <host:port>', 'serve /metrics, /healthz and /readyz here').argParser(parseHostPort).env('EDGE_METRICS'))
  .addOption(namespaceOption())
  .addOption(new Option('--hub-id <id>', 'this replica\'s name in logs, frames and MQTT shard Leases; one that survives a restart (the pod name) lets a restarted replica take its shards back at once (default: hostname-pid)').env('EDGE_HUB_ID'))
  .addOption(new Option('--heartbeat-interval <ms>', 'heartbeat interval asked of agents').default(10_000).argParser(parsePositiveInt).env('EDGE_HEARTBEAT_INTERVAL'))
  .addOption(new Option('--node-grace-period <ms>', 'Lease age after which an edge node is NotReady').default(40_000).argParser(parsePositiveInt).env('EDGE_NODE_GRACE_PERIOD'))
  .addOption(new Option('--window <frames>', 'unacked sync frames per node before the hub waits').default(16).argParser(parsePositiveInt).env('EDGE_WINDOW'))
  .addOption(new Option('--api-qps <n>', 'sustained Kubernetes API writes per second (Lease renewals take up to half: N nodes renewed every 10 s need N/5)').default(500).argParser(parsePositiveInt).env('EDGE_API_QPS'))
  .addOption(logLevelOption())
  .action(async (options: ServeOptions) => serve(options));

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

function loadKubeConfig(options: { kubeconfig?: string; data?: string }): KubeConfig {
  const config = new KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else if (options.data) config.loadFromFile(path.join(options.data, 'kubeconfig'));
  else config.loadFromDefault();
  return config;
}

async function serve(options: ServeOptions): Promise<void> {
  const logger = createLogger('cloud-hub', options.logLevel);
  let embedded: EmbeddedApiServer | undefined;
  let kubeConfig: KubeConfig;
  let api: string | undefined;
  if (options.embedded) {
    embedded = new EmbeddedApiServer({
      dataDir: options.data,
      host: options.apiListen.host,
      port: options.apiListen.port,
      logger: logger.child({ component: 'apiserver' }),
    });
    await embedded.start();
    api = embedded.url;
    kubeConfig = loadKubeConfig({ kubeconfig: embedded.kubeconfigPath });
  } else {
    kubeConfig = loadKubeConfig(options);
  }
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
  });
  if (options.mqtt && options.shards > 0 && !options.hubId) {
    logger.warn('no --hub-id: this replica holds its MQTT shard Leases as hostname-pid, so after a crash they move only when they expire; set --hub-id (a Deployment: the pod name)');
  }
  const bound = await hub.start();
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await hub.stop();
    await embedded?.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  logger.info(
    { ws: bound.ws, ...(bound.mqtt ? { mqtt: bound.mqtt } : {}), ...(bound.metrics ? { metrics: bound.metrics } : {}), ...(api ? { api, kubeconfig: embedded?.kubeconfigPath } : {}), cluster: kubeConfig.getCurrentCluster()?.server },
    'ready',
  );
  void hub.source.whenSynced().then(() => logger.info('informers synced; answering agents'));
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`cloud-hub: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
