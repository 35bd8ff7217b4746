/**
 * Object keys: `Kind/namespace/name`, with an empty namespace for cluster-scoped kinds
 * (`Node//edge-7`). A key is how both ends name an object in frames, caches and digests.
 */

export interface ObjectRef {
  kind: string;
  /** Empty for cluster-scoped objects. */
  namespace: string;
  name: string;
}

const KIND = /^[A-Z][A-Za-z0-9]*$/;

export function formatKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function keyOf(ref: ObjectRef): string {
  return formatKey(ref.kind, ref.namespace, ref.name);
}

/** Why `key` is not a well-formed object key, or undefined. */
export function keyError(key: string): string | undefined {
  const first = key.indexOf('/');
  const second = first < 0 ? -1 : key.indexOf('/', first + 1);
  if (first < 0 || second < 0) return 'must have the form Kind/namespace/name';
  if (key.indexOf('/', second + 1) >= 0) return 'must have exactly two slashes';
  if (!KIND.test(key.slice(0, first))) return 'kind must start with an upper case letter and be alphanumeric';
  if (second === key.length - 1) return 'name must not be empty';
  return undefined;
}

export function isKey(key: string): boolean {
  return keyError(key) === undefined;
}

export function parseKey(key: string): ObjectRef {
  const why = keyError(key);
  if (why !== undefined) throw new Error(`invalid object key ${JSON.stringify(key)}: ${why}`);
  const first = key.indexOf('/');
  const second = key.indexOf('/', first + 1);
  return { kind: key.slice(0, first), namespace: key.slice(first + 1, second), name: key.slice(second + 1) };
}

/** The key of a Kubernetes object given its kind; reads metadata.namespace and metadata.name. */
export function keyOfObject(kind: string, obj: { metadata?: { namespace?: string | undefined; name?: string | undefined } | undefined }): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${kind} object has no metadata.name`);
  return formatKey(kind, obj.metadata?.namespace ?? '', name);
}
