/**
 * kube-controller-manager's taint-based eviction (the NoExecute taint manager), for the
 * embedded API: a pod bound to a node with NoExecute taints is deleted at once when one of
 * them is not tolerated, after the smallest matching tolerationSeconds when all are (counted
 * from the earliest `timeAdded` of the node's NoExecute taints), never when every matching
 * toleration is unbounded (protocol/kube/taints.ts). Before the delete the pod gets the
 * `DisruptionTarget` condition (`DeletionByTaintManager`) and an Event `TaintManagerEviction`
 * is recorded, as kube does.
 *
 * The delete is the ordinary one: a pod bound to a node gets its deletionTimestamp and stays
 * Terminating until its node confirms it stopped (or pod-gc.ts removes it with its node).
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { kubeMicroTime, kubeTime, NO_EXECUTE, objectField, tolerationSecondsFor } from '../../protocol/kube/index.js';
import type { ClusterView, PodEntry } from './cluster-view.js';
import { PATCH_TYPES } from './patch.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceCatalog } from './resources.js';

export interface TaintEvictionDeps {
  registry: ObjectRegistry;
  catalog: ResourceCatalog;
  logger: Logger;
  /** Counts each pod this deletes (for the server's metrics and tests). */
  onEvicted?: (namespace: string, name: string) => void;
}

export class TaintEviction {
  /** node -> when this server first saw NoExecute taints without a timeAdded on it. */
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly deps: TaintEvictionDeps) {}

  /** One round over the nodes of the view that have NoExecute taints. */
  tick(view: ClusterView, now: number): void {
    const tainted = new Set<string>();
    for (const node of view.nodes.values()) {
      const taints = node.taints.filter((taint) => taint.effect === NO_EXECUTE);
      if (taints.length === 0) continue;
      tainted.add(node.name);
      const added = taints.map((taint) => (taint.timeAdded ? Date.parse(taint.timeAdded) : NaN)).filter((at) => !Number.isNaN(at));
      if (added.length < taints.length && !this.firstSeen.has(node.name)) this.firstSeen.set(node.name, now);
      const since = Math.min(...added, this.firstSeen.get(node.name) ?? Infinity);
      for (const pod of [...(view.podsByNode.get(node.name)?.values() ?? [])]) {
        if (pod.deleting) continue;
        const seconds = tolerationSecondsFor(taints, pod.tolerations);
        if (seconds < 0 || now < since + seconds * 1000) continue;
        try {
          this.evict(pod, now);
        } catch (err) {
          // Gone or changed meanwhile: the next round sees it as it is now.
          this.deps.logger.debug({ pod: `${pod.namespace}/${pod.name}`, err: (err as Error).message }, 'eviction failed');
        }
      }
    }
    for (const name of this.firstSeen.keys()) if (!tainted.has(name)) this.firstSeen.delete(name);
  }

  private evict(entry: PodEntry, now: number): void {
    const { registry, catalog, logger } = this.deps;
    const { namespace, name, node } = entry;
    const pods = catalog.get('', 'pods');
    const pod = registry.get(pods, namespace, name);
    const conditions = (objectField(pod, 'status')?.conditions ?? []) as JsonObject[];
    registry.patch(pods, namespace, name, PATCH_TYPES.merge, {
      status: {
        conditions: [
          ...conditions.filter((condition) => condition.type !== 'DisruptionTarget'),
          { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastProbeTime: null, lastTransitionTime: kubeTime(now) },
        ],
      },
    }, { subresource: 'status' });
    registry.delete(pods, namespace, name, { preconditions: { uid: entry.uid } });
    // Marked deleting at once: the view hears of it only when the batch is committed.
    entry.deleting = true;
    logger.info({ node, pod: `${namespace}/${name}` }, 'NoExecute taint not tolerated (any longer): pod evicted');
    this.deps.onEvicted?.(namespace, name);
    try {
      registry.create(catalog.get('', 'events'), namespace, {
        metadata: { name: `${name}.${now.toString(16)}`, namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace, name, uid: entry.uid },
        reason: 'TaintManagerEviction',
        message: `Marking for deletion Pod ${namespace}/${name}`,
        type: 'Normal',
        count: 1,
        firstTimestamp: kubeTime(now),
        lastTimestamp: kubeTime(now),
        eventTime: kubeMicroTime(now),
        source: { component: 'taint-eviction-controller' },
        reportingComponent: 'taint-eviction-controller',
        reportingInstance: '',
        action: 'Delete',
      });
    } catch (err) {
      logger.debug({ pod: `${namespace}/${name}`, err: (err as Error).message }, 'could not record the eviction Event');
    }
  }
}
