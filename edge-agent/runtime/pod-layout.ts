/**
 * Where a Pod's files live under the runtime's data directory. One directory per Pod
 * instance, named like the kubelet's log directories (`<namespace>_<name>_<uid>`), so a Pod
 * deleted and re-created under the same name (new uid) never shares files with its
 * predecessor. Everything the runtime knows about a Pod is under this one directory, which
 * `killPod` removes, except its Secret volumes, which live on a memory filesystem
 * (secret-volumes.ts) under the same directory name.
 *
 *   pods/<ns>_<name>_<uid>/
 *     state.json                   persisted runtime state (pod-state.ts)
 *     volumes/<volume>/            materialised volumes (AtomicWriter layout for projected kinds)
 *     containers/<container>/
 *       root/                      working directory without bwrap; each mountPath as a symlink
 *       exit.<n>                   exit code of instance n, written by the exit wrapper
 *       info.<n>                   bwrap's --info-fd output for instance n (sandbox pid)
 *     logs/<container>.log[.1..]   stdout and stderr, rotated by size
 *   <secrets dir>/<scope>/<ns>_<name>_<uid>/<volume>/   Secret (and projected Secret) volumes
 *
 * Every path is built from names validated here (Kubernetes' rules) and joined with
 * `safeJoin`, which refuses any result outside its root: nothing a Pod says can point a write or
 * a recursive delete elsewhere.
 */
import { rmSync } from 'node:fs';
import { containerNameError, namespaceNameError, objectNameError, uidError, volumeNameError } from '../../protocol/index.js';
import { UnsafePathError, safeJoin } from './safe-path.js';

export const PODS_DIR = 'pods';
export const STATE_FILE = 'state.json';
/** The directory name of a Pod without a uid (only hand-made Pods lack one). */
const NO_UID = 'no-uid';

function checked(what: string, value: string, rule: (value: string) => string | undefined): string {
  const why = rule(value);
  if (why !== undefined) throw new UnsafePathError(`invalid ${what} ${JSON.stringify(value.slice(0, 80))}: ${why}`);
  return value;
}

/** `<namespace>_<name>_<uid>` for valid names (none can contain '_' or '/'); throws UnsafePathError otherwise. */
export function podDirName(namespace: string, name: string, uid: string): string {
  checked('namespace', namespace, namespaceNameError);
  checked('pod name', name, objectNameError);
  if (uid !== '') checked('pod uid', uid, uidError);
  return `${namespace}_${name}_${uid || NO_UID}`;
}

export class PodLayout {
  readonly dir: string;

  /**
   * `dataDir/pods/<dirName>`; `secretsDir` is the runtime's directory for Secret volumes
   * (`SecretVolumes.dir`), when it has one.
   */
  constructor(
    dataDir: string,
    readonly dirName: string,
    private readonly secretsDir?: string,
  ) {
    this.dir = safeJoin(dataDir, PODS_DIR, dirName);
  }

  static forPod(dataDir: string, namespace: string, name: string, uid: string, secretsDir?: string): PodLayout {
    return new PodLayout(dataDir, podDirName(namespace, name, uid), secretsDir);
  }

  get stateFile(): string {
    return safeJoin(this.dir, STATE_FILE);
  }

  volumeDir(volume: string): string {
    return safeJoin(this.dir, 'volumes', checked('volume name', volume, volumeNameError));
  }

  /** The Pod's directory of Secret volumes on the memory filesystem; throws when the runtime has none. */
  get secretsPodDir(): string {
    if (this.secretsDir === undefined) throw new UnsafePathError('no directory for Secret volumes is configured');
    return safeJoin(this.secretsDir, this.dirName);
  }

  secretVolumeDir(volume: string): string {
    return safeJoin(this.secretsPodDir, checked('volume name', volume, volumeNameError));
  }

  containerDir(container: string): string {
    return safeJoin(this.dir, 'containers', checked('container name', container, containerNameError));
  }

  rootDir(container: string): string {
    return safeJoin(this.containerDir(container), 'root');
  }

  exitFile(container: string, instance: number): string {
    return safeJoin(this.containerDir(container), `exit.${instanceNumber(instance)}`);
  }

  infoFile(container: string, instance: number): string {
    return safeJoin(this.containerDir(container), `info.${instanceNumber(instance)}`);
  }

  logFile(container: string): string {
    return safeJoin(this.dir, 'logs', `${checked('container name', container, containerNameError)}.log`);
  }

  /** The log of the container's instance before the current one (a container name has no dot, so no name collides). */
  previousLogFile(container: string): string {
    return safeJoin(this.dir, 'logs', `${checked('container name', container, containerNameError)}.previous.log`);
  }

  /** Removes the Pod's directory and everything in it (not its Secret volumes: SecretVolumes owns those). */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function instanceNumber(instance: number): number {
  if (!Number.isSafeInteger(instance) || instance < 0) throw new UnsafePathError(`invalid container instance number ${String(instance)}`);
  return instance;
}
