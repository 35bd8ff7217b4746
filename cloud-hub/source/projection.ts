/**
 * What the edge sees of an object: everything it needs to run and serve it, nothing it does
 * not read. Stripping happens once, as objects enter the hub, so the informer cache, the
 * content version and every byte sent are all computed from the same projection.
 */
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '../../protocol/kube/index.js';
import type { KindInfo } from '../kube/watched-kinds.js';

/** Large annotations no edge reader needs (kubectl apply keeps a full copy of the object here). */
const STRIPPED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];

/**
 * The projected copy of `raw`. `kind` and `apiVersion` are set explicitly because list items
 * carry neither, and an object must project to the same bytes from a list and from a watch.
 */
export function projectObject(info: KindInfo, raw: JsonObject): JsonObject {
  const metadata = { ...((raw.metadata as JsonObject | undefined) ?? {}) };
  delete metadata.managedFields;
  const annotations = metadata.annotations as JsonObject | undefined;
  if (annotations && STRIPPED_ANNOTATIONS.some((name) => name in annotations)) {
    const kept: JsonObject = { ...annotations };
    for (const name of STRIPPED_ANNOTATIONS) delete kept[name];
    if (Object.keys(kept).length > 0) metadata.annotations = kept;
    else delete metadata.annotations;
  }
  const projected: JsonObject = { ...raw, apiVersion: info.apiVersion, kind: info.kind, metadata };
  // The edge writes Pod and Node status itself; sending the cloud's copy back would echo every write.
  if (info.kind === 'Pod' || info.kind === 'Node') delete projected.status;
  if (info.kind === 'Node') withoutOutageTaints(projected);
  return projected;
}

/**
 * The taints the node lifecycle controller sets while the cloud cannot hear a node
 * (unreachable, not-ready) are the cloud's view of the link: the node would only ever receive
 * them after reconnecting, just before they go. Left out, a node's outage does not change its
 * Node's content version, so a whole fleet reconnecting after an outage is not sent its Nodes.
 */
function withoutOutageTaints(node: JsonObject): void {
  const spec = node.spec;
  if (!isJsonObject(spec) || !Array.isArray(spec.taints)) return;
  const kept = spec.taints.filter((taint) => !(isJsonObject(taint) && (taint.key === TAINT_UNREACHABLE || taint.key === TAINT_NOT_READY)));
  if (kept.length === spec.taints.length) return;
  const next: JsonObject = { ...spec, taints: kept };
  if (kept.length === 0) delete next.taints;
  node.spec = next;
}
