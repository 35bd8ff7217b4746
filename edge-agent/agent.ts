/**
 * The edge agent, assembled: link -> store (and later reconcile -> runtime). Constructed with
 * its dependencies; edge-agent/main.ts is only the command line around it.
 *
 * It opens the cache first and is ready from then on: a node whose hub is unreachable starts
 * and serves what it has, and nothing here ever clears the cache because a connection failed.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AgentHttpEndpoints } from './http-endpoints.js';
import { FullJitterBackoff } from './link/backoff.js';
import { HubLink } from './link/hub-link.js';
import type { LinkTransport } from './link/transport.js';
import { LocalApiServer } from './local-api/index.js';
import { AgentMetrics } from './metrics.js';
import { collectNodeInfo } from './node-info.js';
import { openEdgeStore, type EdgeStore } from './store/index.js';
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
  registry: Registry;
  labels?: Record<string, string>;
  metricsListen?: HostPort;
  /** Serve the cache read-only on this address (loopback). */
  localApiListen?: HostPort;
  /** Also serve Secrets on the local API. */
  localApiSecrets?: boolean;
  backoff?: FullJitterBackoff;
}

export class EdgeAgent {
  readonly store: EdgeStore;
  readonly link: HubLink;
  readonly metrics: AgentMetrics;
  private endpoints?: AgentHttpEndpoints;
  private localApi?: LocalApiServer;

  constructor(private readonly options: EdgeAgentOptions) {
    const { logger } = options;
    this.store = openEdgeStore({ dir: options.dataDir, logger: logger.child({ component: 'store' }) });
    this.metrics = new AgentMetrics(options.registry, () => this.store.cache.size);
    this.link = new HubLink({
      node: options.node,
      agentVersion: agentVersion(),
      nodeInfo: () => collectNodeInfo({ labels: options.labels ?? {} }),
      cache: this.store.cache,
      transport: options.transport,
      logger: logger.child({ component: 'link' }),
      observer: this.metrics.observer(),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }

  /** Starts serving and connecting; resolves with the bound addresses without waiting for the hub. */
  async start(): Promise<{ metrics?: string; localApi?: string }> {
    const bound: { metrics?: string; localApi?: string } = {};
    const { metricsListen, localApiListen } = this.options;
    if (metricsListen) {
      this.endpoints = new AgentHttpEndpoints(this.options.registry, () => true);
      bound.metrics = await this.endpoints.start(metricsListen.host, metricsListen.port);
    }
    if (localApiListen) {
      this.localApi = new LocalApiServer({
        source: this.store.cache,
        host: localApiListen.host,
        port: localApiListen.port,
        serveSecrets: this.options.localApiSecrets ?? false,
        logger: this.options.logger.child({ component: 'local-api' }),
      });
      bound.localApi = await this.localApi.start();
    }
    this.link.start();
    return bound;
  }

  async stop(): Promise<void> {
    this.link.stop();
    await this.localApi?.close();
    await this.endpoints?.close();
    this.store.close();
  }
}
