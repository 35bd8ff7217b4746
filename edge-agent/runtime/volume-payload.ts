/**
 * The files a ConfigMap, Secret, downward API or projected volume holds, computed as the
 * kubelet's MakePayload functions do: without `items` every key becomes a file named after it;
 * with `items` only the listed keys, at their `path`, a missing key being an error unless the
 * source is optional. Modes: an item's `mode`, else the volume's `defaultMode`, else 0644.
 * Writing the files is the AtomicWriter's job; this only decides what they are.
 */
import { configKeyError, volumeItemPathError } from '../../protocol/index.js';
import { fieldValue } from './downward-api.js';
import type { ObjectContents, ReferencedObjects } from './referenced-objects.js';
import type { DownwardItem, KeyToPath, PodView, ProjectionSource, VolumeSource } from './pod-spec.js';

export const DEFAULT_VOLUME_MODE = 0o644;

export interface FileProjection {
  data: Buffer;
  mode: number;
}

/** Relative path (may contain `/`) to contents. */
export type Payload = Map<string, FileProjection>;

export type PayloadResult = { ok: true; payload: Payload } | { ok: false; message: string };

export interface VolumePayloadsOptions {
  objects: ReferencedObjects;
  hostIP: string;
}

class PayloadError extends Error {}

type Projectable = Extract<VolumeSource, { type: 'configMap' | 'secret' | 'downwardAPI' | 'projected' }>;

export function isProjectable(source: VolumeSource): source is Projectable {
  return source.type === 'configMap' || source.type === 'secret' || source.type === 'downwardAPI' || source.type === 'projected';
}

export class VolumePayloads {
  constructor(private readonly options: VolumePayloadsOptions) {}

  build(pod: PodView, source: Projectable): PayloadResult {
    try {
      const payload: Payload = new Map();
      const defaultMode = source.defaultMode ?? DEFAULT_VOLUME_MODE;
      if (source.type === 'projected') {
        for (const projection of source.sources) this.project(pod, projection, defaultMode, payload);
      } else {
        this.project(pod, source, defaultMode, payload);
      }
      for (const path of payload.keys()) checkPath(path);
      return { ok: true, payload };
    } catch (err) {
      if (err instanceof PayloadError) return { ok: false, message: err.message };
      throw err;
    }
  }

  private project(pod: PodView, source: ProjectionSource | Projectable, defaultMode: number, payload: Payload): void {
    switch (source.type) {
      case 'configMap':
      case 'secret': {
        const contents = source.type === 'configMap' ? this.options.objects.configMap(pod.namespace, source.name) : this.options.objects.secret(pod.namespace, source.name);
        if (!contents) {
          if (source.optional) return;
          throw new PayloadError(`${source.type === 'configMap' ? 'configmap' : 'secret'} "${source.name}" not found`);
        }
        keysToFiles(contents, source.items, defaultMode, source.optional, source.type, source.name, payload);
        return;
      }
      case 'downwardAPI':
        for (const item of source.items) payload.set(item.path, this.downward(pod, item, defaultMode));
        return;
      case 'projected':
        return;
      case 'unsupported':
        throw new PayloadError(`projected volume source ${source.what} is not supported by the process runtime`);
    }
  }

  private downward(pod: PodView, item: DownwardItem, defaultMode: number): FileProjection {
    if (item.fieldPath === undefined) {
      throw new PayloadError(`downwardAPI item ${item.path}: ${item.resource ? 'resourceFieldRef is' : 'only fieldRef is'} not supported by the process runtime`);
    }
    const result = fieldValue({ pod, hostIP: this.options.hostIP }, item.fieldPath, 'volume');
    if (!result.ok) throw new PayloadError(`downwardAPI item ${item.path}: ${result.message}`);
    return { data: Buffer.from(result.value, 'utf8'), mode: item.mode ?? defaultMode };
  }
}

function keysToFiles(contents: ObjectContents, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean, type: 'configMap' | 'secret', name: string, payload: Payload): void {
  if (items === undefined || items.length === 0) {
    for (const [key, data] of contents.files) {
      // Each key becomes a file name: the object is refused as a whole (the volume is not
      // written) rather than written without the keys the agent cannot accept.
      const why = configKeyError(key);
      if (why !== undefined) throw new PayloadError(`${type === 'configMap' ? 'configmap' : 'secret'} "${name}" has an invalid key ${JSON.stringify(key.slice(0, 80))}: ${why}`);
      payload.set(key, { data, mode: defaultMode });
    }
    return;
  }
  for (const item of items) {
    const data = contents.files.get(item.key);
    if (data === undefined) {
      if (optional) continue;
      throw new PayloadError(`${type === 'configMap' ? 'configmap' : 'secret'} references non-existent ${type === 'configMap' ? 'config' : 'secret'} key: ${item.key}`);
    }
    payload.set(item.path, { data, mode: item.mode ?? defaultMode });
  }
}

/** kube-apiserver validates item paths; checked again because they become file names on the host. */
function checkPath(path: string): void {
  const why = volumeItemPathError(path);
  if (why !== undefined) throw new PayloadError(`invalid volume file path ${JSON.stringify(path.slice(0, 80))}: ${why}`);
}
