/**
 * The environment a container process gets: a small base (PATH, HOME, HOSTNAME = Pod name),
 * the runtime's pointers to the container's volumes, then the Pod's declared variables, which
 * override anything before them. Nothing else of the agent's environment leaks in (tokens,
 * proxies, NODE_OPTIONS...).
 *
 * EDGE_VOLUME_<NAME> (volume name upper-cased, other characters as `_`) is where the container
 * finds the mount of volume <name>: its mountPath inside a bwrap sandbox, the host directory
 * (data dir, subPath applied) without one. EDGE_ROOT is the directory in which every mountPath
 * exists: `/` with bwrap; without, the container's root directory, which holds a symlink at
 * each mountPath (see container-root.ts) and is the default working directory.
 */
import type { PodView } from './pod-spec.js';
import type { ResolvedMount } from './volume-manager.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function volumeEnvName(volume: string): string {
  return `EDGE_VOLUME_${volume.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export interface ProcessEnvInput {
  pod: PodView;
  mounts: ResolvedMount[];
  sandboxed: boolean;
  /** The container's root directory on the host (used without a sandbox). */
  rootDir: string;
  /** The Pod's declared variables (env-resolver.ts). */
  declared: ReadonlyMap<string, string>;
  /** PATH before the Pod's env: the agent's own PATH, so tools installed for it are found. */
  path: string;
}

export function processEnv(input: ProcessEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    PATH: input.path || DEFAULT_PATH,
    HOME: input.sandboxed ? '/tmp' : input.rootDir,
    HOSTNAME: input.pod.name,
    EDGE_ROOT: input.sandboxed ? '/' : input.rootDir,
  };
  for (const mount of input.mounts) {
    const name = volumeEnvName(mount.volume);
    env[name] ??= input.sandboxed ? mount.mountPath : mount.hostPath;
  }
  for (const [name, value] of input.declared) env[name] = value;
  return env;
}
