/**
 * Materialises a Pod's volumes as directories under its Pod directory and tells each
 * container where its mounts come from. ConfigMap, Secret, downward API and projected volumes
 * are written by the AtomicWriter (and rewritten when their contents change); emptyDir is a
 * plain directory; hostPath is the host's own path. The kubelet's rules carried over: a volume
 * that was never set up blocks the Pod's containers (they wait in ContainerCreating); a
 * refresh that fails later keeps the files already there; ConfigMap, Secret, downward API and
 * projected volumes are always mounted read-only.
 *
 * Secret volumes, and projected volumes with a Secret source, are written to the memory
 * filesystem of `secrets` instead (secret-volumes.ts), in 0700 directories, files 0400 (0440
 * with an fsGroup; an execute bit asked for is kept): never to the data directory's disk. When
 * that directory is not usable (not tmpfs or ramfs) the volume fails with the reason.
 */
import { existsSync, mkdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { subPathError } from '../../protocol/index.js';
import type { AtomicWriter } from './atomic-writer.js';
import { expand, mappingFor } from './expansion.js';
import type { PodLayout } from './pod-layout.js';
import type { ContainerSpec, PodView, VolumeSource } from './pod-spec.js';
import { resolvesWithin, safeJoin } from './safe-path.js';
import { isProjectable, type Payload, type VolumePayloads } from './volume-payload.js';

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
  /** Where Secret volumes may be written; without it Pods with Secret volumes cannot start. */
  secrets?: { problem(): string | undefined };
}

/** Whether the volume holds Secret data: a secret volume, or a projected one with a secret source. */
export function holdsSecrets(source: VolumeSource): boolean {
  return source.type === 'secret' || (source.type === 'projected' && source.sources.some((projection) => projection.type === 'secret'));
}

/**
 * The mode of a file in a Secret volume: owner read always, owner execute when asked for; group
 * read and execute only with an fsGroup and when asked for; never write, never others. The
 * kubelet's defaultMode/mode semantics, narrowed so that Secrets are 0400 (0440).
 */
export function secretFileMode(requested: number, fsGroup: number | undefined): number {
  return 0o400 | (requested & 0o100) | (fsGroup !== undefined ? requested & 0o050 : 0);
}

export class VolumeManager {
  constructor(private readonly options: VolumeManagerOptions) {}

  sync(pod: PodView, layout: PodLayout): VolumeSyncResult {
    const result: VolumeSyncResult = { blocking: undefined, warnings: [], updated: [] };
    for (const volume of pod.volumes) {
      let dir: string;
      let error: string | undefined;
      try {
        dir = this.dirOf(layout, volume.name, volume.source);
        error = this.syncOne(pod, volume.source, dir, result, volume.name);
      } catch (err) {
        // A name that is not safe as a path (validation should have caught it) or a write that failed.
        result.blocking ??= `MountVolume.SetUp failed for volume ${JSON.stringify(volume.name.slice(0, 80))} : ${(err as Error).message}`;
        continue;
      }
      if (error === undefined) continue;
      const message = `MountVolume.SetUp failed for volume "${volume.name}" : ${error}`;
      if (isSetUp(volume.source, dir)) result.warnings.push(message);
      else result.blocking ??= message;
    }
    return result;
  }

  /** Where each of the container's mounts comes from; `env` expands subPathExpr. */
  mounts(pod: PodView, container: ContainerSpec, layout: PodLayout, env: ReadonlyMap<string, string>): MountsResult {
    try {
      return this.resolveMounts(pod, container, layout, env);
    } catch (err) {
      // An unsafe name or path (validation should have caught it), or a subPath mkdir that failed.
      return { ok: false, message: (err as Error).message };
    }
  }

  private resolveMounts(pod: PodView, container: ContainerSpec, layout: PodLayout, env: ReadonlyMap<string, string>): MountsResult {
    const mounts: ResolvedMount[] = [];
    for (const mount of container.volumeMounts) {
      const volume = pod.volumes.find((candidate) => candidate.name === mount.name);
      if (!volume) return { ok: false, message: `volumeMount ${mount.name}: no volume of that name in the Pod` };
      if (volume.source.type === 'unsupported') return { ok: false, message: `volume "${volume.name}": ${volume.source.what} volumes are not supported by the process runtime` };
      const base = volume.source.type === 'hostPath' ? path.resolve(volume.source.path) : this.dirOf(layout, volume.name, volume.source);
      const subPath = mount.subPathExpr ? expand(mount.subPathExpr, mappingFor(env)) : mount.subPath;
      const subPathProblem = subPath ? subPathError(subPath) : undefined;
      if (subPathProblem !== undefined) {
        return { ok: false, message: `volumeMount ${mount.name}: subPath ${JSON.stringify(subPath.slice(0, 80))} ${subPathProblem}` };
      }
      let hostPath = base;
      if (subPath && path.normalize(subPath) !== '.') {
        hostPath = safeJoin(base, subPath);
        // Through the volume's own symlinks (a workload can plant one in an emptyDir) a subPath
        // could still lead out: it must resolve inside the volume, before and after the kubelet's
        // mkdir of a missing subPath directory in writable volumes.
        const escapes = `volumeMount ${mount.name}: subPath ${JSON.stringify(subPath.slice(0, 80))} resolves outside the volume`;
        if (!resolvesWithin(base, hostPath)) return { ok: false, message: escapes };
        if (volume.source.type === 'emptyDir') {
          mkdirSync(hostPath, { recursive: true });
          if (!resolvesWithin(base, hostPath)) return { ok: false, message: escapes };
        }
      }
      mounts.push({
        volume: volume.name,
        hostPath,
        mountPath: mount.mountPath,
        readOnly: isProjectable(volume.source) || mount.readOnly,
      });
    }
    return { ok: true, mounts };
  }

  /** Where the volume's files live: the memory filesystem for Secrets, the Pod directory otherwise. */
  private dirOf(layout: PodLayout, name: string, source: VolumeSource): string {
    return holdsSecrets(source) ? layout.secretVolumeDir(name) : layout.volumeDir(name);
  }

  /** Sets one volume up; returns the error, if any. */
  private syncOne(pod: PodView, source: VolumeSource, dir: string, result: VolumeSyncResult, name: string): string | undefined {
    if (isProjectable(source)) {
      const secret = holdsSecrets(source);
      if (secret) {
        const problem = this.options.secrets ? this.options.secrets.problem() : 'no directory for Secret volumes is configured';
        if (problem !== undefined) return `Secret volumes are only written to a memory filesystem: ${problem}`;
      }
      const payload = this.options.payloads.build(pod, source);
      if (!payload.ok) return payload.message;
      const files = secret ? secretPayload(payload.payload, pod.fsGroup) : payload.payload;
      if (this.options.writer.write(dir, files, secret ? { dirMode: 0o700, gid: pod.fsGroup } : {})) result.updated.push(name);
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

function secretPayload(payload: Payload, fsGroup: number | undefined): Payload {
  const out: Payload = new Map();
  for (const [relative, file] of payload) out.set(relative, { data: file.data, mode: secretFileMode(file.mode, fsGroup) });
  return out;
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
