/**
 * Container logs in the kubelet's layout, `<root>/pods/<ns>_<pod>_<uid>/<container>/<n>.log`
 * (n: the restart count), written by the container runtime in the CRI log format; rotated by
 * size as the kubelet's container log manager does: past `maxBytes` the live file is renamed to
 * `<n>.log.<timestamp>`, the runtime is asked to reopen it (ReopenContainerLog), and only the
 * newest `files - 1` rotated files are kept.
 */
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { podDirName } from '../pod-layout.js';
import type { PodView } from '../pod-spec.js';
import { safeJoin } from '../safe-path.js';
import type { CriClient } from './cri-client.js';
import type { ContainerStatus } from './cri-types.js';

export interface CriLogsOptions {
  /** The logs' root: Pods' directories are under `<root>/pods/`. */
  root: string;
  maxBytes: number;
  /** Files kept per container instance, the live one included. */
  files: number;
  client: CriClient;
  logger: Logger;
  now: () => number;
}

export class CriLogs {
  constructor(private readonly options: CriLogsOptions) {}

  /** The sandbox's LogDirectory. */
  podDir(pod: PodView): string {
    return safeJoin(this.options.root, 'pods', podDirName(pod.namespace, pod.name, pod.uid));
  }

  async rotateIfNeeded(container: ContainerStatus): Promise<void> {
    const file = container.logPath;
    if (!file || !path.isAbsolute(file) || !file.startsWith(path.join(this.options.root, 'pods') + path.sep)) return;
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size <= this.options.maxBytes) return;
    const stamp = new Date(this.options.now()).toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*$/, '');
    let rotated = `${file}.${stamp}`;
    for (let n = 1; existsQuiet(rotated); n++) rotated = `${file}.${stamp}.${n}`;
    renameSync(file, rotated);
    try {
      await this.options.client.reopenContainerLog(container.id);
    } catch (err) {
      this.options.logger.warn({ container: container.metadata.name, err: (err as Error).message }, 'ReopenContainerLog failed after a rotation');
    }
    const base = path.basename(file);
    const dir = path.dirname(file);
    const old = readdirSync(dir)
      .filter((name) => name.startsWith(`${base}.`))
      .sort();
    for (const name of old.slice(0, Math.max(0, old.length - (this.options.files - 1)))) rmSync(path.join(dir, name), { force: true });
  }
}

function existsQuiet(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}
