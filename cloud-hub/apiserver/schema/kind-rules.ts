/**
 * kube-apiserver's validation of the served kinds beyond object metadata (validation.ts):
 * enumerated values, port ranges, volume names and paths, ConfigMap/Secret sizes and Secret
 * types, Lease durations, an Event's involved object. Each rule is kube's
 * (pkg/apis/core/validation, pkg/apis/coordination/validation) with its message, so kubectl
 * prints the same text against either server.
 */
import { dns1123LabelError, isJsonObject, type JsonObject, type JsonValue } from '../../../protocol/index.js';
import { arrayField, objectField, objectsIn, stringField, type FieldError } from '../../../protocol/kube/index.js';

/** corev1.MaxSecretSize: the limit on a ConfigMap's or a Secret's data. */
export const MAX_DATA_BYTES = 1024 * 1024;

const LABEL_HINT = "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

function supported(errors: FieldError[], field: string, value: JsonValue | undefined, allowed: string[]): void {
  if (value === undefined || value === null || (typeof value === 'string' && allowed.includes(value))) return;
  errors.push({ field, type: 'Unsupported value', value, detail: `supported values: ${allowed.map((v) => JSON.stringify(v)).join(', ')}` });
}

function labelName(errors: FieldError[], field: string, name: string): void {
  const why = dns1123LabelError(name);
  if (why !== undefined) errors.push({ field, type: 'Invalid value', value: name, detail: why.startsWith('must consist') ? `a lowercase RFC 1123 label ${why} ${LABEL_HINT}` : why });
}

/** kube's validateLocalDescendingPath: relative, no `..` element. */
function descendingPath(errors: FieldError[], field: string, path: string): void {
  if (path.startsWith('/')) errors.push({ field, type: 'Invalid value', value: path, detail: 'must be a relative path' });
  if (path.split('/').includes('..')) errors.push({ field, type: 'Invalid value', value: path, detail: "must not contain '..'" });
}

function portRange(errors: FieldError[], field: string, value: JsonValue | undefined, required: boolean): void {
  if (value === undefined || value === null) {
    if (required) errors.push({ field, type: 'Required value' });
    return;
  }
  if (typeof value === 'number' && (value < 1 || value > 65535)) errors.push({ field, type: 'Invalid value', value, detail: 'must be between 1 and 65535, inclusive' });
}

function keyToPaths(errors: FieldError[], field: string, source: JsonObject | undefined): void {
  objectsIn(arrayField(source, 'items')).forEach((item, index) => {
    const path = stringField(item, 'path') ?? '';
    if (path === '') errors.push({ field: `${field}.items[${index}].path`, type: 'Required value' });
    else descendingPath(errors, `${field}.items[${index}].path`, path);
  });
}

function volumeErrors(spec: JsonObject): { errors: FieldError[]; names: Set<string> } {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  objectsIn(arrayField(spec, 'volumes')).forEach((volume, index) => {
    const field = `spec.volumes[${index}]`;
    const name = stringField(volume, 'name') ?? '';
    if (name === '') errors.push({ field: `${field}.name`, type: 'Required value' });
    else {
      labelName(errors, `${field}.name`, name);
      if (names.has(name)) errors.push({ field: `${field}.name`, type: 'Duplicate value', value: name });
      names.add(name);
    }
    for (const kind of ['configMap', 'secret']) keyToPaths(errors, `${field}.${kind}`, objectField(volume, kind));
    objectsIn(arrayField(objectField(volume, 'downwardAPI'), 'items')).forEach((item, i) => {
      descendingPath(errors, `${field}.downwardAPI.items[${i}].path`, stringField(item, 'path') ?? '');
    });
    objectsIn(arrayField(objectField(volume, 'projected'), 'sources')).forEach((source, i) => {
      for (const kind of ['configMap', 'secret', 'downwardAPI']) keyToPaths(errors, `${field}.projected.sources[${i}].${kind}`, objectField(source, kind));
    });
    const hostPath = stringField(objectField(volume, 'hostPath'), 'path');
    if (hostPath !== undefined && hostPath.split('/').includes('..')) {
      errors.push({ field: `${field}.hostPath.path`, type: 'Invalid value', value: hostPath, detail: "must not contain '..'" });
    }
  });
  return { errors, names };
}

function containerErrors(containers: JsonObject[], path: string, volumes: Set<string>): FieldError[] {
  const errors: FieldError[] = [];
  containers.forEach((container, index) => {
    const field = `${path}[${index}]`;
    supported(errors, `${field}.imagePullPolicy`, container.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
    supported(errors, `${field}.terminationMessagePolicy`, container.terminationMessagePolicy, ['File', 'FallbackToLogsOnError']);
    objectsIn(arrayField(container, 'ports')).forEach((port, i) => {
      portRange(errors, `${field}.ports[${i}].containerPort`, port.containerPort, true);
      if (port.hostPort !== 0) portRange(errors, `${field}.ports[${i}].hostPort`, port.hostPort, false);
      supported(errors, `${field}.ports[${i}].protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']);
    });
    objectsIn(arrayField(container, 'volumeMounts')).forEach((mount, i) => {
      const name = stringField(mount, 'name') ?? '';
      if (name === '') errors.push({ field: `${field}.volumeMounts[${i}].name`, type: 'Required value' });
      else if (!volumes.has(name)) errors.push({ field: `${field}.volumeMounts[${i}].name`, type: 'Not found', value: name });
      if ((stringField(mount, 'mountPath') ?? '') === '') errors.push({ field: `${field}.volumeMounts[${i}].mountPath`, type: 'Required value' });
      const subPath = stringField(mount, 'subPath');
      if (subPath) descendingPath(errors, `${field}.volumeMounts[${i}].subPath`, subPath);
    });
  });
  return errors;
}

function podErrors(pod: JsonObject): FieldError[] {
  const spec = objectField(pod, 'spec');
  if (!spec) return [];
  const { errors, names } = volumeErrors(spec);
  supported(errors, 'spec.restartPolicy', spec.restartPolicy, ['Always', 'OnFailure', 'Never']);
  supported(errors, 'spec.dnsPolicy', spec.dnsPolicy, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']);
  if (typeof spec.terminationGracePeriodSeconds === 'number' && spec.terminationGracePeriodSeconds < 0) {
    errors.push({ field: 'spec.terminationGracePeriodSeconds', type: 'Invalid value', value: spec.terminationGracePeriodSeconds, detail: 'must be greater than or equal to 0' });
  }
  for (const list of ['containers', 'initContainers']) errors.push(...containerErrors(objectsIn(arrayField(spec, list)), `spec.${list}`, names));
  return errors;
}

function dataBytes(obj: JsonObject, fields: string[], decodeBase64: boolean): number {
  let total = 0;
  for (const field of fields) {
    const data = obj[field];
    if (!isJsonObject(data)) continue;
    for (const value of Object.values(data)) {
      if (typeof value !== 'string') continue;
      total += decodeBase64 || field === 'binaryData' ? Buffer.byteLength(value, 'base64') : Buffer.byteLength(value, 'utf8');
    }
  }
  return total;
}

const SECRET_KEYS: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
};

function secretErrors(secret: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  if (dataBytes(secret, ['data'], true) > MAX_DATA_BYTES) errors.push({ field: 'data', type: 'Too long', detail: `may not be more than ${MAX_DATA_BYTES} bytes` });
  const data = objectField(secret, 'data') ?? {};
  const type = stringField(secret, 'type') ?? 'Opaque';
  for (const key of SECRET_KEYS[type] ?? []) if (data[key] === undefined) errors.push({ field: `data[${key}]`, type: 'Required value' });
  if (type === 'kubernetes.io/basic-auth' && data.username === undefined && data.password === undefined) {
    errors.push({ field: 'data[username]', type: 'Required value' });
  }
  return errors;
}

function leaseErrors(lease: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = objectField(lease, 'spec') ?? {};
  const duration = spec.leaseDurationSeconds;
  if (typeof duration === 'number' && duration <= 0) errors.push({ field: 'spec.leaseDurationSeconds', type: 'Invalid value', value: duration, detail: 'must be greater than 0' });
  const transitions = spec.leaseTransitions;
  if (typeof transitions === 'number' && transitions < 0) errors.push({ field: 'spec.leaseTransitions', type: 'Invalid value', value: transitions, detail: 'must be greater than or equal to 0' });
  return errors;
}

/** kube's ValidateEvent for core/v1 Events (the legacy, not events.k8s.io, rules). */
function eventErrors(event: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const involved = objectField(event, 'involvedObject');
  if (!involved || Object.keys(involved).length === 0) {
    errors.push({ field: 'involvedObject', type: 'Required value' });
    return errors;
  }
  const eventNamespace = stringField(objectField(event, 'metadata'), 'namespace') ?? '';
  const involvedNamespace = stringField(involved, 'namespace') ?? '';
  // kube also refuses an empty involvedObject.namespace outside `default` for namespaced
  // objects; cluster-scoped ones (Nodes) have none, so only a mismatch is refused here.
  if (involvedNamespace !== '' && involvedNamespace !== eventNamespace) {
    errors.push({ field: 'involvedObject.namespace', type: 'Invalid value', value: involvedNamespace, detail: 'does not match event.namespace' });
  }
  supported(errors, 'type', event.type === '' ? undefined : event.type, ['Normal', 'Warning']);
  return errors;
}

/** The kind rules of `kind` on the object as it would be stored. */
export function kindRuleErrors(kind: string, obj: JsonObject): FieldError[] {
  switch (kind) {
    case 'Pod':
      return podErrors(obj);
    case 'ConfigMap':
      return dataBytes(obj, ['data', 'binaryData'], false) > MAX_DATA_BYTES ? [{ field: '[]', type: 'Too long', detail: `may not be more than ${MAX_DATA_BYTES} bytes` }] : [];
    case 'Secret':
      return secretErrors(obj);
    case 'Lease':
      return leaseErrors(obj);
    case 'Event':
      return eventErrors(obj);
    default:
      return [];
  }
}
