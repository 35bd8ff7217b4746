/**
 * kube-controller-manager's pod garbage collector (orphans), for the embedded API: a pod bound
 * to a node that no longer exists is deleted with grace period 0 after a quarantine (kube:
 * 40 s; here the node monitor grace period), with the `DisruptionTarget` condition
 * (`DeletionByPodGC`) first. No node will ever confirm such a pod gone, so without this a
 * Terminating one stays forever.
 *
 * Which pods are orphans: those being deleted, on any node that does not exist; and those not
 * being deleted, on a node this server saw and that was deleted since. Unlike kube, a pod bound
 * to a node that never existed is kept while it is not being deleted: an edge node's Node is
 * created when its agent first connects, which may be long after its pods were bound.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { kubeTime, objectField, stringField } from '../../protocol/kube/index.js';
import type { ClusterView, PodEntry } from './cluster-view.js';
import { PATCH_TYPES } from './patch.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceCatalog } from './resources.js';

export interface PodGcDeps {
  registry: ObjectRegistry;
  catalog: ResourceCatalog;
  logger: Logger;
  quarantineMs: number;
}

export class PodGc {
  /** Nodes this server has seen, and those seen and deleted since. */
  private readonly known = new Set<string>();
  private readonly deleted = new Set<string>();
  /** pod (namespace/name/uid) -> when it was first seen orphaned. */
  private readonly orphanSince = new Map<string, number>();

  constructor(private readonly deps: PodGcDeps) {}

  tick(view: ClusterView, now: number): void {
    const names = view.nodes;
    for (const name of this.known) if (!names.has(name)) this.deleted.add(name);
    this.known.clear();
    for (const name of names.keys()) {
      this.known.add(name);
      this.deleted.delete(name);
    }
    const candidates = new Set<string>();
    for (const [node, pods] of view.podsByNode) {
      if (names.has(node)) continue;
      for (const pod of [...pods.values()]) {
        if (!pod.deleting && !this.deleted.has(node)) continue;
        const id = `${pod.namespace}/${pod.name}/${pod.uid}`;
        candidates.add(id);
        const since = this.orphanSince.get(id) ?? now;
        this.orphanSince.set(id, since);
        if (now - since < this.deps.quarantineMs) continue;
        try {
          this.collect(pod, now);
        } catch (err) {
          // Gone or changed meanwhile: the next round sees it as it is now.
          this.deps.logger.debug({ pod: `${pod.namespace}/${pod.name}`, err: (err as Error).message }, 'orphan GC failed');
        }
      }
    }
    for (const id of this.orphanSince.keys()) if (!candidates.has(id)) this.orphanSince.delete(id);
    // A deleted node whose pods are all gone needs no remembering.
    for (const name of this.deleted) if (!view.podsByNode.has(name)) this.deleted.delete(name);
  }

  private collect(entry: PodEntry, now: number): void {
    const { registry, catalog, logger } = this.deps;
    const { namespace, name, node } = entry;
    const pods = catalog.get('', 'pods');
    const pod = registry.get(pods, namespace, name);
    const status = objectField(pod, 'status') ?? {};
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []) as JsonObject[];
    const phase = stringField(status, 'phase');
    registry.patch(pods, namespace, name, PATCH_TYPES.merge, {
      status: {
        ...(phase === 'Succeeded' || phase === 'Failed' ? {} : { phase: 'Failed' }),
        conditions: [
          ...conditions.filter((condition) => condition.type !== 'DisruptionTarget'),
          { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists', lastProbeTime: null, lastTransitionTime: kubeTime(now) },
        ],
      },
    }, { subresource: 'status' });
    registry.delete(pods, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid: entry.uid } });
    logger.info({ node, pod: `${namespace}/${name}` }, 'pod bound to a node that no longer exists: deleted');
  }
}
