/**
 * The hub's kubelet endpoint, assembled (kept out of hub.ts): the HTTPS server of
 * streams/kubelet-server.ts with its authentication, and, when the replica membership runs,
 * forwarding to the replica that holds a node's session (streams/peer-directory.ts,
 * streams/peer-forward.ts) with the peers the membership Leases name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeClient } from './kube/kube-client.js';
import { ReplicaMembership } from './replicas/replica-membership.js';
import { KubeletAuth } from './streams/kubelet-auth.js';
import { HubKubeletServer, type KubeletEndpointSettings } from './streams/kubelet-server.js';
import { PeerDirectory, type PeerClientSettings } from './streams/peer-directory.js';
import { PeerForward } from './streams/peer-forward.js';
import { PeerMetrics } from './streams/peer-metrics.js';
import { PeerTunnels } from './streams/peer-tunnels.js';
import type { TunnelBroker } from './streams/tunnel-broker.js';

/** Where the in-cluster ServiceAccount token is mounted. */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** How replicas reach and trust each other's kubelet endpoints (cloud-hub/README.md, "Several replicas"). */
export interface PeerSettings {
  /** `host:port` peers dial to reach this replica's kubelet endpoint; default: defaultPeerAddress. */
  address?: string;
  /** CA (PEM) the replicas' kubelet endpoint certificates are signed by. */
  ca: string;
  /** The name the peers' certificates must carry (default: the peer's address). */
  serverName?: string;
  /** This replica's bearer token for peers (default: the ServiceAccount token, else the kubeconfig's token). */
  tokenFile?: string;
  probeTimeoutMs: number;
  maxProbesPerPeer: number;
}

export interface KubeletEndpointParts {
  settings: KubeletEndpointSettings;
  peers?: PeerSettings;
  /** The replica membership whose Leases name the peers; without it nothing is forwarded. */
  membership?: ReplicaMembership;
  hubId: string;
  client: KubeClient;
  /** The kubeconfig user's bearer token, the last resort for the peer token. */
  kubeconfigToken?: string | undefined;
  tunnels: TunnelBroker;
  holds: (node: string) => boolean;
  nodeOfPod: (namespace: string, name: string) => string | undefined;
  nodeOfAddress: (address: string) => string | undefined;
  registry: Registry;
  logger: Logger;
}

export interface ReplicaEndpointParts extends Omit<KubeletEndpointParts, 'settings' | 'membership'> {
  settings?: KubeletEndpointSettings;
  namespace: string;
  leaseDurationMs: number;
  /** MQTT shards this replica takes part in (0: none). */
  shards: number;
}

/**
 * Starts the replica membership (when shards or peer forwarding need it) and the kubelet
 * endpoint (when configured). The membership's first round runs once the endpoint is bound, so
 * peers learn its address; a round that hangs on the API does not hold the start beyond one
 * Lease duration.
 */
export async function startReplicaEndpoints(parts: ReplicaEndpointParts): Promise<{ membership?: ReplicaMembership; server?: HubKubeletServer; url?: string; tunnels?: PeerTunnels }> {
  const { settings, peers } = parts;
  let server: HubKubeletServer | undefined;
  const membership =
    parts.shards > 0 || (settings && peers)
      ? new ReplicaMembership({
          client: parts.client,
          namespace: parts.namespace,
          replicaId: parts.hubId,
          leaseDurationMs: parts.leaseDurationMs,
          logger: parts.logger.child({ component: 'membership' }),
          peerAddress: () => (server && settings && peers ? (peers.address ?? defaultPeerAddress(settings.listen.host, server.port)) : undefined),
          takesShards: parts.shards > 0,
        })
      : undefined;
  let url: string | undefined;
  let tunnels: PeerTunnels | undefined;
  if (settings) {
    let peering: Peering | undefined;
    ({ server, peering } = createKubeletEndpoint({ ...parts, settings, ...(membership ? { membership } : {}), logger: parts.logger.child({ component: 'kubelet-endpoint' }) }));
    if (peering) tunnels = new PeerTunnels({ self: parts.hubId, ...peering, logger: parts.logger.child({ component: 'peers' }) });
    url = await server.start();
  }
  if (membership) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([membership.start(), new Promise<void>((resolve) => (timer = setTimeout(resolve, parts.leaseDurationMs)))]);
    clearTimeout(timer);
  }
  return { ...(membership ? { membership } : {}), ...(server ? { server } : {}), ...(url ? { url } : {}), ...(tunnels ? { tunnels } : {}) };
}

/** The parts peers are found and reached with. */
interface Peering {
  metrics: PeerMetrics;
  directory: PeerDirectory;
  settings: PeerClientSettings;
}

export function createKubeletEndpoint(parts: KubeletEndpointParts): { server: HubKubeletServer; peering?: Peering } {
  const { settings, peers, membership, logger } = parts;
  let peering: Peering | undefined;
  if (peers && membership) {
    const metrics = new PeerMetrics(parts.registry);
    const client: PeerClientSettings = { ca: peers.ca, ...(peers.serverName ? { serverName: peers.serverName } : {}), token: tokenSource(peers.tokenFile, parts.kubeconfigToken, logger) };
    const directory = new PeerDirectory({ ...client, peers: () => membership.peers(), probeTimeoutMs: peers.probeTimeoutMs, maxProbesPerPeer: peers.maxProbesPerPeer, metrics, logger: logger.child({ component: 'peers' }) });
    peering = { metrics, directory, settings: client };
  }
  const server = new HubKubeletServer({
    host: settings.listen.host,
    port: settings.listen.port,
    tls: settings.tls,
    ...(settings.clientCa ? { clientCa: settings.clientCa } : {}),
    auth: new KubeletAuth({ tokenWebhook: settings.tokenWebhook ?? false, mode: settings.authorization, client: parts.client }),
    tunnels: parts.tunnels,
    hubId: parts.hubId,
    holds: parts.holds,
    ...(peering ? { peers: { metrics: peering.metrics, directory: peering.directory, forward: new PeerForward(parts.hubId, peering.settings) } } : {}),
    nodeOfPod: parts.nodeOfPod,
    nodeOfAddress: parts.nodeOfAddress,
    logger,
  });
  return { server, ...(peering ? { peering } : {}) };
}

/**
 * The address peers reach this replica's kubelet endpoint at, when `--peer-address` is not
 * given: the listen host when it is a specific address, else this host's first non-internal
 * IPv4 address (a pod's IP), with the bound port.
 */
export function defaultPeerAddress(listenHost: string, port: number): string | undefined {
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') return listenHost.includes(':') ? `[${listenHost}]:${port}` : `${listenHost}:${port}`;
  for (const addresses of Object.values(networkInterfaces())) {
    const address = addresses?.find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (address) return `${address.address}:${port}`;
  }
  return undefined;
}

/**
 * This replica's bearer token for its peers: `file` (re-read at most once a minute: projected
 * ServiceAccount tokens rotate), else the mounted ServiceAccount token, else the kubeconfig's.
 */
function tokenSource(file: string | undefined, kubeconfigToken: string | undefined, logger: Logger): () => string | undefined {
  const path = file ?? (existsSync(SERVICE_ACCOUNT_TOKEN) ? SERVICE_ACCOUNT_TOKEN : undefined);
  if (!path) return () => kubeconfigToken;
  let cached: { token: string | undefined; at: number } | undefined;
  return () => {
    if (cached && Date.now() - cached.at < 60_000) return cached.token;
    try {
      cached = { token: readFileSync(path, 'utf8').trim() || undefined, at: Date.now() };
    } catch (err) {
      logger.warn({ file: path, err: (err as Error).message }, 'cannot read the peer token file');
      cached = { token: undefined, at: Date.now() };
    }
    return cached.token;
  };
}
