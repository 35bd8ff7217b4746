/**
 * Splitting an MQTT fleet between hub replicas. The fleet is cut into a fixed number of shards
 * by a hash of the node name; replicas own shards through coordination.k8s.io Leases in the
 * hub's namespace (`edge-hub-shard-<i>`); the membership Leases (`edge-hub-replica-<id>`,
 * replica-membership.ts) of the replicas that take shards say how many share the work, and each
 * takes about its share. A replica that cannot renew stops serving its shards before their Leases can
 * expire; another takes an expired shard over and asks its nodes to say hello again, and
 * digest resync makes the move lossless.
 *
 * A replica is known by its id (`--hub-id`; a Deployment sets it to the pod name). A clean
 * stop empties its Leases, so the others take its shards at once; a replica that restarts
 * under the same id (a crashed container in the same pod) renews the Leases it still holds at
 * once. Only a replica that comes back under a new id waits for its old Leases to expire.
 *
 * WebSocket needs none of this: any replica serves any node behind a load balancer.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { isConflict, type KubeClient } from '../kube/kube-client.js';
import { kubeMicroTime, paths } from '../kube/kube-paths.js';
import { REPLICA_LEASE_PREFIX, SHARD_LABEL, leaseExpired as expired, takesShards, type LeaseObject, type ReplicaMembership } from './replica-membership.js';

export { SHARD_LABEL };

export function shardOf(node: string, shards: number): number {
  return createHash('sha256').update(node).digest().readUInt32BE(0) % shards;
}

export interface ShardOwnershipOptions {
  client: KubeClient;
  namespace: string;
  replicaId: string;
  shards: number;
  leaseDurationMs: number;
  logger: Logger;
  /** This replica's membership Lease, renewed at the start of each round (its own timer renews it too). */
  membership: ReplicaMembership;
  /** Called with the shards gained and lost after each round. */
  onChange: (gained: number[], lost: number[]) => void;
}

export class ShardOwnership {
  private readonly owned = new Set<number>();
  /** When the last successful renewal round ended; ownership lapses a margin before the Leases could. */
  private lastRenewed = 0;
  private timer?: NodeJS.Timeout;
  /** The round in progress, so stop() can wait for it instead of racing its writes. */
  private current?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: ShardOwnershipOptions) {}

  /** Shards this replica serves now. */
  get shards(): ReadonlySet<number> {
    return this.valid() ? this.owned : new Set();
  }

  owns(node: string): boolean {
    return this.valid() && this.owned.has(shardOf(node, this.options.shards));
  }

  /** Starts renewing; resolves when the first round is over (its shards are served from then on). */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.round(), Math.max(100, Math.floor(this.options.leaseDurationMs / 3)));
    this.timer.unref();
    return this.round();
  }

  /** Gives the shards up (a clean shutdown hands them over without waiting for expiry). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // A round still writing would take shards back after they were released.
    await this.current;
    this.owned.clear();
    try {
      // Every shard Lease held under this id: shards it owns and any a round could not confirm (the membership Lease is ReplicaMembership's).
      const mine = (await this.listLeases()).filter((lease) => lease.spec?.holderIdentity === this.options.replicaId && !lease.metadata.name.startsWith(REPLICA_LEASE_PREFIX));
      await Promise.all(mine.map((lease) => this.release(lease)));
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not hand shards over; they move when their Leases expire');
    }
  }

  /** One round: renew membership, count live replicas, renew, acquire or shed shards. */
  round(now = Date.now()): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.current ??= this.renew(now).finally(() => (this.current = undefined));
    return this.current;
  }

  private async renew(now: number): Promise<void> {
    const before = new Set(this.shards);
    try {
      await this.options.membership.renew(now);
      const leases = await this.listLeases();
      const live = new Set<string>([this.options.replicaId]);
      const holders = new Map<number, LeaseObject>();
      for (const lease of leases) {
        const name = lease.metadata.name;
        if (takesShards(lease, now) && lease.spec?.holderIdentity) live.add(lease.spec.holderIdentity);
        const shard = /^edge-hub-shard-(\d+)$/.exec(name);
        if (shard) holders.set(Number(shard[1]), lease);
      }
      const fair = Math.ceil(this.options.shards / live.size);
      const owned = new Set<number>();
      for (let shard = 0; shard < this.options.shards; shard++) {
        const lease = holders.get(shard);
        const holder = lease && !expired(lease, now) ? lease.spec?.holderIdentity : undefined;
        if (holder === this.options.replicaId) {
          // More than a fair share while others wait: hand the surplus back.
          if (owned.size >= fair && live.size > 1) {
            await this.release(lease!);
            continue;
          }
          if (await this.write(shard, lease, now)) owned.add(shard);
        } else if (holder === undefined && owned.size < fair) {
          if (await this.write(shard, lease, now)) owned.add(shard);
        }
      }
      this.owned.clear();
      for (const shard of owned) this.owned.add(shard);
      this.lastRenewed = now;
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'shard lease round failed');
    }
    const after = this.shards;
    const gained = [...after].filter((shard) => !before.has(shard));
    const lost = [...before].filter((shard) => !after.has(shard));
    if (gained.length > 0 || lost.length > 0) {
      this.options.logger.info({ gained, lost, owned: [...after].sort((a, b) => a - b) }, 'shard ownership changed');
      this.options.onChange(gained, lost);
    }
  }

  private valid(): boolean {
    // Stop serving a third of a lease duration before the Leases could expire elsewhere.
    return Date.now() - this.lastRenewed < (this.options.leaseDurationMs * 2) / 3;
  }

  private async listLeases(): Promise<LeaseObject[]> {
    const list = await this.options.client.get<{ items?: LeaseObject[] }>(paths.leases(this.options.namespace), { labelSelector: SHARD_LABEL });
    return list.items ?? [];
  }

  /** Takes or renews `shard`; false when another replica got there first. */
  private async write(shard: number, current: LeaseObject | undefined, now: number): Promise<boolean> {
    try {
      await this.put(shardLeaseName(shard), current, now, 'shard');
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Empties a Lease this replica holds, so another can take it at once. */
  private async release(current: LeaseObject): Promise<void> {
    try {
      await this.options.client.replace(paths.lease(this.options.namespace, current.metadata.name), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        ...current,
        spec: { ...current.spec, holderIdentity: '', renewTime: kubeMicroTime(0) },
      });
      this.options.logger.info({ lease: current.metadata.name }, 'released');
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  private async put(name: string, current: LeaseObject | undefined, now: number, role: string): Promise<void> {
    const { client, namespace, replicaId, leaseDurationMs } = this.options;
    const spec = {
      holderIdentity: replicaId,
      leaseDurationSeconds: Math.max(1, Math.ceil(leaseDurationMs / 1000)),
      renewTime: kubeMicroTime(now),
      ...(current?.spec?.holderIdentity === replicaId ? {} : { acquireTime: kubeMicroTime(now) }),
    };
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, labels: { [SHARD_LABEL]: role }, ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}) },
      spec: { ...current?.spec, ...spec },
    };
    // The resourceVersion makes this a compare-and-swap: two replicas cannot both win a shard.
    if (current) await client.replace(paths.lease(namespace, name), body);
    else await client.create(paths.leases(namespace), body);
  }
}

function shardLeaseName(shard: number): string {
  return `edge-hub-shard-${shard}`;
}

