/**
 * The cloud hub, assembled: informers (source/) -> fleet view (fleet/) -> sessions (session/)
 * -> transport (transport/), and sessions -> upstream writes (upstream/). The informers hand
 * every event to each handler subscribed to them (the token store and the fleet view), and the
 * session registry subscribes to the fleet view's changes itself: this file only builds the
 * parts and hands each its dependencies. Constructed with its dependencies so tests can build
 * it in-process; cloud-hub/main.ts is only the command line around it.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_MAX_FRAME_BYTES, ErrorCode, PROTOCOL_VERSION, encode } from '../protocol/index.js';
import { TokenStore } from './auth/token-store.js';
import { FleetView } from './fleet/fleet-view.js';
import { KubeClient } from './kube/kube-client.js';
import { MetricsServer, handleHealth } from './observability/http-endpoints.js';
import { HubMetrics } from './observability/hub-metrics.js';
import { startReplicaEndpoints, type PeerSettings } from './kubelet-endpoint.js';
import type { ReplicaMembership } from './replicas/replica-membership.js';
import type { PeerTunnels } from './streams/peer-tunnels.js';
import { ShardOwnership, shardOf } from './replicas/shard-ownership.js';
import { InboundLimiter } from './session/inbound-limiter.js';
import { DEFAULT_NODE_LIMITS, LimitMetrics, type NodeLimits } from './session/node-limits.js';
import { NodeSession } from './session/node-session.js';
import { SharedOpBytes } from './session/op-bytes.js';
import { SessionRegistry } from './session/session-registry.js';
import { KubeSource } from './source/kube-source.js';
import type { HubKubeletServer, KubeletEndpointSettings } from './streams/kubelet-server.js';
import { NodeAddresses } from './streams/node-addresses.js';
import { DEFAULT_TUNNEL_LIMITS, TunnelBroker, type TunnelLimits } from './streams/tunnel-broker.js';
import { CLOSE_REVOKED, CLOSE_SHUTDOWN, type Connection } from './transport/connection.js';
import type { EmbeddedBroker } from './transport/embedded-broker.js';
import type { HostPort } from './transport/host-port.js';
import { MqttBridge } from './transport/mqtt-bridge.js';
import { WsServer } from './transport/ws-server.js';
import { KubeUpstream } from './upstream/kube-upstream.js';
import { LeaseRenewer } from './upstream/lease-renewer.js';
import { MqttEventSink, WebhookEventSink } from './upstream/cloud-event-sinks.js';
import { EventForwarder, type CloudEventSink } from './upstream/event-forwarder.js';
import { NodeHealthMonitor } from './upstream/node-health-monitor.js';
import { NodeReadiness } from './upstream/node-readiness.js';
import { EDGE_ROLE_LABEL, NodeRegistrar } from './upstream/node-registrar.js';
import { PodAutonomy } from './upstream/pod-autonomy.js';
import { PodStatusWriter } from './upstream/pod-status-writer.js';
import { WriteQueue } from './upstream/write-queue.js';

/** Resolves when `promise` settles or after `ms`, whichever is first. */
async function firstOf(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The hub's own user on the embedded broker; the underscore keeps it out of the node names' space. */
const HUB_BROKER_USER = '_cloud-hub';

export interface MqttSettings {
  /** Broker URL; credentials may be in it (mqtt://user:password@host:port). */
  url: string;
  username?: string;
  password?: string;
}

export interface CloudHubOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: Registry;
  hubId: string;
  /** Namespace holding node tokens and edge configuration. */
  namespace: string;
  listen: HostPort;
  metricsListen?: HostPort;
  /** Heartbeat interval asked of agents; the server also pings at this interval. */
  heartbeatMs: number;
  /** Unacked `sync` frames per node. */
  window?: number;
  maxFrameBytes?: number;
  apiQps?: number;
  apiBurst?: number;
  leaseRenewMs?: number;
  leaseDurationSeconds?: number;
  /** Lease age after which an edge node is marked NotReady (default 40 s); Leases are renewed every quarter of it, at most every 10 s. */
  nodeGracePeriodMs?: number;
  /** Serve nodes through this MQTT broker too. */
  mqtt?: MqttSettings;
  /** Run an MQTT broker in-process on this address and serve nodes through it. */
  embeddedBroker?: HostPort;
  /** With `mqtt`: split the fleet into this many shards owned through Leases (0: serve every node). */
  shards?: number;
  shardLeaseDurationMs?: number;
  /** POST forwarded bus events here; without it they go to the broker's `events` topics, else to the log. */
  eventWebhook?: string;
  /** Serve wss:// (and https on the WebSocket port) with this certificate and key (PEM): cloud-hub/transport/hub-tls.ts. */
  tls?: { cert: string; key: string };
  /** With `tls`: serve the metrics listener over https too. */
  metricsTls?: boolean;
  /** Per-node and per-peer limits; the rest are DEFAULT_NODE_LIMITS. */
  limits?: Partial<NodeLimits>;
  /** Make pods on autonomous edge nodes tolerate their node's outage forever (upstream/pod-autonomy.ts); default true. */
  autonomy?: boolean;
  /** Serve the kubelet-compatible endpoint (logs, exec, attach, port-forward, stats) here: cloud-hub/streams/. */
  kubelet?: KubeletEndpointSettings;
  /** Stream tunnel limits per node (the rest are DEFAULT_TUNNEL_LIMITS). */
  tunnelLimits?: Partial<TunnelLimits>;
  /** With `kubelet`: forward requests for nodes whose session is on another replica (kubelet-endpoint.ts). */
  peers?: PeerSettings;
}

export class CloudHub {
  readonly metrics: HubMetrics;
  readonly client: KubeClient;
  readonly fleet: FleetView;
  readonly tokens: TokenStore;
  readonly sessions: SessionRegistry;
  readonly source: KubeSource;
  readonly limits: NodeLimits;
  private readonly writes: WriteQueue;
  private readonly leases: LeaseRenewer;
  private readonly health: NodeHealthMonitor;
  private readonly ws: WsServer;
  private metricsServer?: MetricsServer;
  private broker?: EmbeddedBroker;
  private bridge?: MqttBridge;
  private ownership?: ShardOwnership;
  private membership?: ReplicaMembership;
  private peerTunnels?: PeerTunnels; // joins tunnel dials to the replica that asked for them
  private cloudSink?: CloudEventSink;
  readonly tunnels: TunnelBroker;
  private readonly addresses = new NodeAddresses();
  private kubeletServer?: HubKubeletServer;

  constructor(private readonly options: CloudHubOptions) {
    const { logger } = options;
    this.metrics = new HubMetrics(options.registry, {
      queueDepth: () => this.sessions.queueDepth(),
      connected: () => this.sessions.size,
    });
    this.client = new KubeClient(options.kubeConfig);
    this.fleet = new FleetView(options.namespace);
    this.tokens = new TokenStore(options.namespace, (node) => {
      this.sessions.get(node)?.close(CLOSE_REVOKED, 'token revoked');
      this.broker?.disconnect(node);
      this.bridge?.forget(node);
    });
    const readiness = new NodeReadiness();
    this.source = new KubeSource({
      kubeConfig: options.kubeConfig,
      client: this.client,
      logger: logger.child({ component: 'source' }),
      // Node status is not kept in the watch cache (the edge never reads it); readiness is.
      observeRaw: (kind, raw, deleted) => {
        if (kind === 'Node') {
          readiness.observe(raw, deleted);
          this.addresses.observe(raw, deleted);
        }
      },
    });
    this.source.addEventHandler(this.tokens);
    this.source.addEventHandler(this.fleet);
    this.writes = new WriteQueue({
      qps: options.apiQps ?? 500,
      burst: options.apiBurst ?? 1000,
      concurrency: 16,
      logger: logger.child({ component: 'writes' }),
      onResult: (kind, result) => this.metrics.apiWrites.inc({ kind, result }),
    });
    // After the fleet view: the autonomy controller reads the pods' current versions from it.
    if (options.autonomy !== false) this.source.addEventHandler(new PodAutonomy({ client: this.client, fleet: this.fleet, writes: this.writes, logger: logger.child({ component: 'autonomy' }) }));
    const registrar = new NodeRegistrar({ client: this.client, fleet: this.fleet, writes: this.writes, logger, kubeletPort: () => this.kubeletServer?.port });
    const gracePeriodMs = options.nodeGracePeriodMs ?? 40_000;
    this.leases = new LeaseRenewer({
      client: this.client,
      writes: this.writes,
      logger,
      // kubelet: renew every 10 s a Lease of 40 s, the grace period.
      renewIntervalMs: options.leaseRenewMs ?? Math.max(250, Math.min(10_000, Math.floor(gracePeriodMs / 4))),
      leaseDurationSeconds: options.leaseDurationSeconds ?? Math.max(1, Math.ceil(gracePeriodMs / 1000)),
      holder: (node) => node,
      apiQps: options.apiQps ?? 500,
      gracePeriodMs,
      // Heartbeats are back: a node marked NotReady is Ready again without reconnecting.
      onRenewed: (node) => {
        if (readiness.isReady(node) === false) registrar.markReady(node);
      },
    });
    this.health = new NodeHealthMonitor({
      client: this.client,
      registrar,
      leases: this.leases,
      readiness,
      logger,
      gracePeriodMs,
      checkIntervalMs: Math.max(200, Math.floor(gracePeriodMs / 4)),
      edgeNodes: () => this.fleet.nodesLabelled(EDGE_ROLE_LABEL),
    });
    const upstream = new KubeUpstream({
      registrar,
      leases: this.leases,
      health: this.health,
      podStatus: new PodStatusWriter({ client: this.client, fleet: this.fleet, writes: this.writes, metrics: this.metrics, logger }),
      events: new EventForwarder({
        client: this.client,
        fleet: this.fleet,
        writes: this.writes,
        metrics: this.metrics,
        logger: logger.child({ component: 'events' }),
        cloudSink: () => this.cloudSink,
      }),
      logger,
    });
    this.limits = { ...DEFAULT_NODE_LIMITS, ...options.limits };
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const settings = {
      hubId: options.hubId,
      heartbeatMs: options.heartbeatMs,
      maxFrameBytes,
      window: options.window ?? 16,
      // A quarter of the send buffer cap at most: a slow node is slowed long before it is cut.
      congestionBytes: Math.min(maxFrameBytes, Math.floor(this.limits.maxSendBufferBytes / 4)),
    };
    const limitMetrics = new LimitMetrics(options.registry, this.limits, settings.maxFrameBytes, () => this.ws.pendingConnections);
    const limiter = new InboundLimiter(this.limits, settings.maxFrameBytes);
    const opBytes = new SharedOpBytes();
    this.sessions = new SessionRegistry(
      (node, connection, onClosed) =>
        new NodeSession({
          node,
          connection,
          desired: this.fleet,
          upstream,
          settings,
          metrics: this.metrics,
          logger,
          sourceReady: () => this.source.whenSynced(),
          onClosed,
          limiter,
          limitMetrics,
          opBytes,
        }),
      this.fleet,
    );
    this.tunnels = new TunnelBroker({
      limits: { ...DEFAULT_TUNNEL_LIMITS, ...options.tunnelLimits },
      logger: logger.child({ component: 'tunnels' }),
      signal: (node, id, purpose) => this.sessions.get(node)?.requestTunnel(id, purpose) ?? false,
    });
    this.ws = new WsServer({
      host: options.listen.host,
      port: options.listen.port,
      logger: logger.child({ component: 'ws' }),
      pingIntervalMs: options.heartbeatMs,
      authenticate: async (node, token) => {
        await this.source.whenSynced();
        return this.tokens.verify(node, token);
      },
      accept: (node, connection) => this.accept(node, connection),
      acceptTunnel: (node, id) => this.tunnels.claim(node, id),
      forwardTunnel: async (node, id) => this.peerTunnels?.join(node, id),
      httpHandler: (req, res) => handleHealth({ ready: () => this.ready }, req, res),
      ...(options.tls ? { tls: options.tls } : {}),
      maxFrameBytes: settings.maxFrameBytes,
      limits: this.limits,
      refused: (reason) => limitMetrics.refused(reason),
    });
  }

  get ready(): boolean {
    return this.source.hasSynced();
  }

  /** Starts watching and listening; returns the bound addresses. */
  async start(): Promise<{ ws: string; metrics?: string; mqtt?: string; kubelet?: string }> {
    if (this.options.eventWebhook) this.cloudSink = new WebhookEventSink(this.options.eventWebhook);
    this.source.start();
    this.leases.start();
    this.health.start();
    const ws = await this.ws.start();
    const bound: { ws: string; metrics?: string; mqtt?: string; kubelet?: string } = { ws };
    const shards = (this.options.mqtt && !this.options.embeddedBroker ? this.options.shards : 0) ?? 0; // only several replicas on one external broker shard
    ({ membership: this.membership, server: this.kubeletServer, url: bound.kubelet, tunnels: this.peerTunnels } = await startReplicaEndpoints({
      ...(this.options.kubelet ? { settings: this.options.kubelet } : {}),
      ...(this.options.peers ? { peers: this.options.peers } : {}),
      kubeconfigToken: this.options.kubeConfig.getCurrentUser()?.token, hubId: this.options.hubId, namespace: this.options.namespace, client: this.client, tunnels: this.tunnels, registry: this.options.registry, logger: this.options.logger, shards,
      leaseDurationMs: this.options.shardLeaseDurationMs ?? 15_000,
      holds: (node) => this.sessions.get(node)?.servesTunnels ?? false,
      nodeOfPod: (namespace, name) => this.fleet.placementOf(`Pod/${namespace}/${name}`)?.node,
      nodeOfAddress: (address) => this.addresses.nodeOf(address),
    }));
    if (this.options.metricsListen) {
      this.metricsServer = new MetricsServer(this.options.registry, { ready: () => this.ready }, this.options.metricsTls ? this.options.tls : undefined);
      bound.metrics = await this.metricsServer.start(this.options.metricsListen.host, this.options.metricsListen.port);
    }
    let mqtt = this.options.mqtt;
    if (this.options.embeddedBroker) {
      const hubPassword = randomBytes(24).toString('base64url');
      // aedes loads only for --embedded-broker.
      const { EmbeddedBroker } = await import('./transport/embedded-broker.js');
      this.broker = new EmbeddedBroker({
        ...this.options.embeddedBroker,
        logger: this.options.logger.child({ component: 'broker' }),
        verify: (node, token) => this.tokens.verify(node, token),
        ready: () => this.source.hasSynced(),
        hubUser: HUB_BROKER_USER,
        hubPassword,
        maxPacketBytes: (this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES) + 64 * 1024,
      });
      const url = await this.broker.start();
      bound.mqtt = url;
      mqtt = { url, username: HUB_BROKER_USER, password: hubPassword };
    }
    if (mqtt) {
      const url = new URL(mqtt.url);
      const username = mqtt.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
      const password = mqtt.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
      url.username = '';
      url.password = '';
      if (shards > 0 && this.membership) {
        this.ownership = new ShardOwnership({
          membership: this.membership,
          client: this.client,
          namespace: this.options.namespace,
          replicaId: this.options.hubId,
          shards,
          leaseDurationMs: this.options.shardLeaseDurationMs ?? 15_000,
          logger: this.options.logger.child({ component: 'shards' }),
          onChange: (gained) => this.shardsChanged(gained),
        });
      }
      const ownership = this.ownership;
      this.bridge = new MqttBridge({
        brokerUrl: url.toString(),
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        // Unguessable, and never a node name (no underscore there): nodes learn the hub id from
        // `welcome`, and a broker that lets a client pick any id must not let one guess this.
        clientId: `${HUB_BROKER_USER}-${this.options.hubId}-${randomBytes(6).toString('hex')}`,
        logger: this.options.logger.child({ component: 'mqtt' }),
        accept: (node, connection) => this.accept(node, connection),
        authorized: (node) => this.tokens.has(node),
        ...(ownership ? { owns: (node: string) => ownership.owns(node) } : {}),
      });
      await this.bridge.start();
      // Ready with the shards this replica can serve now: a restarted replica renews the
      // Leases it still holds, so its nodes' next frames are served, not dropped. A first
      // round that hangs on the API does not hold the start beyond one Lease duration.
      if (ownership) await firstOf(ownership.start(), this.options.shardLeaseDurationMs ?? 15_000);
      const bridge = this.bridge;
      this.cloudSink ??= new MqttEventSink((topic, payload) => bridge.publish(topic, payload));
      bound.mqtt ??= url.toString().replace(/\/$/, '');
    }
    return bound;
  }

  /** Accepts a connection from any transport. */
  accept(node: string, connection: Connection): NodeSession {
    return this.sessions.attach(node, connection);
  }

  async stop(): Promise<void> {
    await this.ownership?.stop();
    await this.membership?.stop();
    this.sessions.closeAll(CLOSE_SHUTDOWN, 'hub shutting down');
    this.tunnels.close();
    await this.kubeletServer?.close();
    this.leases.stop();
    this.health.stop();
    this.writes.close();
    await this.bridge?.close();
    await this.broker?.close();
    await Promise.all([this.ws.close(), this.metricsServer?.close(), this.source.stop()]);
    this.client.close();
  }

  /**
   * Shards moved: sessions of nodes this replica no longer serves end here; nodes of gained
   * shards that are online are asked to say hello again, which starts their session here.
   */
  private shardsChanged(gained: number[]): void {
    const ownership = this.ownership;
    if (!ownership || !this.bridge) return;
    this.bridge.release((node) => ownership.owns(node));
    if (gained.length === 0) return;
    const moved = encode({ v: PROTOCOL_VERSION, t: 'error', code: ErrorCode.Hello, msg: `session moved to hub ${this.options.hubId}; say hello` });
    for (const node of this.bridge.onlineNodes()) {
      if (gained.includes(shardOf(node, this.options.shards ?? 0)) && !this.sessions.get(node)) this.bridge.nudge(node, moved);
    }
  }
}
