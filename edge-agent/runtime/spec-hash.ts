/**
 * A container's spec hash: when it changes the container is restarted, as the kubelet does
 * with its container hash. It covers the container object exactly as cached (command, args,
 * env references, mounts, image, ...), not the values those references resolve to, so a
 * ConfigMap edit never restarts a container, only a spec edit does. Keys are sorted so the
 * hash does not depend on the order a serialiser wrote them in.
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '../../protocol/index.js';

export function specHash(container: JsonValue): string {
  return createHash('sha256').update(canonicalJson(container)).digest('hex').slice(0, 16);
}

export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
