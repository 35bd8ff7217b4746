/**
 * A container's environment, computed as the kubelet does (kubelet_pods.go
 * makeEnvironmentVariables): `envFrom` sources first, in order, then `env` entries, in order,
 * a later definition overriding an earlier one. Literal values are `$(VAR)`-expanded against
 * what has been defined so far; values from references are not expanded. A missing
 * non-optional ConfigMap, Secret or key is an error naming it (the container then waits with
 * `CreateContainerConfigError`); an optional one is skipped.
 *
 * The runtime's own variables (PATH, HOSTNAME, EDGE_VOLUME_...) are not part of this: as with
 * the kubelet, `$(VAR)` only sees what the Pod declares.
 */
import { fieldValue } from './downward-api.js';
import { expand, mappingFor } from './expansion.js';
import type { ObjectContents, ReferencedObjects } from './referenced-objects.js';
import type { ContainerSpec, EnvValueSource, PodView } from './pod-spec.js';

export type EnvResult =
  | {
      ok: true;
      /** Name to value, in definition order. */
      env: Map<string, string>;
      /** Keys skipped because they are not valid variable names (kubelet event InvalidEnvironmentVariableNames). */
      warnings: string[];
    }
  | { ok: false; message: string };

/** The kubelet's classic IsEnvVarName rule. */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export interface EnvResolverOptions {
  objects: ReferencedObjects;
  hostIP: string;
}

class EnvError extends Error {}

export class EnvResolver {
  constructor(private readonly options: EnvResolverOptions) {}

  resolve(pod: PodView, container: ContainerSpec): EnvResult {
    try {
      return this.resolveOrThrow(pod, container);
    } catch (err) {
      if (err instanceof EnvError) return { ok: false, message: err.message };
      throw err;
    }
  }

  private resolveOrThrow(pod: PodView, container: ContainerSpec): EnvResult {
    const env = new Map<string, string>();
    const warnings: string[] = [];
    for (const source of container.envFrom) {
      const contents = this.contents(pod.namespace, source.kind, source.name);
      if (!contents) {
        if (source.optional) continue;
        throw new EnvError(`${source.kind === 'configMap' ? 'configmap' : 'secret'} "${source.name}" not found`);
      }
      const invalid: string[] = [];
      for (const [key, value] of contents.text) {
        const name = source.prefix + key;
        if (!ENV_VAR_NAME.test(name)) {
          invalid.push(name);
          continue;
        }
        env.set(name, value);
      }
      if (invalid.length > 0) {
        const kind = source.kind === 'configMap' ? 'configMap' : 'secret';
        warnings.push(
          `Keys [${invalid.sort().join(', ')}] from the EnvFrom ${kind} ${pod.namespace}/${source.name} were skipped since they are considered invalid environment variable names.`,
        );
      }
    }
    const mapping = mappingFor(env);
    for (const variable of container.env) {
      const value = this.value(pod, variable.source, mapping);
      if (value !== undefined) env.set(variable.name, value);
    }
    return { ok: true, env, warnings };
  }

  /** The value of one `env` entry, or undefined when an optional reference is missing. */
  private value(pod: PodView, source: EnvValueSource, mapping: (name: string) => string): string | undefined {
    switch (source.kind) {
      case 'value':
        return source.value === '' ? '' : expand(source.value, mapping);
      case 'configMapKey':
      case 'secretKey': {
        const kind = source.kind === 'configMapKey' ? 'configMap' : 'secret';
        const { name, key, optional } = source.ref;
        const contents = this.contents(pod.namespace, kind, name);
        if (!contents) {
          if (optional) return undefined;
          throw new EnvError(`${kind === 'configMap' ? 'configmap' : 'secret'} "${name}" not found`);
        }
        const value = contents.text.get(key);
        if (value === undefined) {
          if (optional) return undefined;
          throw new EnvError(`couldn't find key ${key} in ${kind === 'configMap' ? 'ConfigMap' : 'Secret'} ${pod.namespace}/${name}`);
        }
        return value;
      }
      case 'field': {
        const result = fieldValue({ pod, hostIP: this.options.hostIP }, source.fieldPath, 'env');
        if (!result.ok) throw new EnvError(result.message);
        return result.value;
      }
      case 'unsupported':
        throw new EnvError(`env valueFrom.${source.what} is not supported by the process runtime`);
    }
  }

  private contents(namespace: string, kind: 'configMap' | 'secret', name: string): ObjectContents | undefined {
    return kind === 'configMap' ? this.options.objects.configMap(namespace, name) : this.options.objects.secret(namespace, name);
  }
}

/** `command` + `args` with `$(VAR)` expanded against the container's declared environment. */
export function expandCommand(container: ContainerSpec, env: ReadonlyMap<string, string>): string[] {
  const mapping = mappingFor(env);
  return [...(container.command ?? []), ...container.args].map((part) => expand(part, mapping));
}
