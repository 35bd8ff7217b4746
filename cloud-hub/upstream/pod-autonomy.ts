/**
 * Edge autonomy on a real control plane: pods bound to an autonomous edge node tolerate the
 * node's outage forever, so the taint-based eviction of the node lifecycle controller never
 * deletes them while the cloud cannot reach the node (OpenYurt's yurt-manager does the same
 * for its autonomous nodes).
 *
 * - A node is autonomous when it is an edge node (the `node-role.kubernetes.io/edge` label the
 *   hub sets when it registers it) and neither a label nor an annotation
 *   `edge-sync.io/autonomy: "false"` turns it off.
 * - A pod bound to an autonomous node, not being deleted and without the annotation
 *   `edge-sync.io/autonomy: "false"` (stateless replicas that should fail over), gets its
 *   `node.kubernetes.io/unreachable` and `node.kubernetes.io/not-ready` NoExecute tolerations
 *   without tolerationSeconds, or such tolerations added (protocol/kube/taints.ts). That is the
 *   only change Kubernetes lets an update make to existing tolerations.
 *
 * It subscribes to the informers like the fleet view (after it, so `fleet.get` has the event's
 * object and `fleet.podsOn` the pods bound to each node) and writes through the write queue's bulk lane, keyed by pod, as a JSON patch that
 * first tests the tolerations it read: a pod changed meanwhile fails the test (422) instead of
 * losing the change, and its watch event brings it here again.
 */
import type { Logger } from 'pino';
import { formatKey, isJsonObject, type JsonObject } from '../../protocol/index.js';
import { tolerationsOf, unboundedTolerations } from '../../protocol/kube/index.js';
import type { FleetView } from '../fleet/fleet-view.js';
import type { KubeClient } from '../kube/kube-client.js';
import { paths } from '../kube/kube-paths.js';
import type { WatchEvent, WatchEventHandler } from '../kube/watched-kinds.js';
import { EDGE_ROLE_LABEL } from './node-self-report.js';
import type { WriteQueue } from './write-queue.js';

/** Label or annotation of a Node, or annotation of a Pod: `"false"` turns autonomy off for it. */
export const AUTONOMY_KEY = 'edge-sync.io/autonomy';
export const JSON_PATCH = 'application/json-patch+json';

export interface PodAutonomyDeps {
  client: KubeClient;
  /** The pods' current projected objects (the informer's view). */
  fleet: FleetView;
  writes: WriteQueue;
  logger: Logger;
}

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const metaOf = (obj: JsonObject): Meta => (isJsonObject(obj.metadata) ? (obj.metadata as Meta) : {});
const nodeNameOf = (pod: JsonObject): string => (isJsonObject(pod.spec) && typeof pod.spec.nodeName === 'string' ? pod.spec.nodeName : '');

/** Whether a Node object is an autonomous edge node. */
export function isAutonomousNode(node: JsonObject): boolean {
  const meta = metaOf(node);
  if (meta.labels?.[EDGE_ROLE_LABEL] === undefined) return false;
  return meta.labels[AUTONOMY_KEY] !== 'false' && meta.annotations?.[AUTONOMY_KEY] !== 'false';
}

/** Whether a pod wants its tolerations left alone (it should fail over when its node is gone). */
export function podOptedOut(pod: JsonObject): boolean {
  return metaOf(pod).annotations?.[AUTONOMY_KEY] === 'false';
}

export class PodAutonomy implements WatchEventHandler {
  private readonly autonomous = new Set<string>();

  constructor(private readonly deps: PodAutonomyDeps) {}

  apply(event: WatchEvent): void {
    if (event.kind === 'Node') this.nodeEvent(event);
    else if (event.kind === 'Pod') this.podEvent(event);
  }

  /** Whether the hub last saw `node` as an autonomous edge node. */
  isAutonomous(node: string): boolean {
    return this.autonomous.has(node);
  }

  private nodeEvent(event: WatchEvent): void {
    const name = metaOf(event.obj).name ?? '';
    if (name === '') return;
    const now = event.type === 'upsert' && isAutonomousNode(event.obj);
    const before = this.autonomous.has(name);
    if (now) this.autonomous.add(name);
    else this.autonomous.delete(name);
    if (!now || before) return;
    // The fleet view's index of the pods bound to the node (it has taken every event before us);
    // a copy of its 20,000 keys here cost ~3 MiB.
    for (const key of this.deps.fleet.podsOn(name)) this.consider(key);
  }

  private podEvent(event: WatchEvent): void {
    const meta = metaOf(event.obj);
    const key = formatKey('Pod', meta.namespace ?? '', meta.name ?? '');
    const node = event.type === 'upsert' ? nodeNameOf(event.obj) : '';
    if (node !== '') this.check(key, event.obj);
  }

  private consider(key: string): void {
    const version = this.deps.fleet.get(key);
    if (version) this.check(key, JSON.parse(version.json) as JsonObject);
  }

  /** Submits a write when `pod` should and does not yet tolerate an outage forever. */
  private check(key: string, pod: JsonObject): void {
    if (!this.wants(pod)) return;
    const node = nodeNameOf(pod);
    this.deps.writes.submit({ key: `PodAutonomy/${key}`, kind: 'PodTolerations', node, lane: 'bulk', run: () => this.write(key) });
  }

  private wants(pod: JsonObject): boolean {
    const meta = metaOf(pod);
    if (meta.deletionTimestamp !== undefined || podOptedOut(pod)) return false;
    if (!this.autonomous.has(nodeNameOf(pod))) return false;
    return unboundedTolerations(tolerationsOf(pod)) !== undefined;
  }

  /** The write, from the newest view of the pod when it runs (a retry never sends a stale list). */
  private async write(key: string): Promise<void> {
    const version = this.deps.fleet.get(key);
    if (!version) return;
    const pod = JSON.parse(version.json) as JsonObject;
    if (!this.wants(pod)) return;
    const current = tolerationsOf(pod);
    const next = unboundedTolerations(current)!;
    const meta = metaOf(pod);
    const spec = pod.spec as JsonObject;
    // Test what was read: the uid (the same pod, not a new one of that name), and the list it replaces
    // (its absence cannot be tested, so then the resourceVersion).
    const patch = [
      { op: 'test', path: '/metadata/uid', value: meta.uid ?? '' },
      Array.isArray(spec.tolerations)
        ? { op: 'test', path: '/spec/tolerations', value: spec.tolerations }
        : { op: 'test', path: '/metadata/resourceVersion', value: (pod.metadata as JsonObject).resourceVersion ?? '' },
      { op: Array.isArray(spec.tolerations) ? 'replace' : 'add', path: '/spec/tolerations', value: next },
    ];
    await this.deps.client.request({ method: 'PATCH', path: paths.pod(meta.namespace ?? '', meta.name ?? ''), body: patch, contentType: JSON_PATCH });
    this.deps.logger.debug({ node: nodeNameOf(pod), key }, 'pod tolerates its node\'s outage forever (edge autonomy)');
  }
}
