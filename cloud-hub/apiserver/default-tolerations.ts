/**
 * kube-apiserver's DefaultTolerationSeconds admission: a new pod that tolerates neither the
 * not-ready nor the unreachable NoExecute taint gets a toleration of each for a bounded time
 * (300 s by default), which is how long it survives its node's outage before the taint-based
 * eviction deletes it (node-lifecycle.ts). The hub's autonomy controller lifts the bound for
 * pods on autonomous edge nodes, here as on a real cluster.
 */
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { NO_EXECUTE, TAINT_NOT_READY, TAINT_UNREACHABLE, tolerates, tolerationsOf } from '../../protocol/kube/index.js';

export function addDefaultTolerations(pod: JsonObject, seconds: { notReady: number; unreachable: number }): void {
  if (!isJsonObject(pod.spec)) return;
  const tolerations = tolerationsOf(pod);
  const added = [];
  for (const [key, tolerationSeconds] of [[TAINT_NOT_READY, seconds.notReady], [TAINT_UNREACHABLE, seconds.unreachable]] as const) {
    if (tolerations.some((toleration) => tolerates(toleration, { key, effect: NO_EXECUTE }))) continue;
    added.push({ key, operator: 'Exists', effect: NO_EXECUTE, tolerationSeconds });
  }
  if (added.length === 0) return;
  pod.spec.tolerations = [...(Array.isArray(pod.spec.tolerations) ? pod.spec.tolerations : []), ...added];
}
