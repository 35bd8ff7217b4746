/**
 * What a cache accepts from the hub, whoever the hub is. The hub is trusted only for what it
 * sends in well-formed frames, and a hostile hub (or anyone in the middle of a plain `ws://`
 * link) controls every byte of every object. Everything downstream (the runtime building paths
 * from namespace and name, the local API serving by key, the digest) relies on an object being
 * what its key says, so a cache refuses, op by op:
 *
 * - a key whose namespace is not a DNS-1123 label (or empty for cluster-scoped kinds) or whose
 *   name is not a valid object name: Kubernetes' own rules, so no `..`, `/` or `%` ever reaches
 *   a path;
 * - a body whose `metadata.name`, `metadata.namespace` or `kind` says something else than its
 *   key (a `put` for `Pod/a/web` carrying `Pod/kube-system/etcd`), also after a `patch`;
 * - JSON nested deeper than MAX_OBJECT_DEPTH (a patch or a body): every recursive reader, from
 *   JSON.stringify to the merge patch, would blow the stack on it.
 *
 * Sizes need no rule here: the frame limit (4 MiB) bounds every object.
 */
import { dns1123LabelError, dns1123SubdomainError, isJsonObject, parseKey, type JsonObject, type JsonValue } from '../../protocol/index.js';

/** Kubernetes objects nest ~10 levels deep; CRDs rarely 30. Far below any stack limit. */
export const MAX_OBJECT_DEPTH = 100;

/** Kinds whose names Kubernetes requires to be DNS-1123 subdomains. */
const SUBDOMAIN_NAMED = new Set(['Pod', 'ConfigMap', 'Secret', 'Node']);
const NAMESPACED = new Set(['Pod', 'ConfigMap', 'Secret']);
const CLUSTER_SCOPED = new Set(['Node']);

/** Why a value nests deeper than `limit` (objects and arrays count one level each), or undefined. */
export function depthError(value: JsonValue, limit = MAX_OBJECT_DEPTH): string | undefined {
  // Recursion stops one level past the limit, so the check itself cannot overflow the stack.
  return exceedsDepth(value, 1, limit) ? `nested deeper than ${limit} levels` : undefined;
}

function exceedsDepth(value: JsonValue, depth: number, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > limit) return true;
  if (Array.isArray(value)) {
    for (const child of value) if (exceedsDepth(child, depth + 1, limit)) return true;
    return false;
  }
  for (const name in value) if (exceedsDepth(value[name] as JsonValue, depth + 1, limit)) return true;
  return false;
}

/** Why `key` cannot name a cached object (beyond the protocol's key shape), or undefined. */
export function keyNameError(key: string): string | undefined {
  const { kind, namespace, name } = parseKey(key);
  if (namespace !== '') {
    if (CLUSTER_SCOPED.has(kind)) return `${kind} is cluster-scoped, the namespace must be empty`;
    const why = dns1123LabelError(namespace);
    if (why) return `namespace ${JSON.stringify(namespace.slice(0, 80))} ${why}`;
  } else if (NAMESPACED.has(kind)) {
    return `${kind} is namespaced, the namespace must not be empty`;
  }
  if (SUBDOMAIN_NAMED.has(kind)) {
    const why = dns1123SubdomainError(name);
    return why ? `name ${JSON.stringify(name.slice(0, 80))} ${why}` : undefined;
  }
  // Any other kind: Kubernetes' rule for every object name (path-segment safe).
  if (name.length > 253) return 'name must be no more than 253 characters';
  if (name === '.' || name === '..' || /[/%]/.test(name)) return `name ${JSON.stringify(name.slice(0, 80))} may not be '.' or '..' or contain '/' or '%'`;
  return undefined;
}

/** Why `obj` may not be stored under `key`, or undefined. */
export function objectError(key: string, obj: JsonObject): string | undefined {
  const keyWhy = keyNameError(key);
  if (keyWhy) return keyWhy;
  const { kind, namespace, name } = parseKey(key);
  const metadata = obj.metadata;
  if (!isJsonObject(metadata)) return 'the object has no metadata';
  if (metadata.name !== name) return `metadata.name ${JSON.stringify(metadata.name ?? null)} does not match the key's name ${JSON.stringify(name)}`;
  const bodyNamespace = metadata.namespace ?? '';
  if (bodyNamespace !== namespace) return `metadata.namespace ${JSON.stringify(metadata.namespace ?? null)} does not match the key's namespace ${JSON.stringify(namespace)}`;
  if (obj.kind !== undefined && obj.kind !== kind) return `kind ${JSON.stringify(obj.kind)} does not match the key's kind ${JSON.stringify(kind)}`;
  return depthError(obj);
}
