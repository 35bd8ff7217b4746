/**
 * What the emulated controllers (cluster-controllers.ts) read, kept in memory from the watch
 * fan-out as an informer keeps its cache: per Node its Ready status and heartbeat and its taints,
 * per node Lease its renewTime, per bound Pod its uid, whether it is being deleted and its
 * tolerations. One list of each at start, then every committed change; a round of the
 * controllers therefore reads no SQLite row and parses no object, however big the fleet (they
 * load an object only to write it).
 */
import type { JsonObject } from '../../protocol/index.js';
import { FieldSelector, LabelSelector, ObjectFilter, objectField, stringField, taintsOf, tolerationsOf, type Taint, type Toleration } from '../../protocol/kube/index.js';
import { metadataOf } from './objects.js';
import type { ObjectRegistry } from './registry.js';
import { resourceKey, type ResourceCatalog } from './resources.js';
import type { CommittedChange } from './sqlite-storage.js';
import type { WatchFanout } from './watch-fanout.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeEntry {
  name: string;
  /** The Ready condition's status; undefined without one. */
  ready: string | undefined;
  /** The Ready condition's lastHeartbeatTime. */
  heartbeat: string;
  taints: Taint[];
}

export interface PodEntry {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  deleting: boolean;
  tolerations: Toleration[];
}

const EVERYTHING = new ObjectFilter(undefined, new LabelSelector([]), new FieldSelector([]));

export function readyOf(node: JsonObject): { ready: string | undefined; heartbeat: string } {
  const conditions = objectField(node, 'status')?.conditions;
  const ready = Array.isArray(conditions) ? (conditions.find((c) => (c as JsonObject | null)?.type === 'Ready') as JsonObject | undefined) : undefined;
  return { ready: stringField(ready, 'status'), heartbeat: stringField(ready, 'lastHeartbeatTime') ?? '' };
}

export class ClusterView {
  readonly nodes = new Map<string, NodeEntry>();
  /** node -> its Lease's renewTime. */
  readonly leases = new Map<string, string>();
  /** node name -> its pods by namespace/name (nodes that do not exist included). */
  readonly podsByNode = new Map<string, Map<string, PodEntry>>();
  private readonly nodeOfPod = new Map<string, string>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly registry: ObjectRegistry,
    private readonly catalog: ResourceCatalog,
    private readonly fanout: WatchFanout,
  ) {}

  /** Subscribes, then lists (a change seen both ways is applied twice, which changes nothing). */
  start(): void {
    const kinds = [
      [this.catalog.get('', 'nodes'), (object: JsonObject, gone: boolean) => this.node(object, gone)],
      [this.catalog.get('', 'pods'), (object: JsonObject, gone: boolean) => this.pod(object, gone)],
      [this.catalog.get('coordination.k8s.io', 'leases'), (object: JsonObject, gone: boolean) => this.lease(object, gone)],
    ] as const;
    for (const [def, apply] of kinds) {
      this.unsubscribe.push(this.fanout.subscribe(resourceKey(def), (changes: readonly CommittedChange[]) => {
        for (const change of changes) apply(change.object, change.type === 'DELETED');
      }));
    }
    for (const [def, apply] of kinds) for (const object of this.registry.list(def, EVERYTHING).items) apply(object, false);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
  }

  private node(object: JsonObject, gone: boolean): void {
    const name = stringField(metadataOf(object), 'name') ?? '';
    if (gone) this.nodes.delete(name);
    else this.nodes.set(name, { name, ...readyOf(object), taints: taintsOf(object) });
  }

  private lease(object: JsonObject, gone: boolean): void {
    const meta = metadataOf(object);
    if (stringField(meta, 'namespace') !== NODE_LEASE_NAMESPACE) return;
    const name = stringField(meta, 'name') ?? '';
    if (gone) this.leases.delete(name);
    else this.leases.set(name, stringField(objectField(object, 'spec'), 'renewTime') ?? '');
  }

  private pod(object: JsonObject, gone: boolean): void {
    const meta = metadataOf(object);
    const namespace = stringField(meta, 'namespace') ?? '';
    const name = stringField(meta, 'name') ?? '';
    const key = `${namespace}/${name}`;
    const node = gone ? '' : (stringField(objectField(object, 'spec'), 'nodeName') ?? '');
    const previous = this.nodeOfPod.get(key);
    if (previous !== undefined && previous !== node) {
      const pods = this.podsByNode.get(previous);
      pods?.delete(key);
      if (pods?.size === 0) this.podsByNode.delete(previous);
      this.nodeOfPod.delete(key);
    }
    if (node === '') return;
    this.nodeOfPod.set(key, node);
    let pods = this.podsByNode.get(node);
    if (!pods) this.podsByNode.set(node, (pods = new Map()));
    pods.set(key, { namespace, name, uid: stringField(meta, 'uid') ?? '', node, deleting: meta.deletionTimestamp !== undefined, tolerations: tolerationsOf(object) });
  }
}
