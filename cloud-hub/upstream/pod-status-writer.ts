/**
 * `status` frames become merge patches of `pods/<name>/status`, accepted only for Pods bound
 * to the sending node (the NodeAuthorizer rule, upstream). A report is acked once every Pod
 * in it is written or refused; a newer status for a Pod replaces a waiting older one.
 */
import type { Logger } from 'pino';
import { ErrorCode, formatKey, type StatusFrame } from '../../protocol/index.js';
import { isNotFound, type KubeClient } from '../kube/kube-client.js';
import type { HubMetrics } from '../metrics.js';
import type { NodeScope } from '../scope/node-scope.js';
import type { NodeReply } from '../session/upstream-sink.js';
import { paths } from './kube-paths.js';
import type { WriteQueue } from './write-queue.js';

export interface PodStatusWriterDeps {
  client: KubeClient;
  scope: NodeScope;
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
}
