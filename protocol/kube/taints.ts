/**
 * Taints and tolerations as Kubernetes matches them (k8s.io/api/core/v1 toleration.go and the
 * NoExecute taint manager's getMatchingTolerations / getMinTolerationTime), shared by the
 * hub's autonomy controller and the embedded API's node lifecycle emulation.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** The taints the node lifecycle controller puts on a node whose Ready condition is not True. */
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const NO_EXECUTE = 'NoExecute';
export const NO_SCHEDULE = 'NoSchedule';

/** Kubernetes' ToleratesTaint: effect empty or equal, key empty (with Exists) or equal, Exists or Equal value. */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  const operator = toleration.operator || 'Equal';
  if (operator === 'Exists') return true;
  if (operator === 'Equal') return (toleration.value ?? '') === (taint.value ?? '');
  return false;
}

/**
 * How long a pod may stay on a node with these NoExecute taints: 0 when one of them is not
 * tolerated (evict now), -1 when every matching toleration is unbounded (never), else the
 * smallest tolerationSeconds of the tolerations that matched (the taint manager's rule: a
 * bounded toleration wins over an unbounded one for the same taint).
 */
export function tolerationSecondsFor(taints: readonly Taint[], tolerations: readonly Toleration[]): number {
  let min = -1;
  for (const taint of taints) {
    const matching = tolerations.filter((toleration) => tolerates(toleration, taint));
    if (matching.length === 0) return 0;
    for (const toleration of matching) {
      if (typeof toleration.tolerationSeconds !== 'number') continue;
      if (toleration.tolerationSeconds <= 0) return 0;
      if (min < 0 || toleration.tolerationSeconds < min) min = toleration.tolerationSeconds;
    }
  }
  return min;
}

/** The tolerations of a pod object (spec.tolerations), ignoring entries that are not objects. */
export function tolerationsOf(pod: JsonObject): Toleration[] {
  const spec = pod.spec;
  if (!isJsonObject(spec) || !Array.isArray(spec.tolerations)) return [];
  return spec.tolerations.filter(isJsonObject) as Toleration[];
}

/** The taints of a node object (spec.taints), ignoring entries without a key and an effect. */
export function taintsOf(node: JsonObject): Taint[] {
  const spec = node.spec;
  if (!isJsonObject(spec) || !Array.isArray(spec.taints)) return [];
  return spec.taints.filter((taint: JsonValue): taint is JsonObject => isJsonObject(taint) && typeof taint.key === 'string' && typeof taint.effect === 'string') as unknown as Taint[];
}

/**
 * The tolerations that make a pod stay through any outage of its node: every toleration that
 * matches the unreachable or not-ready NoExecute taint loses its tolerationSeconds, and a
 * toleration without seconds is added for a taint nothing tolerates. Undefined when the pod
 * already stays forever. Kubernetes lets an update of a pod change tolerationSeconds of an
 * existing toleration and add tolerations, nothing else (validateOnlyAddedTolerations), and
 * that is all this does: existing entries keep their place and every other field.
 */
export function unboundedTolerations(tolerations: readonly Toleration[]): Toleration[] | undefined {
  const outage: Taint[] = [TAINT_UNREACHABLE, TAINT_NOT_READY].map((key) => ({ key, effect: NO_EXECUTE }));
  let changed = false;
  const next = tolerations.map((toleration) => {
    if (toleration.tolerationSeconds === undefined || !outage.some((taint) => tolerates(toleration, taint))) return toleration;
    changed = true;
    const { tolerationSeconds: _dropped, ...unbounded } = toleration;
    return unbounded;
  });
  for (const taint of outage) {
    if (next.some((toleration) => tolerates(toleration, taint))) continue;
    changed = true;
    next.push({ key: taint.key, operator: 'Exists', effect: NO_EXECUTE });
  }
  return changed ? next : undefined;
}
