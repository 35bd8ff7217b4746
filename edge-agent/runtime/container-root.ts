/**
 * Without a sandbox a container sees the host's filesystem, so its volumes cannot appear at
 * their mountPaths. Instead each container gets a root directory,
 * `<pod dir>/containers/<name>/root`, holding a symlink at every mountPath
 * (`root/etc/config -> <pod dir>/volumes/config`): a command run there (it is the default
 * working directory, and $EDGE_ROOT) reaches `etc/config/key` by the relative path. The
 * directory is also the container's HOME. Symlinks are refreshed at every start.
 */
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedMount } from './volume-manager.js';

export function prepareContainerRoot(rootDir: string, mounts: readonly ResolvedMount[]): void {
  mkdirSync(rootDir, { recursive: true });
  for (const mount of mounts) {
    const relative = path.normalize(mount.mountPath).replace(/^\/+/, '');
    if (relative === '' || relative.startsWith('..')) continue;
    const link = path.join(rootDir, relative);
    mkdirSync(path.dirname(link), { recursive: true });
    try {
      if (lstatSync(link).isSymbolicLink()) rmSync(link);
      else continue; // something the container created there itself: leave it
    } catch {
      // does not exist yet
    }
    symlinkSync(mount.hostPath, link);
  }
}
