/**
 * Without a sandbox a container sees the host's filesystem, so its volumes cannot appear at
 * their mountPaths. Instead each container gets a root directory,
 * `<pod dir>/containers/<name>/root`, holding a symlink at every mountPath
 * (`root/etc/config -> <pod dir>/volumes/config`): a command run there (it is the default
 * working directory, and $EDGE_ROOT) reaches `etc/config/key` by the relative path. The
 * directory is also the container's HOME. Symlinks are refreshed at every start.
 *
 * A mountPath below another mount's symlink would be created inside that volume; that is only
 * done where the volume lies in the Pod's own directory (an emptyDir), never through a hostPath
 * or a Secret volume: each link's parent must resolve inside `podDir`.
 */
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { resolvesWithin, safeJoin } from './safe-path.js';
import type { ResolvedMount } from './volume-manager.js';

/** Returns the mountPaths that could not be linked (they would land outside the Pod's directory). */
export function prepareContainerRoot(rootDir: string, mounts: readonly ResolvedMount[], podDir: string): string[] {
  mkdirSync(rootDir, { recursive: true });
  const skipped: string[] = [];
  for (const mount of mounts) {
    const relative = path.normalize(mount.mountPath).replace(/^\/+/, '');
    if (relative === '' || relative === '.' || relative.startsWith('..')) continue;
    const link = safeJoin(rootDir, relative);
    if (!resolvesWithin(podDir, path.dirname(link))) {
      skipped.push(mount.mountPath);
      continue;
    }
    mkdirSync(path.dirname(link), { recursive: true });
    if (!resolvesWithin(podDir, path.dirname(link))) {
      skipped.push(mount.mountPath);
      continue;
    }
    try {
      if (lstatSync(link).isSymbolicLink()) rmSync(link);
      else continue; // something the container created there itself: leave it
    } catch {
      // does not exist yet
    }
    symlinkSync(mount.hostPath, link);
  }
  return skipped;
}
