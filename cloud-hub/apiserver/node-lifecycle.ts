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
import { kubeTime, NO_EXECUTE, NO_SCHEDULE, stringField, TAINT_NOT_READY, TAINT_UNREACHABLE, taintsOf, type Taint } from '../../protocol/kube/index.js';
import { metadataOf } from './objects.js';
import { PATCH_TYPES } from './patch.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceCatalog } from './resources.js';

const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const MANAGED_KEYS = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY]);

interface Condition {
  type?: string;
  status?: string;
  lastHeartbeatTime?: string;
  [field: string]: unknown;
}

export interface NodeLifecycleDeps {
  registry: ObjectRegistry;
  catalog: ResourceCatalog;
  logger: Logger;
  gracePeriodMs: number;
}

function conditionsOf(node: JsonObject): Condition[] {
  const status = node.status;
  if (!isJsonObject(status) || !Array.isArray(status.conditions)) return [];
  return status.conditions.filter(isJsonObject) as Condition[];
}

export function readyStatusOf(node: JsonObject): string | undefined {
  return conditionsOf(node).find((condition) => condition.type === 'Ready')?.status;
}

export class NodeLifecycle {
  /** node -> what last showed it alive (Lease renewTime, Ready heartbeat) and when this server saw it change. */
  private readonly probes = new Map<string, { signature: string; at: number }>();

  constructor(private readonly deps: NodeLifecycleDeps) {}

  /** One round over `nodes` (as listed now); returns them as they are after this round's writes. */
  tick(nodes: JsonObject[], now: number): JsonObject[] {
    const seen = new Set<string>();
    const result = nodes.map((node) => {
      const name = stringField(metadataOf(node), 'name') ?? '';
      seen.add(name);
      return this.taint(this.checkHealth(name, node, now), now);
    });
    for (const name of this.probes.keys()) if (!seen.has(name)) this.probes.delete(name);
    return result;
  }

  private checkHealth(name: string, node: JsonObject, now: number): JsonObject {
    const { registry, catalog, gracePeriodMs, logger } = this.deps;
    let renewTime = '';
    try {
      const lease = registry.get(catalog.get('coordination.k8s.io', 'leases'), NODE_LEASE_NAMESPACE, name);
      renewTime = isJsonObject(lease.spec) ? (stringField(lease.spec, 'renewTime') ?? '') : '';
    } catch {
      // No Lease (yet): the Ready heartbeat alone tells.
    }
    const conditions = conditionsOf(node);
    const ready = conditions.find((condition) => condition.type === 'Ready');
    const signature = `${renewTime}|${ready?.lastHeartbeatTime ?? ''}|${ready?.status ?? ''}`;
    const probe = this.probes.get(name);
    if (!probe || probe.signature !== signature) {
      this.probes.set(name, { signature, at: now });
      return node;
    }
    if (now - probe.at < gracePeriodMs || ready?.status === 'Unknown') return node;
    const reason = ready ? 'NodeStatusUnknown' : 'NodeStatusNeverUpdated';
    const message = ready ? 'Kubelet stopped posting node status.' : 'Kubelet never posted node status.';
    const next = conditions.map((condition) =>
      condition.status === 'Unknown' ? condition : { ...condition, status: 'Unknown', reason, message, lastTransitionTime: kubeTime(now) },
    );
    if (!ready) next.push({ type: 'Ready', status: 'Unknown', reason, message, lastHeartbeatTime: null, lastTransitionTime: kubeTime(now) } as unknown as Condition);
    logger.info({ node: name, silentMs: now - probe.at }, 'node stopped reporting: Ready=Unknown');
    const written = registry.patch(catalog.get('', 'nodes'), '', name, PATCH_TYPES.merge, { status: { conditions: next } } as unknown as JsonObject, { subresource: 'status' });
    this.probes.set(name, { signature: `${renewTime}|${ready?.lastHeartbeatTime ?? ''}|Unknown`, at: probe.at });
    return written;
  }

  /** Sets the taints the Ready condition calls for, keeping those it does not manage. */
  private taint(node: JsonObject, now: number): JsonObject {
    const status = readyStatusOf(node);
    // No Ready condition yet: a node registering; checkHealth marks it Unknown after the grace period.
    const wantedKey = status === 'False' ? TAINT_NOT_READY : status === 'Unknown' ? TAINT_UNREACHABLE : undefined;
    const current = taintsOf(node);
    const kept = current.filter((taint) => !MANAGED_KEYS.has(taint.key) || (taint.key === wantedKey && (taint.effect === NO_EXECUTE || taint.effect === NO_SCHEDULE)));
    const next: Taint[] = [...kept];
    if (wantedKey) {
      if (!next.some((taint) => taint.key === wantedKey && taint.effect === NO_SCHEDULE)) next.push({ key: wantedKey, effect: NO_SCHEDULE });
      if (!next.some((taint) => taint.key === wantedKey && taint.effect === NO_EXECUTE)) next.push({ key: wantedKey, effect: NO_EXECUTE, timeAdded: kubeTime(now) });
    }
    if (next.length === current.length && kept.length === current.length) return node;
    const name = stringField(metadataOf(node), 'name') ?? '';
    this.deps.logger.info({ node: name, taints: next.map((taint) => `${taint.key}:${taint.effect}`) }, wantedKey ? 'node tainted' : 'node healthy again: taints removed');
    const patch = { spec: { taints: next.length > 0 ? next : null } } as unknown as JsonObject;
    return this.deps.registry.patch(this.deps.catalog.get('', 'nodes'), '', name, PATCH_TYPES.merge, patch);
  }
}
