/**
 * Which hub replicas are alive, and where the others can be reached. Each replica holds a
 * membership Lease `edge-hub-replica-<id>` in the hub's namespace, renewed every third of its
 * duration, whatever its transports: MQTT shard ownership (shard-ownership.ts) counts the
 * members that take shards, and the kubelet endpoint (streams/peer-directory.ts) asks the
 * others whether they hold a node's session. A member says where its peers reach it in the
 * annotation `edge-sync.io/peer-address` (`HOST:PORT` of its kubelet endpoint) and whether it
 * takes MQTT shards in `edge-sync.io/mqtt-shards`.
 *
 * One Lease per replica (a handful), never one per node: where a node's session is, is asked
 * on demand, not recorded.
 */
import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient } from '../kube/kube-client.js';
import { kubeMicroTime, paths } from '../kube/kube-paths.js';

/** The label every replica and shard Lease carries (its value: `replica` or `shard`). */
export const SHARD_LABEL = 'edge-sync.io/shard-lease';
export const PEER_ADDRESS_ANNOTATION = 'edge-sync.io/peer-address';
export const MQTT_SHARDS_ANNOTATION = 'edge-sync.io/mqtt-shards';
export const REPLICA_LEASE_PREFIX = 'edge-hub-replica-';
/** More peers than this are not asked (a deployment has 2 to 5 replicas). */
const MAX_PEERS = 16;

export interface LeaseObject {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

export interface PeerReplica {
  id: string;
  /** `host:port` (IPv6 in brackets) of its kubelet endpoint, and its parts. */
  address: string;
  host: string;
  port: number;
}

export interface ReplicaMembershipOptions {
  client: KubeClient;
  namespace: string;
  replicaId: string;
  leaseDurationMs: number;
  logger: Logger;
  /** Where peers reach this replica's kubelet endpoint; undefined: it is not reachable by peers. */
  peerAddress: () => string | undefined;
  /** This replica takes MQTT shards (counted by ShardOwnership). */
  takesShards: boolean;
}

export class ReplicaMembership {
  private known: PeerReplica[] = [];
  private lastWritten = 0;
  private writing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly options: ReplicaMembershipOptions) {}

  /** The other live replicas with a valid peer address, as of the last round. */
  peers(): readonly PeerReplica[] {
    return this.known;
  }

  /** Writes the Lease and lists the peers once, then keeps doing so every third of the duration. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
    return this.round();
  }

  /** Renews this replica's Lease unless it was written in the last half interval; concurrent calls share one write. Throws on API errors. */
  renew(now = Date.now()): Promise<void> {
    if (this.stopped || now - this.lastWritten < this.intervalMs / 2) return Promise.resolve();
    this.writing ??= this.write(now).finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Empties this replica's Lease, so the others stop counting and asking it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.writing?.catch(() => undefined);
    try {
      const current = await this.get();
      if (current?.spec?.holderIdentity !== this.options.replicaId) return;
      await this.options.client.replace(paths.lease(this.options.namespace, current.metadata.name), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        ...current,
        spec: { ...current.spec, holderIdentity: '', renewTime: kubeMicroTime(0) },
      });
    } catch (err) {
      if (!isConflict(err)) this.options.logger.warn({ err: (err as Error).message }, 'could not release the replica membership Lease');
    }
  }

  private get intervalMs(): number {
    return Math.max(100, Math.floor(this.options.leaseDurationMs / 3));
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.renew();
      const list = await this.options.client.get<{ items?: LeaseObject[] }>(paths.leases(this.options.namespace), { labelSelector: `${SHARD_LABEL}=replica` });
      this.known = livePeers(list.items ?? [], this.options.replicaId, Date.now());
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'replica membership round failed');
    }
  }

  private async get(): Promise<LeaseObject | undefined> {
    try {
      return await this.options.client.get<LeaseObject>(paths.lease(this.options.namespace, replicaLeaseName(this.options.replicaId)));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async write(now: number): Promise<void> {
    const { client, namespace, replicaId, leaseDurationMs } = this.options;
    const current = await this.get();
    const name = replicaLeaseName(replicaId);
    const address = this.options.peerAddress();
    const annotations: Record<string, string> = { ...current?.metadata.annotations, [MQTT_SHARDS_ANNOTATION]: String(this.options.takesShards) };
    if (address) annotations[PEER_ADDRESS_ANNOTATION] = address;
    else delete annotations[PEER_ADDRESS_ANNOTATION];
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, labels: { [SHARD_LABEL]: 'replica' }, annotations, ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}) },
      spec: {
        ...current?.spec,
        holderIdentity: replicaId,
        leaseDurationSeconds: Math.max(1, Math.ceil(leaseDurationMs / 1000)),
        renewTime: kubeMicroTime(now),
        ...(current?.spec?.holderIdentity === replicaId ? {} : { acquireTime: kubeMicroTime(now) }),
      },
    };
    if (current) await client.replace(paths.lease(namespace, name), body);
    else await client.create(paths.leases(namespace), body);
    this.lastWritten = now;
  }
}

export function leaseExpired(lease: LeaseObject, now: number): boolean {
  const renewed = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
  return !lease.spec?.holderIdentity || now - renewed > (lease.spec.leaseDurationSeconds ?? 15) * 1000;
}

/** A live member that takes MQTT shards (one whose Lease predates the annotation counts too). */
export function takesShards(lease: LeaseObject, now: number): boolean {
  return lease.metadata.name.startsWith(REPLICA_LEASE_PREFIX) && !leaseExpired(lease, now) && lease.metadata.annotations?.[MQTT_SHARDS_ANNOTATION] !== 'false';
}

/** The other live members with a well-formed peer address (Lease contents are not trusted to be well formed). */
function livePeers(leases: LeaseObject[], self: string, now: number): PeerReplica[] {
  const peers: PeerReplica[] = [];
  for (const lease of leases) {
    const id = lease.spec?.holderIdentity;
    if (!lease.metadata?.name?.startsWith(REPLICA_LEASE_PREFIX) || typeof id !== 'string' || id === self || leaseExpired(lease, now)) continue;
    const address = lease.metadata.annotations?.[PEER_ADDRESS_ANNOTATION];
    const parsed = typeof address === 'string' ? parsePeerAddress(address) : undefined;
    if (parsed) peers.push({ id: id.slice(0, 253), address: address!, ...parsed });
    if (peers.length >= MAX_PEERS) break;
  }
  return peers;
}

/** `host:port` or `[v6]:port`, with a DNS name or IP host and a port from 1 to 65535; undefined when malformed. */
export function parsePeerAddress(address: string): { host: string; port: number } | undefined {
  if (address.length > 300) return undefined;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([a-zA-Z0-9.-]+)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

export function replicaLeaseName(replica: string): string {
  return `${REPLICA_LEASE_PREFIX}${replica}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253);
}
