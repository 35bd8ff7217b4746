/**
 * Admission of a Pod by the agent: every name in it that becomes part of a path (namespace,
 * name, uid, container and volume names, item keys and paths, subPaths, mountPaths) checked
 * against Kubernetes' rules (protocol/object-names.ts) before the runtime creates anything for
 * it. The API server checked the same rules, but the agent trusts nothing it is sent: the hub,
 * or anyone in the middle of a plain `ws://` link, could send anything. A Pod that fails is not
 * run; the reconciler reports it Failed with reason InvalidSpec and the message built here, in
 * the API server's words (`field: Invalid value: "x": why`).
 */
import {
  configKeyError,
  containerNameError,
  formatKey,
  isJsonObject,
  mountPathError,
  namespaceNameError,
  objectNameError,
  subPathError,
  uidError,
  volumeItemPathError,
  volumeModeError,
  volumeNameError,
  type JsonObject,
  type JsonValue,
} from '../../protocol/index.js';
import { probeProblems } from './probes/probe-spec.js';

/** Problems beyond this many are summarised: a hostile Pod must not make a huge status message. */
const MAX_PROBLEMS = 8;
const MAX_SHOWN_VALUE = 80;

export class PodValidationError extends Error {
  override readonly name = 'PodValidationError';
  constructor(readonly problems: readonly string[]) {
    super(summarise(problems));
  }
}

/** One message for a list of problems. */
export function summarise(problems: readonly string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS);
  const more = problems.length - shown.length;
  return `Pod failed validation on the node: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}

class Problems {
  readonly list: string[] = [];

  invalid(field: string, value: JsonValue | undefined, why: string | undefined): void {
    if (why === undefined) return;
    this.list.push(`${field}: Invalid value: ${show(value)}: ${why}`);
  }

  required(field: string): void {
    this.list.push(`${field}: Required value`);
  }

  duplicate(field: string, value: string): void {
    this.list.push(`${field}: Duplicate value: ${show(value)}`);
  }

  /** Checks a string field with `rule`; a value of another type is invalid too. */
  name(field: string, value: JsonValue | undefined, rule: (value: string) => string | undefined, required = true): string | undefined {
    if (value === undefined || value === null || value === '') {
      if (required) this.required(field);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.invalid(field, value, 'must be a string');
      return undefined;
    }
    this.invalid(field, value, rule(value));
    return value;
  }

  mode(field: string, value: JsonValue | undefined): void {
    if (value === undefined || value === null) return;
    this.invalid(field, value, typeof value === 'number' ? volumeModeError(value) : 'must be a number');
  }
}

function show(value: JsonValue | undefined): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > MAX_SHOWN_VALUE ? `${text.slice(0, MAX_SHOWN_VALUE)}...` : text;
}

function objectAt(value: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

function listAt(problems: Problems, field: string, value: JsonValue | undefined): JsonValue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.invalid(field, value, 'must be a list');
    return [];
  }
  return value;
}

/**
 * Why the runtime must not run `pod`: an empty list when it may. With `key`, the cache key it
 * came under must be the one its own metadata gives (`Pod/<namespace>/<name>`), so that a body
 * cannot pose as another Pod.
 */
export function podProblems(pod: JsonValue | undefined, key?: string): string[] {
  const problems = new Problems();
  const object = objectAt(pod);
  if (!object) return ['the object is not a JSON object'];
  const metadata = objectAt(object.metadata);
  if (!metadata) return ['metadata: Required value'];
  const name = problems.name('metadata.name', metadata.name, objectNameError);
  const namespace = problems.name('metadata.namespace', metadata.namespace, namespaceNameError);
  // A Pod from an API server always has a uid; one without is run under "no-uid".
  problems.name('metadata.uid', metadata.uid, uidError, false);
  if (key !== undefined && name !== undefined && namespace !== undefined && formatKey('Pod', namespace, name) !== key) {
    problems.list.push(`metadata: the object's namespace and name (${show(`${namespace}/${name}`)}) do not match the key it was sent under (${show(key)})`);
  }
  const spec = objectAt(object.spec);
  if (!spec) {
    problems.required('spec');
    return problems.list;
  }
  const volumes = checkVolumes(problems, spec.volumes);
  const containerNames = new Set<string>();
  const containers = listAt(problems, 'spec.containers', spec.containers);
  if (containers.length === 0 && !problems.list.some((problem) => problem.startsWith('spec.containers'))) problems.required('spec.containers');
  for (const [field, list] of [['spec.initContainers', listAt(problems, 'spec.initContainers', spec.initContainers)], ['spec.containers', containers]] as const) {
    list.forEach((entry, index) => {
      checkContainer(problems, `${field}[${index}]`, entry, containerNames, volumes);
      const container = objectAt(entry);
      if (container) problems.list.push(...probeProblems(container, `${field}[${index}]`, field === 'spec.initContainers', container.restartPolicy === 'Always'));
    });
  }
  const deadline = spec.activeDeadlineSeconds;
  if (deadline !== undefined && deadline !== null && !(typeof deadline === 'number' && Number.isInteger(deadline) && deadline >= 1)) {
    problems.invalid('spec.activeDeadlineSeconds', deadline, 'must be a positive integer');
  }
  return problems.list;
}

function checkContainer(problems: Problems, field: string, value: JsonValue, names: Set<string>, volumes: Set<string>): void {
  const container = objectAt(value);
  if (!container) {
    problems.invalid(field, value, 'must be an object');
    return;
  }
  const name = problems.name(`${field}.name`, container.name, containerNameError);
  if (name !== undefined) {
    if (names.has(name)) problems.duplicate(`${field}.name`, name);
    names.add(name);
  }
  listAt(problems, `${field}.volumeMounts`, container.volumeMounts).forEach((entry, index) => {
    const mountField = `${field}.volumeMounts[${index}]`;
    const mount = objectAt(entry);
    if (!mount) {
      problems.invalid(mountField, entry, 'must be an object');
      return;
    }
    problems.name(`${mountField}.name`, mount.name, volumeNameError);
    problems.name(`${mountField}.mountPath`, mount.mountPath, mountPathError);
    problems.name(`${mountField}.subPath`, mount.subPath, subPathError, false);
    if (typeof mount.name === 'string' && mount.name !== '' && !volumes.has(mount.name)) problems.list.push(`${mountField}.name: Not found: ${show(mount.name)}`);
  });
}

/** Checks the volumes; returns the names of the valid ones. */
function checkVolumes(problems: Problems, value: JsonValue | undefined): Set<string> {
  const names = new Set<string>();
  listAt(problems, 'spec.volumes', value).forEach((entry, index) => {
    const field = `spec.volumes[${index}]`;
    const volume = objectAt(entry);
    if (!volume) {
      problems.invalid(field, entry, 'must be an object');
      return;
    }
    const name = problems.name(`${field}.name`, volume.name, volumeNameError);
    if (name !== undefined) {
      if (names.has(name)) problems.duplicate(`${field}.name`, name);
      names.add(name);
    }
    const configMap = objectAt(volume.configMap);
    if (configMap) checkKeyedSource(problems, `${field}.configMap`, configMap, 'name', true);
    const secret = objectAt(volume.secret);
    if (secret) checkKeyedSource(problems, `${field}.secret`, secret, 'secretName', true);
    const downward = objectAt(volume.downwardAPI);
    if (downward) checkDownward(problems, `${field}.downwardAPI`, downward, true);
    const projected = objectAt(volume.projected);
    if (projected) {
      problems.mode(`${field}.projected.defaultMode`, projected.defaultMode);
      listAt(problems, `${field}.projected.sources`, projected.sources).forEach((sourceEntry, sourceIndex) => {
        const sourceField = `${field}.projected.sources[${sourceIndex}]`;
        const source = objectAt(sourceEntry);
        if (!source) return problems.invalid(sourceField, sourceEntry, 'must be an object');
        const projectedConfigMap = objectAt(source.configMap);
        if (projectedConfigMap) checkKeyedSource(problems, `${sourceField}.configMap`, projectedConfigMap, 'name', false);
        const projectedSecret = objectAt(source.secret);
        if (projectedSecret) checkKeyedSource(problems, `${sourceField}.secret`, projectedSecret, 'name', false);
        const projectedDownward = objectAt(source.downwardAPI);
        if (projectedDownward) checkDownward(problems, `${sourceField}.downwardAPI`, projectedDownward, false);
      });
    }
    const hostPath = objectAt(volume.hostPath);
    if (hostPath) {
      problems.name(`${field}.hostPath.path`, hostPath.path, (path) =>
        !path.startsWith('/') ? 'must be an absolute path' : path.split('/').includes('..') ? "must not contain '..'" : path.includes('\0') ? 'must not contain a NUL character' : undefined,
      );
    }
  });
  return names;
}

/** A configMap or secret volume (or projection): the object's name, items and modes. */
function checkKeyedSource(problems: Problems, field: string, source: JsonObject, nameField: string, hasDefaultMode: boolean): void {
  problems.name(`${field}.${nameField}`, source[nameField], objectNameError, false);
  if (hasDefaultMode) problems.mode(`${field}.defaultMode`, source.defaultMode);
  const paths = new Set<string>();
  listAt(problems, `${field}.items`, source.items).forEach((entry, index) => {
    const itemField = `${field}.items[${index}]`;
    const item = objectAt(entry);
    if (!item) return problems.invalid(itemField, entry, 'must be an object');
    problems.name(`${itemField}.key`, item.key, configKeyError);
    const itemPath = problems.name(`${itemField}.path`, item.path, volumeItemPathError);
    if (itemPath !== undefined) {
      if (paths.has(itemPath)) problems.duplicate(`${itemField}.path`, itemPath);
      paths.add(itemPath);
    }
    problems.mode(`${itemField}.mode`, item.mode);
  });
}

function checkDownward(problems: Problems, field: string, source: JsonObject, hasDefaultMode: boolean): void {
  if (hasDefaultMode) problems.mode(`${field}.defaultMode`, source.defaultMode);
  listAt(problems, `${field}.items`, source.items).forEach((entry, index) => {
    const itemField = `${field}.items[${index}]`;
    const item = objectAt(entry);
    if (!item) return problems.invalid(itemField, entry, 'must be an object');
    problems.name(`${itemField}.path`, item.path, volumeItemPathError);
    problems.mode(`${itemField}.mode`, item.mode);
  });
}

/** Throws `PodValidationError` unless `pod` may be run. */
export function assertValidPod(pod: JsonValue | undefined, key?: string): void {
  const problems = podProblems(pod, key);
  if (problems.length > 0) throw new PodValidationError(problems);
}
