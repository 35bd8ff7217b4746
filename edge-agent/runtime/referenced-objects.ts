/**
 * The ConfigMaps and Secrets a Pod references (env, envFrom, volumes), with their contents as
 * the runtime needs them, looked up in the agent's cache. One place decodes Secret `data`
 * (base64 in the object, as on the wire) and ConfigMap `binaryData`, so env and volumes cannot
 * disagree about what a key holds.
 */
import { formatKey, isJsonObject, type JsonObject } from '../../protocol/index.js';
import type { ObjectLookup } from './runtime.js';

export interface ObjectContents {
  /** Every key with its bytes: ConfigMap `data` (UTF-8) and `binaryData`, or decoded Secret `data`. */
  files: Map<string, Buffer>;
  /** ConfigMap `data` only (env reads text keys only, as the kubelet does); for Secrets, all keys as UTF-8. */
  text: Map<string, string>;
}

export class ReferencedObjects {
  constructor(private readonly lookup: ObjectLookup) {}

  configMap(namespace: string, name: string): ObjectContents | undefined {
    const object = this.lookup.get(formatKey('ConfigMap', namespace, name));
    if (!object) return undefined;
    const files = new Map<string, Buffer>();
    const text = new Map<string, string>();
    for (const [key, value] of entries(object.data)) {
      if (typeof value !== 'string') continue;
      files.set(key, Buffer.from(value, 'utf8'));
      text.set(key, value);
    }
    for (const [key, value] of entries(object.binaryData)) {
      if (typeof value === 'string' && !files.has(key)) files.set(key, Buffer.from(value, 'base64'));
    }
    return { files, text };
  }

  secret(namespace: string, name: string): ObjectContents | undefined {
    const object = this.lookup.get(formatKey('Secret', namespace, name));
    if (!object) return undefined;
    const files = new Map<string, Buffer>();
    const text = new Map<string, string>();
    for (const [key, value] of entries(object.data)) {
      if (typeof value !== 'string') continue;
      const bytes = Buffer.from(value, 'base64');
      files.set(key, bytes);
      text.set(key, bytes.toString('utf8'));
    }
    return { files, text };
  }
}

function entries(value: JsonObject[string] | undefined): [string, JsonObject[string]][] {
  return isJsonObject(value) ? Object.entries(value) : [];
}
