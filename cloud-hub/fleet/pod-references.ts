/**
 * The ConfigMaps and Secrets a Pod references, by the same rule as the Kubernetes
 * NodeAuthorizer (VisitPodSecretNames / VisitPodConfigmapNames): env, envFrom, volumes,
 * projected volume sources, imagePullSecrets, and the secret references of volume plugins,
 * across containers, init containers and ephemeral containers.
 */
import { formatKey, type JsonObject } from '../../protocol/index.js';

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? (value.map(obj).filter(Boolean) as Obj[]) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Volume plugins whose `secretRef.name` names a Secret in the Pod's namespace. */
const SECRET_REF_VOLUMES = ['cephfs', 'cinder', 'flexVolume', 'rbd', 'scaleIO', 'iscsi', 'storageos'];

export interface PodReferences {
  configMaps: Set<string>;
  secrets: Set<string>;
}

/** Names (not keys) of the ConfigMaps and Secrets `spec` references. */
export function podReferenceNames(spec: unknown): PodReferences {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const add = (set: Set<string>, name: unknown): void => {
    const value = str(name);
    if (value) set.add(value);
  };
  const podSpec = obj(spec) ?? {};
  for (const ref of list(podSpec.imagePullSecrets)) add(secrets, ref.name);
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const container of list(podSpec[field])) {
      for (const env of list(container.env)) {
        const from = obj(env.valueFrom);
        add(configMaps, obj(from?.configMapKeyRef)?.name);
        add(secrets, obj(from?.secretKeyRef)?.name);
      }
      for (const envFrom of list(container.envFrom)) {
        add(configMaps, obj(envFrom.configMapRef)?.name);
        add(secrets, obj(envFrom.secretRef)?.name);
      }
    }
  }
  for (const volume of list(podSpec.volumes)) {
    add(configMaps, obj(volume.configMap)?.name);
    add(secrets, obj(volume.secret)?.secretName);
    add(secrets, obj(volume.azureFile)?.secretName);
    add(secrets, obj(obj(volume.csi)?.nodePublishSecretRef)?.name);
    for (const plugin of SECRET_REF_VOLUMES) add(secrets, obj(obj(volume[plugin])?.secretRef)?.name);
    for (const source of list(obj(volume.projected)?.sources)) {
      add(configMaps, obj(source.configMap)?.name);
      add(secrets, obj(source.secret)?.name);
    }
  }
  return { configMaps, secrets };
}

/** Object keys of everything `pod` references, sorted (stable for comparisons). */
export function podReferenceKeys(pod: JsonObject): string[] {
  const namespace = str(obj(pod.metadata)?.namespace) ?? 'default';
  const { configMaps, secrets } = podReferenceNames(pod.spec);
  const keys: string[] = [];
  for (const name of configMaps) keys.push(formatKey('ConfigMap', namespace, name));
  for (const name of secrets) keys.push(formatKey('Secret', namespace, name));
  // An exact-size copy: the pushed-to array's spare capacity stays with every Pod the hub holds.
  return keys.sort().slice();
}
