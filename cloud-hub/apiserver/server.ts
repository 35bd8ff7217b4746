/**
 * EmbeddedApiServer: a subset of the Kubernetes REST API served over HTTPS from one SQLite file,
 * for running the hub with no cluster. It wires the parts (PKI, token, storage, registry, watch
 * fan-out, discovery, tables, HTTP handler) and owns their lifecycle: `start()` binds and writes
 * DIR/kubeconfig with the real port, `close()` ends watches, stops listening and closes the
 * database. See README.md in this folder for what is served and how it behaves.
 */
import { mkdirSync } from 'node:fs';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { allowAll, singleTokenAuthenticator, type Authenticator, type Authorizer } from './authorization.js';
import { ClusterControllers } from './cluster-controllers.js';
import { DEFAULT_MAX_BODY_BYTES } from './content.js';
import { DEFAULT_CONTROLLER_SETTINGS, type ControllerSettings } from './controller-settings.js';
import { addDefaultTolerations } from './default-tolerations.js';
import { DEFAULT_BOOKMARK_INTERVAL_MS, DEFAULT_HISTORY_WINDOW } from './defaults.js';
import { Discovery } from './discovery.js';
import { ApiRequestHandler } from './http-handler.js';
import { ensureToken, kubeconfigPath, renderKubeconfig, tokenPath, writeKubeconfig } from './kubeconfig.js';
import { reusableClientCertificate, reusableServingPki, type ServingPki } from '../tls/pki-reuse.js';
import { NODE_HEADER } from '../streams/http-forward.js';
import { PodStreams } from './pod-streams.js';
import { METRICS_DISCOVERY, MetricsApi } from './metrics-api.js';
import { FieldManager } from './apply/field-manager.js';
import { ObjectRegistry } from './registry.js';
import { ObjectDecoder } from './schema/decode.js';
import { KubeSchemas } from './schema/schema-store.js';
import { ResourceCatalog } from './resources.js';
import { SqliteObjectStorage } from './sqlite-storage.js';
import { TableConverter } from './tables.js';
import { WatchFanout } from './watch-fanout.js';

export interface EmbeddedApiServerOptions {
  /** Directory for the SQLite file, the PKI, the token and the kubeconfig; created if missing. */
  dataDir: string;
  /** Address to listen on, e.g. '127.0.0.1', '::1' or '0.0.0.0'. */
  host: string;
  /** Port to listen on; 0 picks a free one (see `url` after start()). */
  port: number;
  logger: Logger;
  /** How many of the newest changes are kept for watches to resume from; older resourceVersions get 410 Gone. Default 10,000. */
  historyWindow?: number;
  /** Interval of BOOKMARK events on watches that allow them. Default 60,000 ms. */
  bookmarkIntervalMs?: number;
  /** Largest request body accepted; larger ones get 413. Default 3 MiB (kube-apiserver's). */
  maxBodyBytes?: number;
  /** Decides every request after authentication. Default: allow all. */
  authorize?: Authorizer;
  /** Maps a bearer token to a user. Default: only the data dir's token, as an admin. */
  authenticate?: Authenticator;
  /**
   * The control plane it emulates for silent nodes (cluster-controllers.ts): node lifecycle,
   * taint-based eviction, orphaned pod GC, default tolerations. Default: kube's durations;
   * `false` turns all of it off.
   */
  controllers?: Partial<ControllerSettings> | false;
  /**
   * The kubelet endpoint pods/log, exec, attach and portforward go to (the hub's, cloud-hub/streams/):
   * asked on each request, so the hub may start after this server. Without it those are 405.
   */
  kubelet?: () => KubeletEndpoint | undefined;
}

/** Where the hub's kubelet endpoint listens, and the CA (PEM) of its serving certificate. */
export interface KubeletEndpoint {
  host: string;
  port: number;
  ca: string;
}

/** The client certificate's files in the data dir, and who it says the caller is (kube-apiserver's --kubelet-client-certificate). */
export const KUBELET_CLIENT = { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', groups: ['system:masters'] } as const;

const MAX_WATCH_BUFFER_BYTES = 16 * 1024 * 1024;
export const DATABASE_FILE = 'apiserver.db';

/** The host to put in URLs for a listen address: wildcards become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export class EmbeddedApiServer {
  private readonly options: EmbeddedApiServerOptions;
  private readonly logger: Logger;
  private server: https.Server | undefined;
  private storage: SqliteObjectStorage | undefined;
  private handler: ApiRequestHandler | undefined;
  private registry: ObjectRegistry | undefined;
  private pki: ServingPki | undefined;
  private boundPort: number | undefined;
  private controllers: ClusterControllers | undefined;

  constructor(options: EmbeddedApiServerOptions) {
    this.options = options;
    this.logger = options.logger;
  }

  /** https://HOST:PORT with the port actually bound. Throws before start(). */
  get url(): string {
    if (this.boundPort === undefined) throw new Error('EmbeddedApiServer: url is known after start()');
    return `https://${urlHost(this.options.host)}:${this.boundPort}`;
  }

  /** The port actually bound. Throws before start(). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error('EmbeddedApiServer: port is known after start()');
    return this.boundPort;
  }

  /** DIR/kubeconfig: written by start(), valid for kubectl and client-node. */
  get kubeconfigPath(): string {
    return kubeconfigPath(this.options.dataDir);
  }

  /** DIR/apiserver-ca.crt: the CA that signed the serving certificate. */
  get caCertPath(): string {
    return path.join(this.options.dataDir, 'apiserver-ca.crt');
  }

  /** DIR/apiserver.token: the admin bearer token (also inside the kubeconfig). */
  get tokenPath(): string {
    return tokenPath(this.options.dataDir);
  }

  /** Opens the data dir (creating what is missing), binds, and writes the kubeconfig. */
  async start(): Promise<void> {
    if (this.server) throw new Error('EmbeddedApiServer: already started');
    const { dataDir } = this.options;
    mkdirSync(dataDir, { recursive: true });
    // A restart keeps what an earlier start made without loading the generator (tls/pki.ts).
    this.pki = reusableServingPki(dataDir, this.options.host) ?? (await (await import('../tls/pki.js')).ensureServingPki(dataDir, this.options.host));
    const token = ensureToken(dataDir);
    const storage = new SqliteObjectStorage({ path: path.join(dataDir, DATABASE_FILE), historyWindow: this.options.historyWindow ?? DEFAULT_HISTORY_WINDOW });
    this.storage = storage;
    try {
      const catalog = new ResourceCatalog();
      const fanout = new WatchFanout();
      // The kinds' OpenAPI definitions, read on first use (a write to decode, an /openapi request).
      const schemas = new KubeSchemas();
      const settings = this.options.controllers === false ? undefined : { ...DEFAULT_CONTROLLER_SETTINGS, ...this.options.controllers };
      const registry = new ObjectRegistry({
        storage,
        fanout,
        catalog,
        now: () => new Date(),
        decoder: new ObjectDecoder(schemas),
        fieldManager: new FieldManager(schemas, () => new Date()),
        ...(settings
          ? {
              admit: (def, obj) => {
                if (def.kind === 'Pod') addDefaultTolerations(obj, { notReady: settings.defaultNotReadyTolerationSeconds, unreachable: settings.defaultUnreachableTolerationSeconds });
              },
            }
          : {}),
      });
      registry.ensureInitialNamespaces();
      registry.flush();
      this.registry = registry;
      const handler = new ApiRequestHandler({
        catalog,
        registry,
        discovery: new Discovery(catalog, schemas, this.options.kubelet ? METRICS_DISCOVERY : []),
        tables: new TableConverter(Date.now),
        fanout,
        authenticate: this.options.authenticate ?? singleTokenAuthenticator(token),
        authorize: this.options.authorize ?? allowAll,
        logger: this.logger,
        maxBodyBytes: this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        bookmarkIntervalMs: this.options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
        maxWatchBufferBytes: MAX_WATCH_BUFFER_BYTES,
        serverAddress: () => `${urlHost(this.options.host)}:${this.boundPort ?? this.options.port}`,
      });
      this.handler = handler;
      if (this.options.kubelet) {
        const endpoint = this.options.kubelet;
        const client = reusableClientCertificate(dataDir, KUBELET_CLIENT.name) ?? (await (await import('../tls/pki.js')).ensureClientCertificate(dataDir, KUBELET_CLIENT.name, KUBELET_CLIENT.commonName, KUBELET_CLIENT.groups));
        const connector = {
          nodeHeader: NODE_HEADER,
          connect: () => {
            const target = endpoint();
            if (!target) return undefined;
            return tls.connect({ host: target.host, port: target.port, ca: target.ca, cert: client.certPem, key: client.keyPem, ALPNProtocols: ['http/1.1'], ...(isIP(target.host) ? {} : { servername: target.host }) });
          },
        };
        handler.setPodStreams(new PodStreams(registry, connector), new MetricsApi(registry, catalog, connector));
      }
      const server = https.createServer({ cert: this.pki.certPem, key: this.pki.keyPem, ALPNProtocols: ['http/1.1'] }, (req, res) => handler.handle(req, res));
      // Watches are long-lived; Node's default request timeout (300 s) would cut them.
      server.requestTimeout = 0;
      server.keepAliveTimeout = 60_000;
      server.on('upgrade', (req, socket, head: Buffer) => handler.handleUpgrade(req, socket, head));
      server.on('clientError', (err, socket) => {
        this.logger.debug({ err: err.message }, 'client connection error');
        socket.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.port, this.options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
      this.boundPort = (server.address() as AddressInfo).port;
      writeKubeconfig(this.kubeconfigPath, renderKubeconfig(this.url, this.pki.caCertPem, token));
      if (settings) {
        this.controllers = new ClusterControllers({ registry, catalog, fanout, logger: this.logger.child({ controller: 'node-lifecycle' }), settings });
        this.controllers.start();
      }
      this.logger.info({ api: this.url, kubeconfig: this.kubeconfigPath, resourceVersion: storage.currentRv }, 'embedded API server listening');
    } catch (err) {
      storage.close();
      this.storage = undefined;
      this.registry = undefined;
      throw err;
    }
  }

  /** Ends watches, stops listening (waiting for in-flight requests), closes the database. Idempotent. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.controllers?.stop();
    this.controllers = undefined;
    this.handler?.closeWatches();
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A keep-alive client that keeps sending would hold close() open: cut it after a grace period.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
    }
    // Writes still in the open batch are committed (and their requests answered) before closing.
    this.registry?.flush();
    this.registry = undefined;
    this.storage?.close();
    this.storage = undefined;
    this.boundPort = undefined;
  }
}
