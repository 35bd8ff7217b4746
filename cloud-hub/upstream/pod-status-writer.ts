/**
 * `status` frames become merge patches of `pods/<name>/status`, accepted only for Pods bound
 * to the sending node (the NodeAuthorizer rule, upstream). A report is acked once every Pod
 * in it is written or refused; a newer status for a Pod replaces a waiting older one.
 */
import type { Logger } from 'pino';
import { ErrorCode, formatKey, type JsonObject, type StatusFrame } from '../../protocol/index.js';
import { isNotFound, type KubeClient } from '../kube/kube-client.js';
import type { HubMetrics } from '../metrics.js';
import type { NodeScope } from '../scope/node-scope.js';
import type { ObjectStore } from '../source/object-store.js';
import type { NodeReply } from '../session/upstream-sink.js';
import { paths } from './kube-paths.js';
import type { WriteQueue } from './write-queue.js';

export interface PodStatusWriterDeps {
  client: KubeClient;
  scope: NodeScope;
  store: ObjectStore;
  writes: WriteQueue;
  metrics: HubMetrics;
  logger: Logger;
}

export class PodStatusWriter {
  constructor(private readonly deps: PodStatusWriterDeps) {}

  write(node: string, frame: StatusFrame, reply: NodeReply): void {
    const { scope, writes, client, logger, metrics } = this.deps;
    let outstanding = 0;
    let submitted = false;
    const refused: string[] = [];
    const done = (): void => {
      if (submitted && outstanding === 0) reply.ack([frame.id]);
    };
    for (const report of frame.pods) {
      const key = formatKey('Pod', report.ns, report.name);
      const placement = scope.placementOf(key);
      if (!placement || placement.node !== node || (report.uid && placement.uid && report.uid !== placement.uid)) {
        refused.push(key);
        continue;
      }
      outstanding += 1;
      writes.submit(
        `PodStatus/${key}`,
        'PodStatus',
        async () => {
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
        () => {
          outstanding -= 1;
          done();
        },
      );
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
    const stored = this.deps.store.get(key);
    if (!stored || !stored.json.includes('"deletionTimestamp"')) return false;
    const deleting = (JSON.parse(stored.json) as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp;
    if (!deleting) return false;
    const containers = [...((status.containerStatuses as JsonObject[] | undefined) ?? []), ...((status.initContainerStatuses as JsonObject[] | undefined) ?? [])];
    return containers.every((container) => (container.state as JsonObject | undefined)?.running === undefined && (container.state as JsonObject | undefined)?.waiting === undefined || (container.state as JsonObject | undefined)?.terminated !== undefined);
  }
}
