/**
 * What the edge sees of an object: everything it needs to run and serve it, nothing it does
 * not read. Stripping happens once, as objects enter the hub, so the informer cache, the
 * content version and every byte sent are all computed from the same projection.
 */
import type { JsonObject } from '../../protocol/index.js';
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
  return projected;
}
