/**
 * Kind-specific write rules (kube's "strategies"): what the server resets on create, the
 * defaults it fills in, which part of an object a main-resource write or a status write may
 * change, when metadata.generation moves, and which updates are refused.
 *
 * Defaulting is deliberately small: the Pod fields the deletion and printing logic read
 * (terminationGracePeriodSeconds, restartPolicy), the container fields kubelet-facing code
 * expects, Secret type, Namespace phase and finalizer. Everything else is stored as sent.
 */
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../../protocol/index.js';
import { arrayField, objectField, objectsIn, statusErrors, stringField, type FieldError } from '../../protocol/kube/index.js';
import { metadataOf } from './objects.js';
import type { ResourceDefinition } from './resources.js';

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function defaultContainer(container: JsonObject): void {
  const image = stringField(container, 'image') ?? '';
  if (container.imagePullPolicy === undefined) {
    // kube: Always for :latest or no tag, IfNotPresent otherwise.
    const lastPart = image.slice(image.lastIndexOf('/') + 1);
    const tag = lastPart.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : 'latest';
    container.imagePullPolicy = tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  if (container.terminationMessagePath === undefined) container.terminationMessagePath = '/dev/termination-log';
  if (container.terminationMessagePolicy === undefined) container.terminationMessagePolicy = 'File';
  for (const port of objectsIn(arrayField(container, 'ports'))) if (port.protocol === undefined) port.protocol = 'TCP';
}

function defaultPod(pod: JsonObject): void {
  const spec = objectField(pod, 'spec');
  if (!spec) return;
  if (spec.restartPolicy === undefined) spec.restartPolicy = 'Always';
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  if (spec.dnsPolicy === undefined) spec.dnsPolicy = 'ClusterFirst';
  if (spec.schedulerName === undefined) spec.schedulerName = 'default-scheduler';
  if (spec.securityContext === undefined) spec.securityContext = {};
  for (const list of ['containers', 'initContainers']) for (const container of objectsIn(arrayField(spec, list))) defaultContainer(container);
}

/** kube's QoS class: BestEffort without any requests/limits, Guaranteed when every container's limits equal its requests for cpu and memory. */
function qosClass(pod: JsonObject): string {
  const spec = objectField(pod, 'spec') ?? {};
  const containers = [...objectsIn(arrayField(spec, 'containers')), ...objectsIn(arrayField(spec, 'initContainers'))];
  let any = false;
  let guaranteed = true;
  for (const container of containers) {
    const resources = objectField(container, 'resources') ?? {};
    const limits = objectField(resources, 'limits') ?? {};
    const requests = { ...limits, ...(objectField(resources, 'requests') ?? {}) };
    for (const name of ['cpu', 'memory']) {
      if (requests[name] !== undefined || limits[name] !== undefined) any = true;
      if (limits[name] === undefined || requests[name] !== limits[name]) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function base64Error(value: string): boolean {
  return !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0;
}

/** Secrets: stringData is write-only sugar for base64 data, as in kube. */
function normalizeSecret(secret: JsonObject): void {
  if (secret.type === undefined || secret.type === '') secret.type = 'Opaque';
  const stringData = secret.stringData;
  if (isJsonObject(stringData)) {
    const data: JsonObject = isJsonObject(secret.data) ? secret.data : {};
    for (const [key, value] of Object.entries(stringData)) if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
    secret.data = data;
  }
  delete secret.stringData;
  if (isJsonObject(secret.data)) {
    for (const value of Object.values(secret.data)) {
      if (typeof value === 'string' && base64Error(value)) throw statusErrors.badRequest('Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data');
    }
  }
}

/**
 * Prepares a new object for storage: defaults, and the status the server owns on creation
 * (a Pod always starts Pending, a Namespace Active).
 */
export function prepareForCreate(def: ResourceDefinition, obj: JsonObject): void {
  switch (def.kind) {
    case 'Pod':
      defaultPod(obj);
      obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
      break;
    case 'Secret':
      normalizeSecret(obj);
      break;
    case 'Namespace': {
      const spec: JsonObject = isJsonObject(obj.spec) ? obj.spec : {};
      if (!Array.isArray(spec.finalizers)) spec.finalizers = ['kubernetes'];
      obj.spec = spec;
      obj.status = { phase: 'Active' };
      break;
    }
  }
}

/**
 * Prepares an update through the main resource: status (for kinds with a status
 * subresource) stays what it was, defaults are applied, and immutable parts are checked.
 */
export function prepareForUpdate(def: ResourceDefinition, obj: JsonObject, old: JsonObject): FieldError[] {
  if (def.statusSubresource) {
    if (old.status === undefined) delete obj.status;
    else obj.status = old.status;
  }
  switch (def.kind) {
    case 'Pod': {
      defaultPod(obj);
      return podSpecUpdateErrors(objectField(obj, 'spec') ?? {}, objectField(old, 'spec') ?? {});
    }
    case 'Secret': {
      normalizeSecret(obj);
      const errors = immutableDataErrors(obj, old, ['data']);
      if ((old.type ?? 'Opaque') !== obj.type) errors.push({ field: 'type', type: 'Invalid value', value: obj.type, detail: 'field is immutable' });
      return errors;
    }
    case 'ConfigMap':
      return immutableDataErrors(obj, old, ['data', 'binaryData']);
    case 'Namespace': {
      // spec.finalizers belong to the namespace lifecycle (kube changes them only through /finalize).
      const spec: JsonObject = isJsonObject(obj.spec) ? obj.spec : {};
      const oldSpec = objectField(old, 'spec');
      if (oldSpec && oldSpec.finalizers !== undefined) spec.finalizers = oldSpec.finalizers;
      obj.spec = spec;
      return [];
    }
    default:
      return [];
  }
}

/** ConfigMaps and Secrets marked `immutable: true` refuse data changes, as in kube. */
function immutableDataErrors(obj: JsonObject, old: JsonObject, fields: string[]): FieldError[] {
  const errors: FieldError[] = [];
  if (old.immutable !== true) return errors;
  if (obj.immutable !== true) errors.push({ field: 'immutable', type: 'Forbidden', detail: 'field is immutable when `immutable` is set' });
  for (const field of fields) {
    if (!jsonEqual(obj[field] ?? {}, old[field] ?? {})) errors.push({ field, type: 'Forbidden', detail: 'field is immutable when `immutable` is set' });
  }
  return errors;
}

/** Pod spec fields an update may change; in containers and initContainers, `image` too. */
const MUTABLE_POD_SPEC_FIELDS = new Set(['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds', 'schedulingGates']);
const CONTAINER_LISTS = new Set(['containers', 'initContainers']);

/**
 * Whether two Pod specs are equal but for what kube lets an update change. Compared field by
 * field without copying either spec: this runs on every Pod write.
 */
function podSpecsEqualButMutable(spec: JsonObject, old: JsonObject): boolean {
  const fields = (obj: JsonObject): string[] => Object.keys(obj).filter((key) => !MUTABLE_POD_SPEC_FIELDS.has(key) && obj[key] !== undefined);
  const keys = fields(spec);
  if (keys.length !== fields(old).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(old, key) || old[key] === undefined) return false;
    const equal = CONTAINER_LISTS.has(key) ? containersEqualButImage(spec[key], old[key]) : jsonEqual(spec[key], old[key]);
    if (!equal) return false;
  }
  return true;
}

function containersEqualButImage(list: JsonValue | undefined, old: JsonValue | undefined): boolean {
  if (!Array.isArray(list) || !Array.isArray(old)) return jsonEqual(list, old);
  if (list.length !== old.length) return false;
  return list.every((container, i) => {
    const before = old[i];
    if (!isJsonObject(container) || !isJsonObject(before)) return jsonEqual(container, before);
    const { image: _image, ...rest } = container;
    const { image: _before, ...restBefore } = before;
    return jsonEqual(rest, restBefore);
  });
}

function podSpecUpdateErrors(spec: JsonObject, old: JsonObject): FieldError[] {
  if (podSpecsEqualButMutable(spec, old)) return [];
  return [{ field: 'spec', type: 'Forbidden', detail: POD_UPDATE_FORBIDDEN }];
}

/**
 * What kube's strategies fix after every create and update (Canonicalize): a Namespace's
 * `kubernetes.io/metadata.name` label is always its name, whatever the request said, so it
 * cannot be removed or changed (and a generated name gets it too).
 */
export function canonicalize(def: ResourceDefinition, obj: JsonObject): void {
  if (def.kind !== 'Namespace') return;
  const meta = metadataOf(obj);
  const labels: JsonObject = isJsonObject(meta.labels) ? meta.labels : {};
  labels[NAMESPACE_NAME_LABEL] = stringField(meta, 'name') ?? '';
  meta.labels = labels;
}

/** The label kube sets on every namespace (LabelMetadataName). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A status write: everything but status comes from the stored object. */
export function prepareForStatusUpdate(obj: JsonObject, old: JsonObject): JsonObject {
  const next = structuredClone(old);
  if (obj.status === undefined) delete next.status;
  else next.status = obj.status;
  // The client's resourceVersion is still a precondition of the write.
  const requested = stringField(objectField(obj, 'metadata'), 'resourceVersion');
  if (requested !== undefined) metadataOf(next).resourceVersion = requested;
  return next;
}

/** True when the write changes what metadata.generation counts (spec, for kinds that track it). */
export function specChanged(obj: JsonObject, old: JsonObject): boolean {
  return !jsonEqual(obj.spec, old.spec);
}
