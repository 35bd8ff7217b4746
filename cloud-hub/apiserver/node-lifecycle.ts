/**
 * What kube-controller-manager's node lifecycle controller does to a node, for the embedded API:
 *
 * - health: a node whose Lease renewTime and Ready heartbeat (lastHeartbeatTime) have not
 *   changed for the grace period, as this server observed them (so clocks never matter), gets
 *   every condition Unknown (`NodeStatusUnknown`, "Kubelet stopped posting node status."); a
 *   node first seen, or a server just started, gets a grace period from then;
 * - taints follow the Ready condition (TaintNodesByCondition and the NoExecute taints): Unknown
 *   → `node.kubernetes.io/unreachable` NoSchedule and NoExecute, False → `not-ready` ones, True
 *   (or no Ready condition yet) → neither. NoExecute taints carry `timeAdded`, when their eviction clock starts. Taints
 *   anyone else set are kept.
 *
 * The pods on tainted nodes are taint-eviction.ts's business.
 */
import type { Logger } from 'pino';
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { kubeTime, NO_EXECUTE, NO_SCHEDULE, TAINT_NOT_READY, TAINT_UNREACHABLE, type Taint } from '../../protocol/kube/index.js';
import { readyOf, type ClusterView, type NodeEntry } from './cluster-view.js';
import { PATCH_TYPES } from './patch.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceCatalog } from './resources.js';

const MANAGED_KEYS = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY]);

interface Condition {
  type?: string;
  status?: string;
  [field: string]: unknown;
}

export interface NodeLifecycleDeps {
  registry: ObjectRegistry;
  catalog: ResourceCatalog;
  logger: Logger;
  gracePeriodMs: number;
}

export class NodeLifecycle {
  /** node -> what last showed it alive (Lease renewTime, Ready heartbeat and status) and when this server saw it change. */
  private readonly probes = new Map<string, { signature: string; at: number }>();

  constructor(private readonly deps: NodeLifecycleDeps) {}

  /** One round over every node of the view. */
  tick(view: ClusterView, now: number): void {
    for (const entry of view.nodes.values()) {
      const ready = this.checkHealth(entry, view.leases.get(entry.name) ?? '', now);
      this.taint(entry, ready, now);
    }
    for (const name of this.probes.keys()) if (!view.nodes.has(name)) this.probes.delete(name);
  }

  /** Marks the node Unknown when it has been silent for the grace period; returns its Ready status after that. */
  private checkHealth(entry: NodeEntry, renewTime: string, now: number): string | undefined {
    const { registry, catalog, gracePeriodMs, logger } = this.deps;
    const signature = `${renewTime}|${entry.heartbeat}|${entry.ready ?? ''}`;
    const probe = this.probes.get(entry.name);
    if (!probe || probe.signature !== signature) {
      this.probes.set(entry.name, { signature, at: now });
      return entry.ready;
    }
    if (now - probe.at < gracePeriodMs || entry.ready === 'Unknown') return entry.ready;
    const nodes = catalog.get('', 'nodes');
    const node = registry.get(nodes, '', entry.name);
    const status = node.status;
    const conditions = (isJsonObject(status) && Array.isArray(status.conditions) ? status.conditions.filter(isJsonObject) : []) as Condition[];
    const hasReady = conditions.some((condition) => condition.type === 'Ready');
    const reason = hasReady ? 'NodeStatusUnknown' : 'NodeStatusNeverUpdated';
    const message = hasReady ? 'Kubelet stopped posting node status.' : 'Kubelet never posted node status.';
    const next = conditions.map((condition) =>
      condition.status === 'Unknown' ? condition : { ...condition, status: 'Unknown', reason, message, lastTransitionTime: kubeTime(now) },
    );
    if (!hasReady) next.push({ type: 'Ready', status: 'Unknown', reason, message, lastHeartbeatTime: null, lastTransitionTime: kubeTime(now) });
    logger.info({ node: entry.name, silentMs: now - probe.at }, 'node stopped reporting: Ready=Unknown');
    const written = registry.patch(nodes, '', entry.name, PATCH_TYPES.merge, { status: { conditions: next } } as unknown as JsonObject, { subresource: 'status' });
    const after = readyOf(written);
    // Our own write is no sign of life: keep the silence's start.
    this.probes.set(entry.name, { signature: `${renewTime}|${after.heartbeat}|${after.ready ?? ''}`, at: probe.at });
    return after.ready;
  }

  /** Sets the taints the Ready condition calls for, keeping those it does not manage. */
  private taint(entry: NodeEntry, ready: string | undefined, now: number): void {
    // No Ready condition yet: a node registering; checkHealth marks it Unknown after the grace period.
    const wantedKey = ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined;
    const current = entry.taints;
    const kept = current.filter((taint) => !MANAGED_KEYS.has(taint.key) || (taint.key === wantedKey && (taint.effect === NO_EXECUTE || taint.effect === NO_SCHEDULE)));
    const next: Taint[] = [...kept];
    if (wantedKey) {
      if (!next.some((taint) => taint.key === wantedKey && taint.effect === NO_SCHEDULE)) next.push({ key: wantedKey, effect: NO_SCHEDULE });
      if (!next.some((taint) => taint.key === wantedKey && taint.effect === NO_EXECUTE)) next.push({ key: wantedKey, effect: NO_EXECUTE, timeAdded: kubeTime(now) });
    }
    if (next.length === current.length && kept.length === current.length) return;
    this.deps.logger.info({ node: entry.name, taints: next.map((taint) => `${taint.key}:${taint.effect}`) }, wantedKey ? 'node tainted' : 'node healthy again: taints removed');
    const patch = { spec: { taints: next.length > 0 ? next : null } } as unknown as JsonObject;
    this.deps.registry.patch(this.deps.catalog.get('', 'nodes'), '', entry.name, PATCH_TYPES.merge, patch);
  }
}
