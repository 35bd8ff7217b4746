/**
 * Typed views over the parts of a cached Pod object the process runtime reads. The Pod passed
 * kube-apiserver validation before it reached the cache, so this parses loosely: a field of the
 * wrong type is treated as absent rather than failing the whole Pod, and anything the runtime
 * cannot honour is kept as an explicit `unsupported` value so that callers can say so.
 */
import { formatKey, isJsonObject, type JsonObject, type JsonValue } from '../../protocol/index.js';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** `configMapKeyRef` / `secretKeyRef`. */
export interface KeySelector {
  name: string;
  key: string;
  optional: boolean;
}

export type EnvValueSource =
  | { kind: 'value'; value: string }
  | { kind: 'configMapKey'; ref: KeySelector }
  | { kind: 'secretKey'; ref: KeySelector }
  | { kind: 'field'; fieldPath: string }
  | { kind: 'unsupported'; what: string };

export interface EnvVarSpec {
  name: string;
  source: EnvValueSource;
}

export interface EnvFromSpec {
  kind: 'configMap' | 'secret';
  name: string;
  prefix: string;
  optional: boolean;
}

export interface VolumeMountSpec {
  name: string;
  mountPath: string;
  readOnly: boolean;
  subPath: string;
  subPathExpr: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  /** Undefined when the Pod gives none (the image's entrypoint, which a process runtime cannot know). */
  command: string[] | undefined;
  args: string[];
  workingDir: string | undefined;
  env: EnvVarSpec[];
  envFrom: EnvFromSpec[];
  volumeMounts: VolumeMountSpec[];
  /** The container object as cached: what the spec hash covers. */
  raw: JsonObject;
}

export interface KeyToPath {
  key: string;
  path: string;
  mode: number | undefined;
}

export interface DownwardItem {
  path: string;
  fieldPath: string | undefined;
  /** Set when the item uses resourceFieldRef, which the process runtime does not support. */
  resource: string | undefined;
  mode: number | undefined;
}

export type ProjectionSource =
  | { type: 'configMap'; name: string; items: KeyToPath[] | undefined; optional: boolean }
  | { type: 'secret'; name: string; items: KeyToPath[] | undefined; optional: boolean }
  | { type: 'downwardAPI'; items: DownwardItem[] }
  | { type: 'unsupported'; what: string };

export type VolumeSource =
  | { type: 'configMap'; name: string; items: KeyToPath[] | undefined; defaultMode: number | undefined; optional: boolean }
  | { type: 'secret'; name: string; items: KeyToPath[] | undefined; defaultMode: number | undefined; optional: boolean }
  | { type: 'downwardAPI'; items: DownwardItem[]; defaultMode: number | undefined }
  | { type: 'projected'; sources: ProjectionSource[]; defaultMode: number | undefined }
  | { type: 'emptyDir' }
  | { type: 'hostPath'; path: string; hostPathType: string }
  | { type: 'unsupported'; what: string };

export interface VolumeSpec {
  name: string;
  source: VolumeSource;
}

export interface PodView {
  key: string;
  name: string;
  namespace: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName: string;
  serviceAccountName: string;
  /** spec.runtimeClassName ('' when unset): which runtime runs the Pod (runtime-router.ts). */
  runtimeClassName: string;
  /** Names of the Secrets in spec.imagePullSecrets (the CRI runtime's registry credentials). */
  imagePullSecrets: string[];
  restartPolicy: RestartPolicy;
  /** spec.securityContext.fsGroup: the group that may read the Pod's volume files. */
  fsGroup: number | undefined;
  /** spec.securityContext as cached ({} when absent): security-context.ts reads it. */
  securityContext: JsonObject;
  /** Seconds; Kubernetes' default is 30. */
  terminationGracePeriodSeconds: number;
  /** spec.activeDeadlineSeconds (active-deadline.ts). */
  activeDeadlineSeconds: number | undefined;
  initContainers: ContainerSpec[];
  containers: ContainerSpec[];
  volumes: VolumeSpec[];
}

const DEFAULT_GRACE_SECONDS = 30;

function str(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function int(value: JsonValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function obj(value: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

function list(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

function objects(value: JsonValue | undefined): JsonObject[] {
  return list(value).filter(isJsonObject);
}

function strings(value: JsonValue | undefined): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

function stringMap(value: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const source = obj(value);
  if (!source) return out;
  for (const [key, item] of Object.entries(source)) if (typeof item === 'string') out[key] = item;
  return out;
}

function keySelector(value: JsonObject): KeySelector {
  return { name: str(value.name) ?? '', key: str(value.key) ?? '', optional: value.optional === true };
}

function envVar(value: JsonObject): EnvVarSpec | undefined {
  const name = str(value.name);
  if (name === undefined) return undefined;
  const from = obj(value.valueFrom);
  if (!from) return { name, source: { kind: 'value', value: str(value.value) ?? '' } };
  const configMapKeyRef = obj(from.configMapKeyRef);
  if (configMapKeyRef) return { name, source: { kind: 'configMapKey', ref: keySelector(configMapKeyRef) } };
  const secretKeyRef = obj(from.secretKeyRef);
  if (secretKeyRef) return { name, source: { kind: 'secretKey', ref: keySelector(secretKeyRef) } };
  const fieldRef = obj(from.fieldRef);
  if (fieldRef) return { name, source: { kind: 'field', fieldPath: str(fieldRef.fieldPath) ?? '' } };
  const what = Object.keys(from)[0] ?? 'valueFrom';
  return { name, source: { kind: 'unsupported', what } };
}

function envFrom(value: JsonObject): EnvFromSpec | undefined {
  const prefix = str(value.prefix) ?? '';
  const configMap = obj(value.configMapRef);
  if (configMap) return { kind: 'configMap', name: str(configMap.name) ?? '', prefix, optional: configMap.optional === true };
  const secret = obj(value.secretRef);
  if (secret) return { kind: 'secret', name: str(secret.name) ?? '', prefix, optional: secret.optional === true };
  return undefined;
}

function volumeMount(value: JsonObject): VolumeMountSpec | undefined {
  const name = str(value.name);
  const mountPath = str(value.mountPath);
  if (name === undefined || mountPath === undefined) return undefined;
  return {
    name,
    mountPath,
    readOnly: value.readOnly === true,
    subPath: str(value.subPath) ?? '',
    subPathExpr: str(value.subPathExpr) ?? '',
  };
}

function container(value: JsonObject): ContainerSpec | undefined {
  const name = str(value.name);
  if (name === undefined) return undefined;
  const command = Array.isArray(value.command) ? strings(value.command) : undefined;
  return {
    name,
    image: str(value.image) ?? '',
    command: command && command.length > 0 ? command : undefined,
    args: strings(value.args),
    workingDir: str(value.workingDir) || undefined,
    env: objects(value.env).map(envVar).filter((item): item is EnvVarSpec => item !== undefined),
    envFrom: objects(value.envFrom).map(envFrom).filter((item): item is EnvFromSpec => item !== undefined),
    volumeMounts: objects(value.volumeMounts).map(volumeMount).filter((item): item is VolumeMountSpec => item !== undefined),
    raw: value,
  };
}

function keyToPaths(value: JsonValue | undefined): KeyToPath[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return objects(value).map((item) => ({ key: str(item.key) ?? '', path: str(item.path) ?? '', mode: int(item.mode) }));
}

function downwardItems(value: JsonValue | undefined): DownwardItem[] {
  return objects(value).map((item) => ({
    path: str(item.path) ?? '',
    fieldPath: str(obj(item.fieldRef)?.fieldPath),
    resource: str(obj(item.resourceFieldRef)?.resource),
    mode: int(item.mode),
  }));
}

function projection(value: JsonObject): ProjectionSource {
  const configMap = obj(value.configMap);
  if (configMap) return { type: 'configMap', name: str(configMap.name) ?? '', items: keyToPaths(configMap.items), optional: configMap.optional === true };
  const secret = obj(value.secret);
  if (secret) return { type: 'secret', name: str(secret.name) ?? '', items: keyToPaths(secret.items), optional: secret.optional === true };
  const downward = obj(value.downwardAPI);
  if (downward) return { type: 'downwardAPI', items: downwardItems(downward.items) };
  return { type: 'unsupported', what: Object.keys(value)[0] ?? 'unknown' };
}

/** The volume source types Kubernetes has; the first one present in the volume is its type. */
function volumeSource(value: JsonObject): VolumeSource {
  const configMap = obj(value.configMap);
  if (configMap) {
    return {
      type: 'configMap',
      name: str(configMap.name) ?? '',
      items: keyToPaths(configMap.items),
      defaultMode: int(configMap.defaultMode),
      optional: configMap.optional === true,
    };
  }
  const secret = obj(value.secret);
  if (secret) {
    return {
      type: 'secret',
      name: str(secret.secretName) ?? '',
      items: keyToPaths(secret.items),
      defaultMode: int(secret.defaultMode),
      optional: secret.optional === true,
    };
  }
  const downward = obj(value.downwardAPI);
  if (downward) return { type: 'downwardAPI', items: downwardItems(downward.items), defaultMode: int(downward.defaultMode) };
  const projected = obj(value.projected);
  if (projected) return { type: 'projected', sources: objects(projected.sources).map(projection), defaultMode: int(projected.defaultMode) };
  if (obj(value.emptyDir)) return { type: 'emptyDir' };
  const hostPath = obj(value.hostPath);
  if (hostPath) return { type: 'hostPath', path: str(hostPath.path) ?? '', hostPathType: str(hostPath.type) ?? '' };
  const what = Object.keys(value).find((key) => key !== 'name') ?? 'unknown';
  return { type: 'unsupported', what };
}

function restartPolicy(value: JsonValue | undefined): RestartPolicy {
  return value === 'OnFailure' || value === 'Never' ? value : 'Always';
}

/** Parses a cached Pod. Throws only when it has no name, which no valid Pod lacks. */
export function parsePod(pod: JsonObject): PodView {
  const metadata = obj(pod.metadata) ?? {};
  const spec = obj(pod.spec) ?? {};
  const name = str(metadata.name);
  if (!name) throw new Error('Pod object has no metadata.name');
  const namespace = str(metadata.namespace) ?? '';
  const grace = int(spec.terminationGracePeriodSeconds);
  return {
    key: formatKey('Pod', namespace, name),
    name,
    namespace,
    uid: str(metadata.uid) ?? '',
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
    nodeName: str(spec.nodeName) ?? '',
    serviceAccountName: str(spec.serviceAccountName) ?? '',
    runtimeClassName: str(spec.runtimeClassName) ?? '',
    imagePullSecrets: objects(spec.imagePullSecrets)
      .map((ref) => str(ref.name) ?? '')
      .filter((name) => name !== ''),
    restartPolicy: restartPolicy(spec.restartPolicy),
    activeDeadlineSeconds: (int(spec.activeDeadlineSeconds) ?? 0) > 0 ? int(spec.activeDeadlineSeconds) : undefined,
    fsGroup: int(obj(spec.securityContext)?.fsGroup),
    securityContext: obj(spec.securityContext) ?? {},
    terminationGracePeriodSeconds: grace !== undefined && grace >= 0 ? grace : DEFAULT_GRACE_SECONDS,
    initContainers: objects(spec.initContainers).map(container).filter((item): item is ContainerSpec => item !== undefined),
    containers: objects(spec.containers).map(container).filter((item): item is ContainerSpec => item !== undefined),
    volumes: objects(spec.volumes)
      .map((volume) => ({ name: str(volume.name) ?? '', source: volumeSource(volume) }))
      .filter((volume) => volume.name !== ''),
  };
}
