/**
 * Materialises a Pod's volumes as directories under its Pod directory and tells each
 * container where its mounts come from. ConfigMap, Secret, downward API and projected volumes
 * are written by the AtomicWriter (and rewritten when their contents change); emptyDir is a
 * plain directory; hostPath is the host's own path. The kubelet's rules carried over: a volume
 * that was never set up blocks the Pod's containers (they wait in ContainerCreating); a
 * refresh that fails later keeps the files already there; ConfigMap, Secret, downward API and
 * projected volumes are always mounted read-only.
 */
import { existsSync, mkdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AtomicWriter } from './atomic-writer.js';
import { expand, mappingFor } from './expansion.js';
import type { PodLayout } from './pod-layout.js';
import type { ContainerSpec, PodView, VolumeSource } from './pod-spec.js';
import { isProjectable, type VolumePayloads } from './volume-payload.js';

export interface ResolvedMount {
  volume: string;
  /** What the container sees at `mountPath`: the volume's directory (or hostPath) joined with the subPath. */
  hostPath: string;
  mountPath: string;
  readOnly: boolean;
}

export interface VolumeSyncResult {
  /** Why the Pod's containers cannot start yet: a volume that has never been set up failed. */
  blocking: string | undefined;
  /** Refresh failures of volumes that keep their previous files (one FailedMount event each). */
  warnings: string[];
  /** Volumes whose files changed. */
  updated: string[];
}

export type MountsResult = { ok: true; mounts: ResolvedMount[] } | { ok: false; message: string };

export interface VolumeManagerOptions {
  payloads: VolumePayloads;
  writer: AtomicWriter;
}

export class VolumeManager {
  constructor(private readonly options: VolumeManagerOptions) {}

  sync(pod: PodView, layout: PodLayout): VolumeSyncResult {
    const result: VolumeSyncResult = { blocking: undefined, warnings: [], updated: [] };
    for (const volume of pod.volumes) {
      const dir = layout.volumeDir(volume.name);
      const error = this.syncOne(pod, volume.source, dir, result, volume.name);
      if (error === undefined) continue;
      const message = `MountVolume.SetUp failed for volume "${volume.name}" : ${error}`;
      if (isSetUp(volume.source, dir)) result.warnings.push(message);
      else result.blocking ??= message;
    }
    return result;
  }

  /** Where each of the container's mounts comes from; `env` expands subPathExpr. */
  mounts(pod: PodView, container: ContainerSpec, layout: PodLayout, env: ReadonlyMap<string, string>): MountsResult {
    const mounts: ResolvedMount[] = [];
    for (const mount of container.volumeMounts) {
      const volume = pod.volumes.find((candidate) => candidate.name === mount.name);
      if (!volume) return { ok: false, message: `volumeMount ${mount.name}: no volume of that name in the Pod` };
      if (volume.source.type === 'unsupported') return { ok: false, message: `volume "${volume.name}": ${volume.source.what} volumes are not supported by the process runtime` };
      const base = volume.source.type === 'hostPath' ? volume.source.path : layout.volumeDir(volume.name);
      const subPath = mount.subPathExpr ? expand(mount.subPathExpr, mappingFor(env)) : mount.subPath;
      if (subPath && (path.isAbsolute(subPath) || subPath.split('/').includes('..'))) {
        return { ok: false, message: `volumeMount ${mount.name}: subPath ${JSON.stringify(subPath)} must be a relative path without ..` };
      }
      const hostPath = subPath ? path.join(base, subPath) : base;
      // The kubelet creates a missing subPath directory in writable volumes.
      if (subPath && volume.source.type === 'emptyDir') mkdirSync(hostPath, { recursive: true });
      mounts.push({
        volume: volume.name,
        hostPath,
        mountPath: mount.mountPath,
        readOnly: isProjectable(volume.source) || mount.readOnly,
      });
    }
    return { ok: true, mounts };
  }

  /** Sets one volume up; returns the error, if any. */
  private syncOne(pod: PodView, source: VolumeSource, dir: string, result: VolumeSyncResult, name: string): string | undefined {
    if (isProjectable(source)) {
      const payload = this.options.payloads.build(pod, source);
      if (!payload.ok) return payload.message;
      if (this.options.writer.write(dir, payload.payload)) result.updated.push(name);
      return undefined;
    }
    switch (source.type) {
      case 'emptyDir':
        mkdirSync(dir, { recursive: true });
        return undefined;
      case 'hostPath':
        return prepareHostPath(source.path, source.hostPathType);
      case 'unsupported':
        return `${source.what} volumes are not supported by the process runtime`;
    }
  }
}

/** Whether the volume has been set up before (its files exist), so a failed refresh keeps them. */
function isSetUp(source: VolumeSource, dir: string): boolean {
  if (!isProjectable(source)) return false;
  try {
    readlinkSync(path.join(dir, '..data'));
    return true;
  } catch {
    return false;
  }
}

/** The kubelet's hostPath type checks, and creation for the *OrCreate types. */
function prepareHostPath(hostPath: string, type: string): string | undefined {
  if (!path.isAbsolute(hostPath)) return `hostPath ${JSON.stringify(hostPath)} is not absolute`;
  try {
    switch (type) {
      case '':
        return undefined;
      case 'DirectoryOrCreate':
        mkdirSync(hostPath, { recursive: true, mode: 0o755 });
        return undefined;
      case 'FileOrCreate':
        if (!existsSync(hostPath)) writeFileSync(hostPath, '', { mode: 0o644 });
        return undefined;
      default: {
        const stat = statSync(hostPath);
        const ok =
          (type === 'Directory' && stat.isDirectory()) ||
          (type === 'File' && stat.isFile()) ||
          (type === 'Socket' && stat.isSocket()) ||
          (type === 'CharDevice' && stat.isCharacterDevice()) ||
          (type === 'BlockDevice' && stat.isBlockDevice());
        return ok ? undefined : `hostPath type check failed: ${hostPath} is not a ${type}`;
      }
    }
  } catch (err) {
    return `hostPath ${hostPath}: ${(err as Error).message}`;
  }
}
