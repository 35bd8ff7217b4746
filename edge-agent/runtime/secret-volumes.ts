/**
 * Where Secret volumes live: never under the data directory (a disk), always on a memory
 * filesystem (tmpfs or ramfs), so Secret values never rest on disk in plain text while the
 * cache keeps them encrypted. The layout:
 *
 *   <secrets dir>/                      the root (--secrets-dir): shared, never chmod'ed by us
 *     <scope>/                          0700, one per data directory (hash of its path), so
 *                                       several agents or test runtimes can share one root
 *       <ns>_<name>_<uid>/<volume>/     0700; the AtomicWriter layout; files 0400 (0440, +x kept)
 *
 * Removed with the Pod, and at start for Pods the runtime no longer has. A directory that is
 * not on a memory filesystem, not ours, or open to others is refused with the reason, and the
 * Pods with Secret volumes wait in ContainerCreating with that reason (FailedMount).
 */
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, lstatSync, mkdirSync, readdirSync, rmdirSync, rmSync, statfsSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { safeJoin } from './safe-path.js';

/** statfs(2) f_type values of the memory filesystems (linux/magic.h). */
export const TMPFS_MAGIC = 0x01021994;
export const RAMFS_MAGIC = 0x858458f6;

const KNOWN_FILESYSTEMS: Record<number, string> = {
  [TMPFS_MAGIC]: 'tmpfs',
  [RAMFS_MAGIC]: 'ramfs',
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x4d44: 'vfat',
  0x6969: 'nfs',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
};

/** Why `dir` (or its nearest existing ancestor, where it would be created) is not on a memory filesystem; undefined when it is. */
export function notOnMemoryFilesystem(dir: string): string | undefined {
  const existing = nearestExisting(dir);
  let type: number;
  try {
    type = statfsSync(existing).type;
  } catch (err) {
    return `cannot check the filesystem of ${existing}: ${(err as Error).message}`;
  }
  // statfs reports f_type as a signed long on some platforms: compare as unsigned 32 bits.
  const magic = type >>> 0;
  if (magic === TMPFS_MAGIC || magic === RAMFS_MAGIC) return undefined;
  const name = KNOWN_FILESYSTEMS[magic] ?? 'non-memory';
  return `${existing} is on a ${name} filesystem (statfs type 0x${magic.toString(16)}), not tmpfs or ramfs: Secret files there would rest on disk`;
}

function nearestExisting(dir: string): string {
  let current = path.resolve(dir);
  for (;;) {
    try {
      lstatSync(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

function writableAncestor(dir: string): boolean {
  try {
    accessSync(nearestExisting(dir), constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface SecretsDirChoice {
  dir: string;
  /** Why this directory cannot hold Secrets, when no candidate could. */
  problem?: string;
}

/**
 * The default secrets directory: `$RUNTIME_DIRECTORY/secrets` (systemd's RuntimeDirectory=,
 * on /run), else `/run/edge-agent/secrets`, else `/dev/shm/edge-agent-<uid>`: the first one
 * on a memory filesystem that this user can create or use. When none is, the first candidate,
 * with the reason it cannot hold Secrets.
 */
export function chooseSecretsDir(env: NodeJS.ProcessEnv = process.env, uid = process.geteuid?.() ?? 0): SecretsDirChoice {
  const candidates: string[] = [];
  const runtimeDirectory = env.RUNTIME_DIRECTORY?.split(':').find((dir) => path.isAbsolute(dir));
  if (runtimeDirectory) candidates.push(path.join(runtimeDirectory, 'secrets'));
  candidates.push('/run/edge-agent/secrets', `/dev/shm/edge-agent-${uid}`);
  for (const dir of candidates) {
    if (notOnMemoryFilesystem(dir) === undefined && writableAncestor(dir)) return { dir };
  }
  const first = candidates[0] as string;
  return { dir: first, problem: notOnMemoryFilesystem(first) ?? `${first} cannot be created by uid ${uid}` };
}

export interface SecretVolumesOptions {
  /** The root (--secrets-dir). */
  root: string;
  /** The agent's data directory: its path names this runtime's scope under the root. */
  dataDir: string;
  logger: Logger;
}

export class SecretVolumes {
  readonly root: string;
  /** `<root>/<scope>`: this runtime's directory; Pod directories go below it. */
  readonly dir: string;
  private prepared = false;
  private rootPrepared = false;

  constructor(private readonly options: SecretVolumesOptions) {
    this.root = path.resolve(options.root);
    const scope = createHash('sha256').update(path.resolve(options.dataDir)).digest('hex').slice(0, 16);
    this.dir = safeJoin(this.root, scope);
  }

  /**
   * Creates the root (when it is on a memory filesystem) and checks it; returns why it cannot
   * hold Secrets. Done at start, before any container: a sandbox hides the root only if it
   * exists when the sandbox is set up, and the host's /run is visible in sandboxes live.
   */
  prepareRoot(): string | undefined {
    const notMemory = notOnMemoryFilesystem(this.root);
    if (notMemory) return notMemory;
    if (this.rootPrepared) return undefined;
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
      const rootProblem = unsafeDirectory(this.root, lstatSync(this.root), false);
      if (rootProblem) return rootProblem;
    } catch (err) {
      return `cannot prepare ${this.root}: ${(err as Error).message}`;
    }
    this.rootPrepared = true;
    return undefined;
  }

  /**
   * Why Secret volumes cannot be written now (undefined: they can), creating this runtime's
   * directory when needed. Checked before every Secret volume is written: a directory that is
   * fine at start but later is not (tmpfs unmounted) is caught, and one that was not and now
   * is (tmpfs mounted) starts working.
   */
  problem(): string | undefined {
    if (this.prepared && lstatOrUndefined(this.dir) === undefined) this.prepared = false; // removed when its last Pod went
    const notMemory = notOnMemoryFilesystem(this.prepared ? this.dir : this.root);
    if (notMemory) return notMemory;
    if (this.prepared) return undefined;
    const rootProblem = this.prepareRoot();
    if (rootProblem) return rootProblem;
    try {
      mkdirSync(this.dir, { mode: 0o700, recursive: true });
      const scopeProblem = unsafeDirectory(this.dir, lstatSync(this.dir), true);
      if (scopeProblem) return scopeProblem;
      chmodSync(this.dir, 0o700);
    } catch (err) {
      return `cannot prepare ${this.dir}: ${(err as Error).message}`;
    }
    this.prepared = true;
    return notOnMemoryFilesystem(this.dir);
  }

  /** The directory of one Pod's Secret volumes (`podDirName` as in pod-layout.ts). */
  podDir(podDirName: string): string {
    return safeJoin(this.dir, podDirName);
  }

  /** Removes one Pod's Secret volumes (and this runtime's directory once it is empty). */
  removePod(podDirName: string): void {
    rmSync(this.podDir(podDirName), { recursive: true, force: true });
    this.removeIfEmpty();
  }

  private removeIfEmpty(): void {
    try {
      rmdirSync(this.dir);
      this.prepared = false;
    } catch {
      // not empty, or not there
    }
  }

  /** Removes the Secret volumes of every Pod not in `keep` (Pods deleted while no agent ran). */
  sweep(keep: ReadonlySet<string>): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const entry of entries) {
      if (keep.has(entry)) continue;
      try {
        rmSync(this.podDir(entry), { recursive: true, force: true });
        removed.push(entry);
      } catch (err) {
        this.options.logger.warn({ dir: entry, err: (err as Error).message }, 'could not remove the Secret volumes of a Pod that is gone');
      }
    }
    if (removed.length > 0) this.options.logger.info({ pods: removed }, 'removed the Secret volumes of Pods that are gone');
    this.removeIfEmpty();
    return removed;
  }
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Why `dir` must not hold Secrets: not a real directory (a symlink someone planted), owned by
 * another user, or (for the root) writable by others without the sticky bit, which would let
 * them swap our directory for their own.
 */
function unsafeDirectory(dir: string, stat: Stats, ours: boolean): string | undefined {
  const uid = process.geteuid?.();
  if (stat.isSymbolicLink()) return `${dir} is a symbolic link; refusing to keep Secrets behind it`;
  if (!stat.isDirectory()) return `${dir} is not a directory`;
  if (uid !== undefined && stat.uid !== uid && (ours || stat.uid !== 0)) return `${dir} is owned by uid ${stat.uid}, not by this agent (uid ${uid})`;
  if (!ours && (stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) {
    return `${dir} is writable by others (mode ${(stat.mode & 0o7777).toString(8)}) without the sticky bit`;
  }
  return undefined;
}
