/**
 * Where a Pod's files live under the runtime's data directory. One directory per Pod
 * instance, named like the kubelet's log directories (`<namespace>_<name>_<uid>`), so a Pod
 * deleted and re-created under the same name (new uid) never shares files with its
 * predecessor. Everything the runtime knows about a Pod is under this one directory, which
 * `killPod` removes.
 *
 *   pods/<ns>_<name>_<uid>/
 *     state.json                   persisted runtime state (pod-state.ts)
 *     volumes/<volume>/            materialised volumes (AtomicWriter layout for projected kinds)
 *     containers/<container>/
 *       root/                      working directory without bwrap; each mountPath as a symlink
 *       exit.<n>                   exit code of instance n, written by the exit wrapper
 *       info.<n>                   bwrap's --info-fd output for instance n (sandbox pid)
 *     logs/<container>.log[.1..]   stdout and stderr, rotated by size
 */
import path from 'node:path';

export const PODS_DIR = 'pods';
export const STATE_FILE = 'state.json';

export class PodLayout {
  constructor(readonly dir: string) {}

  static forPod(dataDir: string, namespace: string, name: string, uid: string): PodLayout {
    return new PodLayout(path.join(dataDir, PODS_DIR, `${namespace}_${name}_${uid || 'no-uid'}`));
  }

  get stateFile(): string {
    return path.join(this.dir, STATE_FILE);
  }

  volumeDir(volume: string): string {
    return path.join(this.dir, 'volumes', volume);
  }

  containerDir(container: string): string {
    return path.join(this.dir, 'containers', container);
  }

  rootDir(container: string): string {
    return path.join(this.containerDir(container), 'root');
  }

  exitFile(container: string, instance: number): string {
    return path.join(this.containerDir(container), `exit.${instance}`);
  }

  infoFile(container: string, instance: number): string {
    return path.join(this.containerDir(container), `info.${instance}`);
  }

  logFile(container: string): string {
    return path.join(this.dir, 'logs', `${container}.log`);
  }
}
