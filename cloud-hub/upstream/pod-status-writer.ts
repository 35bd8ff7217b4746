/**
 * `status` frames become merge patches of `pods/<name>/status`, accepted only for Pods bound
 * to the sending node (the NodeAuthorizer rule, upstream). A report is acked once every Pod
 * in it is written or refused; a newer status for a Pod replaces a waiting older one (the
 * write queue is keyed by Pod), so a node's waiting writes never outnumber its Pods.
 *
 * Each node may have a bounded number of reports waiting for their writes; more are refused
 * with `E_UNAVAILABLE` and not acked (the agent keeps them and sends them again). An agent has
 * at most 4 frames unacked, so only a node that ignores acks meets the bound.
 */
import type { Logger } from 'pino';
import { ErrorCode, formatKey, type JsonObject, type StatusFrame } from '../../protocol/index.js';
import type { FleetView } from '../fleet/fleet-view.js';
import { isNotFound, type KubeClient } from '../kube/kube-client.js';
import { paths } from '../kube/kube-paths.js';
import type { HubMetrics } from '../observability/hub-metrics.js';
import type { NodeReply } from '../session/upstream-sink.js';
import type { WriteQueue } from './write-queue.js';

export interface PodStatusWriterDeps {
  client: KubeClient;
  /** Where each Pod runs (only its node may report its status) and whether it is being deleted. */
  fleet: FleetView;
  writes: WriteQueue;
  metrics: HubMetrics;
  logger: Logger;
  /** Status reports of one node waiting for their writes; more are refused until some are done. */
  maxPendingReportsPerNode?: number;
}

/** Four times what a well-behaved agent can have unacked. */
export const DEFAULT_MAX_PENDING_STATUS_REPORTS_PER_NODE = 16;

export class PodStatusWriter {
  private readonly pendingReports = new Map<string, number>();

  constructor(private readonly deps: PodStatusWriterDeps) {}

  /** Status reports of `node` waiting for their writes. */
  pendingFor(node: string): number {
    return this.pendingReports.get(node) ?? 0;
  }

  write(node: string, frame: StatusFrame, reply: NodeReply): void {
    const { fleet, writes, client, logger, metrics } = this.deps;
    const limit = this.deps.maxPendingReportsPerNode ?? DEFAULT_MAX_PENDING_STATUS_REPORTS_PER_NODE;
    if (this.pendingFor(node) >= limit) {
      metrics.statusRefused.inc(frame.pods.length);
      reply.error(ErrorCode.Unavailable, `node ${node} has ${limit} status reports waiting at the hub (the limit); report ${frame.id} refused and not acked: send it again once earlier ones are acked`, 'status');
      return;
    }
    this.pendingReports.set(node, this.pendingFor(node) + 1);
    let outstanding = 0;
    let submitted = false;
    let acked = false;
    const refused: string[] = [];
    const done = (): void => {
      if (!submitted || outstanding > 0 || acked) return;
      acked = true;
      const left = this.pendingFor(node) - 1;
      if (left > 0) this.pendingReports.set(node, left);
      else this.pendingReports.delete(node);
      reply.ack([frame.id]);
    };
    for (const report of frame.pods) {
      const key = formatKey('Pod', report.ns, report.name);
      const placement = fleet.placementOf(key);
      if (!placement || placement.node !== node || (report.uid && placement.uid && report.uid !== placement.uid)) {
        refused.push(key);
        continue;
      }
      outstanding += 1;
      writes.submit({
        key: `PodStatus/${key}`,
        kind: 'PodStatus',
        node,
        lane: 'bulk',
        run: async () => {
          try {
            await client.mergePatch(paths.podStatus(report.ns, report.name), { status: report.status });
            if (this.deletionConfirmed(key, report.status)) {
              // As a kubelet does: the containers are gone, so the Pod object can go.
              await client.delete(paths.pod(report.ns, report.name), { gracePeriodSeconds: '0' }, {
                apiVersion: 'v1',
                kind: 'DeleteOptions',
                gracePeriodSeconds: 0,
                preconditions: { uid: placement.uid },
              });
              logger.info({ node, key }, 'pod stopped on its node; deleted');
            }
          } catch (err) {
            // The Pod is gone: its status no longer matters.
            if (!isNotFound(err)) throw err;
          }
        },
        settled: () => {
          outstanding -= 1;
          done();
        },
      });
    }
    if (refused.length > 0) {
      metrics.statusRefused.inc(refused.length);
      logger.warn({ node, pods: refused }, 'refused status for Pods not bound to the node');
      reply.error(ErrorCode.Forbidden, `node ${node} may report status only for Pods bound to it; refused: ${refused.join(', ')}`, 'status');
    }
    submitted = true;
    done();
  }

  /** The Pod is being deleted and the node reports none of its containers running. */
  private deletionConfirmed(key: string, status: JsonObject): boolean {
    const stored = this.deps.fleet.get(key);
    if (!stored || !stored.json.includes('"deletionTimestamp"')) return false;
    const deleting = (JSON.parse(stored.json) as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp;
    if (!deleting) return false;
    const containers = [...((status.containerStatuses as JsonObject[] | undefined) ?? []), ...((status.initContainerStatuses as JsonObject[] | undefined) ?? [])];
    return containers.every((container) => (container.state as JsonObject | undefined)?.running === undefined && (container.state as JsonObject | undefined)?.waiting === undefined || (container.state as JsonObject | undefined)?.terminated !== undefined);
  }
}
