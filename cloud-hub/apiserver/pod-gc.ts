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
import { metadataOf } from './objects.js';
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

  tick(nodes: JsonObject[], podsByNode: Map<string, JsonObject[]>, now: number): void {
    const names = new Set(nodes.map((node) => stringField(metadataOf(node), 'name') ?? ''));
    for (const name of this.known) if (!names.has(name)) this.deleted.add(name);
    for (const name of names) {
      this.known.add(name);
      this.deleted.delete(name);
    }
    for (const name of this.known) if (!names.has(name)) this.known.delete(name);
    const candidates = new Set<string>();
    for (const [node, pods] of podsByNode) {
      if (names.has(node)) continue;
      for (const pod of pods) {
        const meta = metadataOf(pod);
        if (meta.deletionTimestamp === undefined && !this.deleted.has(node)) continue;
        const id = `${stringField(meta, 'namespace') ?? ''}/${stringField(meta, 'name') ?? ''}/${stringField(meta, 'uid') ?? ''}`;
        candidates.add(id);
        const since = this.orphanSince.get(id) ?? now;
        this.orphanSince.set(id, since);
        if (now - since >= this.deps.quarantineMs) this.collect(pod, node, now);
      }
    }
    for (const id of this.orphanSince.keys()) if (!candidates.has(id)) this.orphanSince.delete(id);
  }

  private collect(pod: JsonObject, node: string, now: number): void {
    const { registry, catalog, logger } = this.deps;
    const meta = metadataOf(pod);
    const namespace = stringField(meta, 'namespace') ?? '';
    const name = stringField(meta, 'name') ?? '';
    const pods = catalog.get('', 'pods');
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
    registry.delete(pods, namespace, name, { gracePeriodSeconds: 0 });
    logger.info({ node, pod: `${namespace}/${name}` }, 'pod bound to a node that no longer exists: deleted');
  }
}
