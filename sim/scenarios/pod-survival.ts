/**
 * Edge autonomy, as the `partition` scenario checks it: the initial Pods of the cut nodes (the
 * churn never deletes those) must outlive the partition: same uid, never Terminating, however
 * long the cut. Against a control plane that evicts (the own embedded API with short
 * `--node-monitor-grace-period` and toleration seconds, or a real cluster), the cut nodes get
 * the unreachable NoExecute taint; the hub's autonomy (unbounded outage tolerations) is what
 * keeps their Pods. Also counted: `TaintManagerEviction` Events in the namespace since the cut
 * (any pod of the run the control plane evicted, churned ones included).
 */
import type { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { FleetNames } from '../workload/names.js';

interface Listed {
  metadata?: { name?: string; uid?: string; deletionTimestamp?: string };
  spec?: { nodeName?: string; taints?: { key?: string; effect?: string }[] };
}

interface EventItem {
  reason?: string;
  involvedObject?: { uid?: string };
  lastTimestamp?: string;
  eventTime?: string;
}

export interface PodSurvivalFigures {
  /** Initial Pods of the cut nodes watched through the partition. */
  watchedPods: number;
  /** Of those: gone, replaced (another uid) or Terminating after the heal. Must be 0. */
  podsDeleted: number;
  /** TaintManagerEviction Events since the cut for the watched Pods (the cut nodes' initial Pods). */
  evictions: number;
  /** Cut nodes the control plane had tainted unreachable/not-ready NoExecute just before the heal. */
  taintedNodes: number;
}

const OUTAGE_TAINTS = new Set(['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']);

export class PodSurvival {
  private taintedNodes = 0;

  private constructor(
    private readonly kube: KubeClient,
    private readonly namespace: string,
    private readonly cut: ReadonlySet<string>,
    private readonly uids: ReadonlyMap<string, string>,
    private readonly since: number,
  ) {}

  /** Records the uid of every initial Pod of the `cut` nodes, before they are cut off. */
  static async before(kube: KubeClient, names: FleetNames, podsPerNode: number, cut: ReadonlySet<string>): Promise<PodSurvival> {
    const wanted = new Set([...cut].flatMap((node) => Array.from({ length: podsPerNode }, (_, i) => names.pod(node, i))));
    const uids = new Map<string, string>();
    for (const pod of await listPods(kube, names.namespace)) {
      const name = pod.metadata?.name ?? '';
      if (wanted.has(name) && pod.metadata?.uid && !pod.metadata.deletionTimestamp) uids.set(name, pod.metadata.uid);
    }
    return new PodSurvival(kube, names.namespace, cut, uids, Date.now());
  }

  /** Just before the heal: how many cut nodes the control plane tainted. */
  async beforeHeal(): Promise<void> {
    const nodes = (await this.kube.get<{ items?: Listed[] }>('/api/v1/nodes')).items ?? [];
    this.taintedNodes = nodes.filter((node) => this.cut.has(node.metadata?.name ?? '') && node.spec?.taints?.some((t) => t.effect === 'NoExecute' && OUTAGE_TAINTS.has(t.key ?? ''))).length;
  }

  /** After the heal and the catch-up. */
  async after(): Promise<PodSurvivalFigures> {
    const now = new Map((await listPods(this.kube, this.namespace)).map((pod) => [pod.metadata?.name ?? '', pod]));
    let podsDeleted = 0;
    for (const [name, uid] of this.uids) {
      const pod = now.get(name);
      if (!pod || pod.metadata?.uid !== uid || pod.metadata.deletionTimestamp) podsDeleted += 1;
    }
    const events = await this.kube.get<{ items?: EventItem[] }>(`/api/v1/namespaces/${encodeURIComponent(this.namespace)}/events`, { fieldSelector: 'reason=TaintManagerEviction' });
    // Event times are whole seconds (eventTime finer): compare from the second of the cut.
    const from = Math.floor(this.since / 1000) * 1000;
    // Only the watched Pods count: a Pod the churn creates on a tainted node races the hub's
    // autonomy patch against its default toleration, which is 1 s in the tests (300 s in kube).
    const watched = new Set(this.uids.values());
    const evictions = (events.items ?? []).filter((event) => watched.has(event.involvedObject?.uid ?? '') && Date.parse(event.eventTime ?? event.lastTimestamp ?? '') >= from).length;
    return { watchedPods: this.uids.size, podsDeleted, evictions, taintedNodes: this.taintedNodes };
  }
}

async function listPods(kube: KubeClient, namespace: string): Promise<Listed[]> {
  const items: Listed[] = [];
  let next: string | undefined;
  do {
    const page = await kube.get<{ items?: Listed[]; metadata?: { continue?: string } }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { limit: '2000', continue: next });
    items.push(...(page.items ?? []));
    next = page.metadata?.continue || undefined;
  } while (next);
  return items;
}
