/**
 * Kubernetes' validation rules for the names inside objects that a receiver turns into file
 * names: namespaces, Pod names and uids, container and volume names, ConfigMap and Secret keys,
 * and the relative paths of volume items. The API server enforces them before an object is
 * stored, but a receiver of objects over a network (an edge agent fed by a hub, or by whoever
 * sits on a plain `ws://` link) must check them again before any of them touches a filesystem.
 * Each function returns why the value is not valid, or undefined when it is; the messages are
 * the API server's where it has one.
 */
import { DNS1123_SUBDOMAIN_MAX, dns1123LabelError, dns1123SubdomainError } from './names.js';

/** A namespace is a DNS-1123 label (validation.ValidateNamespaceName). */
export function namespaceNameError(name: string): string | undefined {
  return dns1123LabelError(name);
}

/** A Pod, ConfigMap or Secret name is a DNS-1123 subdomain (ValidateObjectMeta with NameIsDNSSubdomain). */
export function objectNameError(name: string): string | undefined {
  return dns1123SubdomainError(name);
}

/** Container, init container and volume names are DNS-1123 labels. */
export function containerNameError(name: string): string | undefined {
  return dns1123LabelError(name);
}

export const volumeNameError = containerNameError;

const UID = /^[A-Za-z0-9][-._A-Za-z0-9]*$/;
export const UID_MAX = 128;

/**
 * The API server generates uids (RFC 4122 UUIDs); a receiver only needs them to be safe as one
 * path component: ASCII letters, digits, '-', '.' and '_', starting with a letter or digit (so
 * never '.' or '..'), at most 128 characters.
 */
export function uidError(uid: string): string | undefined {
  if (uid.length === 0) return 'must not be empty';
  if (uid.length > UID_MAX) return `must be no more than ${UID_MAX} characters`;
  if (!UID.test(uid)) return "must consist of ASCII letters, digits, '-', '.' or '_', and must start with a letter or digit";
  return undefined;
}

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** A ConfigMap or Secret data key (validation.IsConfigMapKey): it becomes a file name in a volume. */
export function configKeyError(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  if (key.length > DNS1123_SUBDOMAIN_MAX) return `must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`;
  if (!CONFIG_KEY.test(key)) return "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
  if (key === '.') return "must not be '.'";
  if (key === '..') return "must not be '..'";
  if (key.startsWith('..')) return "must not start with '..'";
  return undefined;
}

export const VOLUME_PATH_MAX = 4096;

/**
 * The `path` of a ConfigMap, Secret, downward API or projected volume item (validateKeyToPath,
 * validateLocalDescendingPath): relative, no '..' element, not starting with '..' (the atomic
 * writer's own names start with '..'); also no empty or '.' element and no NUL, so that one
 * path names one file.
 */
export function volumeItemPathError(itemPath: string): string | undefined {
  if (itemPath.length === 0) return 'must not be empty';
  if (itemPath.length > VOLUME_PATH_MAX) return `must be no more than ${VOLUME_PATH_MAX} characters`;
  if (itemPath.includes('\0')) return 'must not contain a NUL character';
  if (itemPath.startsWith('/')) return 'must be a relative path';
  if (itemPath.startsWith('..')) return "must not start with '..'";
  const parts = itemPath.split('/');
  if (parts.includes('..')) return "must not contain '..'";
  if (parts.some((part) => part === '' || part === '.')) return "must not contain empty or '.' elements";
  return undefined;
}

/** A volumeMount's `subPath` (validateLocalDescendingPath): relative and without '..' elements. Empty means none. */
export function subPathError(subPath: string): string | undefined {
  if (subPath.length > VOLUME_PATH_MAX) return `must be no more than ${VOLUME_PATH_MAX} characters`;
  if (subPath.includes('\0')) return 'must not contain a NUL character';
  if (subPath.startsWith('/')) return 'must be a relative path';
  if (subPath.split('/').includes('..')) return "must not contain '..'";
  return undefined;
}

/** A volumeMount's `mountPath`: a path inside the container, without '..' elements or NUL. */
export function mountPathError(mountPath: string): string | undefined {
  if (mountPath.length === 0) return 'must not be empty';
  if (mountPath.length > VOLUME_PATH_MAX) return `must be no more than ${VOLUME_PATH_MAX} characters`;
  if (mountPath.includes('\0')) return 'must not contain a NUL character';
  if (mountPath.split('/').includes('..')) return "must not contain '..'";
  return undefined;
}

/** A file mode given in a volume (`defaultMode`, an item's `mode`): 0 to 0777 (the API server's rule). */
export function volumeModeError(mode: number): string | undefined {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) return 'must be a number between 0 and 0777 (octal), both inclusive';
  return undefined;
}
