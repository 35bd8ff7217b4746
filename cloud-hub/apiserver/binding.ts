/**
 * The pods/binding subresource (what a scheduler posts): the target node of a Binding body, and
 * the pod it makes of an unbound one (spec.nodeName and a PodScheduled condition), with kube's
 * errors for a pod being deleted or already bound.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../protocol/index.js';
import { kubeTime, objectField, statusErrors, stringField } from '../../protocol/kube/index.js';
import { metadataOf } from './objects.js';

/** The node a Binding body names; 400/422 as kube for a bad one. */
export function bindingTarget(body: JsonValue, name: string): string {
  if (!isJsonObject(body)) throw statusErrors.badRequest('the body must be a Binding object');
  const nodeName = stringField(objectField(body, 'target'), 'name') ?? '';
  if (nodeName === '') throw statusErrors.invalid({ group: '', kind: 'Binding' }, name, [{ field: 'target.name', type: 'Required value' }]);
  return nodeName;
}

/** `pod` (not modified) bound to `nodeName`; 409 when it is being deleted or already bound. */
export function boundPod(pod: JsonObject, name: string, nodeName: string, now: Date): JsonObject {
  const binding = { group: '', resource: 'pods/binding' };
  if (metadataOf(pod).deletionTimestamp !== undefined) throw statusErrors.conflict(binding, name, `pod ${name} is being deleted, cannot be assigned to a host`);
  const current = stringField(objectField(pod, 'spec'), 'nodeName') ?? '';
  if (current !== '') throw statusErrors.conflict(binding, name, `pod ${name} is already assigned to node "${current}"`);
  const next = structuredClone(pod);
  const spec: JsonObject = isJsonObject(next.spec) ? next.spec : (next.spec = {});
  spec.nodeName = nodeName;
  const status: JsonObject = isJsonObject(next.status) ? next.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter((c) => !(isJsonObject(c) && c.type === 'PodScheduled')) : [];
  conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: kubeTime(now) });
  status.conditions = conditions;
  next.status = status;
  return next;
}
