/**
 * How a container's process is started: directly, or inside bubblewrap (`bwrap`, Debian
 * package bubblewrap). Both run the command under the exit wrapper (exit-wrapper.ts).
 *
 * With bwrap each container gets its own mount, PID and UTS namespace (hostname = Pod name):
 * the host filesystem read-only, a private /tmp, a new /proc, the agent's data directory
 * hidden, and the container's volumes bind-mounted at their real mountPaths (read-only where
 * the mount or the volume kind says so). The network is the host's (like hostNetwork). The
 * wrapper runs inside the sandbox so that it waits for the command itself: bwrap's outer
 * process dies of SIGTERM at once instead of waiting for the sandbox to exit. `--info-fd`
 * tells the runtime the host pid of the sandbox's init (the process whose life is the
 * container's, so that is the pid it tracks); `--new-session` and `--die-with-parent` are
 * deliberately not used: the first would take the command out of the process group the
 * runtime signals, the second would kill the workload when the agent restarts.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, lstatSync } from 'node:fs';
import path from 'node:path';
import { planRoot, resolveOnHost } from './bwrap-root.js';
import { INFO_FD, wrapCommand } from './exit-wrapper.js';
import type { ResolvedMount } from './volume-manager.js';

export interface LaunchRequest {
  /** The container's argv, expanded. */
  command: string[];
  /** Working directory as the container sees it. */
  cwd: string;
  mounts: ResolvedMount[];
  hostname: string;
  /** Runs first, on the host: joins the container's cgroups, then execs the rest (cgroup-driver.ts joinCommand). */
  prefix?: string[];
  /** setpriv argv ending in '--', run right before the exit wrapper (inside the sandbox). */
  privileges?: string[];
  /** securityContext.readOnlyRootFilesystem: /tmp read-only too (bwrap only). */
  readOnlyRoot?: boolean;
}

/** argv = prefix, then `file args`. */
function prefixed(prefix: readonly string[] | undefined, file: string, args: string[]): { file: string; args: string[] } {
  if (!prefix || prefix.length === 0) return { file, args };
  const [first, ...rest] = prefix;
  return { file: first ?? file, args: [...rest, file, ...args] };
}

export interface SpawnPlan {
  file: string;
  args: string[];
  /** Working directory for spawn() on the host. */
  cwd: string;
  /** bwrap writes the sandbox pid to fd INFO_FD. */
  infoFd: boolean;
}

export interface Sandbox {
  readonly kind: 'direct' | 'bwrap';
  plan(request: LaunchRequest): SpawnPlan;
}

export class DirectSandbox implements Sandbox {
  readonly kind = 'direct';

  plan(request: LaunchRequest): SpawnPlan {
    const [file, ...args] = [...(request.privileges ?? []), ...wrapCommand(request.command)];
    return { ...prefixed(request.prefix, file ?? '/bin/sh', args), cwd: request.cwd, infoFd: false };
  }
}

export class BwrapSandbox implements Sandbox {
  readonly kind = 'bwrap';

  /**
   * `hidden`: host paths the sandbox must not show: a directory (the agent's data directory,
   * the Secret volumes' directory) is covered by an empty tmpfs, a file (the hub token) by
   * /dev/null, which cannot be read there either (bwrap binds it nodev). Checked at every
   * start, so a directory created after the agent started is hidden too, and one that does not
   * exist is skipped (bwrap could not create its mount point on the read-only host).
   */
  constructor(
    private readonly bwrap: string,
    private readonly hidden: readonly string[],
  ) {}

  plan(request: LaunchRequest): SpawnPlan {
    // Parents before children, so a mount inside another mount lands on top of it.
    const mounts = request.mounts
      .map((mount) => ({ ...mount, target: resolveOnHost(mount.mountPath) }))
      .sort((a, b) => a.target.split('/').length - b.target.split('/').length);
    const args = [...planRoot(mounts.map((mount) => mount.target))];
    args.push(...hideArgs(this.hidden));
    args.push('--unshare-pid', '--unshare-uts', '--hostname', request.hostname);
    for (const mount of mounts) args.push(mount.readOnly ? '--ro-bind' : '--bind', mount.hostPath, mount.target);
    // The root tmpfs (and the directories recreated on it) becomes read-only; /tmp and writable volumes are separate mounts.
    args.push('--remount-ro', '/');
    if (request.readOnlyRoot) args.push('--remount-ro', '/tmp');
    args.push('--chdir', request.cwd, '--info-fd', String(INFO_FD), '--', ...(request.privileges ?? []), ...wrapCommand(request.command));
    return { ...prefixed(request.prefix, this.bwrap, args), cwd: '/', infoFd: true };
  }
}

/** bwrap arguments hiding each existing path: directories first, then files not inside them. */
export function hideArgs(paths: readonly string[]): string[] {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const given of paths) {
    const resolved = resolveOnHost(path.resolve(given));
    let isDir: boolean;
    try {
      isDir = lstatSync(resolved).isDirectory();
    } catch {
      continue;
    }
    (isDir ? dirs : files).push(resolved);
  }
  const inside = (file: string) => dirs.some((dir) => file.startsWith(`${dir}/`));
  const args: string[] = [];
  for (const dir of new Set(dirs)) if (!inside(dir)) args.push('--tmpfs', dir);
  for (const file of new Set(files)) if (!inside(file)) args.push('--ro-bind', '/dev/null', file);
  return args;
}

export type BwrapMode = 'auto' | 'never' | 'always';

export type BwrapProbe = { usable: true; path: string } | { usable: false; reason: string };

/** Finds bwrap on PATH and checks it can create the namespaces the runtime uses. */
export function probeBwrap(searchPath = process.env.PATH ?? '/usr/bin:/bin'): BwrapProbe {
  const found = searchPath
    .split(':')
    .filter(Boolean)
    .map((dir) => path.join(dir, 'bwrap'))
    .find((candidate) => {
      try {
        accessSync(candidate, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (!found) return { usable: false, reason: 'bwrap not found on PATH (Debian package bubblewrap)' };
  const result = spawnSync(found, ['--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--unshare-pid', '--unshare-uts', '--', 'true'], {
    timeout: 10_000,
    encoding: 'utf8',
  });
  if (result.status === 0) return { usable: true, path: found };
  const why = result.error?.message ?? (result.stderr.trim() || `exit status ${String(result.status)}`);
  return { usable: false, reason: `${found} cannot create namespaces here: ${why}` };
}
