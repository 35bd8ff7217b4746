/**
 * The filesystem a bwrap sandbox starts from: the host's, read-only, with a new /proc (for
 * the new PID namespace), a minimal /dev and a private /tmp.
 *
 * `--ro-bind / /` would be the obvious way, but then a mountPath that does not exist on the
 * host (`/etc/app-config`, `/config`) cannot be bind-mounted: bwrap has to mkdir the mount
 * point inside a read-only bind and fails with EROFS. So the root is rebuilt on bwrap's tmpfs
 * root instead: every host entry is bound read-only one by one, except the directories on the
 * way to a missing mount point, which are recreated (`--dir`) and filled the same way one level
 * down. Only those directories are expanded, so the argument list stays short (a few dozen
 * entries, plus one directory's entries per level that needs a new mount point). The caller
 * ends with `--remount-ro /` once every mount point exists, so the recreated directories are
 * read-only too.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** Host filesystem access, replaceable in tests. */
export interface HostFs {
  kind(file: string): 'dir' | 'symlink' | 'other' | undefined;
  /** Whether `file` exists, following symlinks. */
  exists(file: string): boolean;
  readdir(dir: string): string[] | undefined;
  readlink(file: string): string;
  realpath(file: string): string;
}

export const hostFs: HostFs = {
  kind(file) {
    try {
      const stat = lstatSync(file);
      return stat.isSymbolicLink() ? 'symlink' : stat.isDirectory() ? 'dir' : 'other';
    } catch {
      return undefined;
    }
  },
  exists(file) {
    try {
      statSync(file);
      return true;
    } catch {
      return false;
    }
  },
  readdir(dir) {
    try {
      return readdirSync(dir).sort();
    } catch {
      return undefined;
    }
  },
  readlink: (file) => readlinkSync(file),
  realpath: (file) => realpathSync(file),
};

/** Top-level paths the sandbox gets fresh instances of rather than the host's. */
const SPECIAL_ROOT_ENTRIES: Record<string, string[]> = {
  proc: ['--proc', '/proc'],
  dev: ['--dev', '/dev'],
  tmp: ['--perms', '1777', '--tmpfs', '/tmp'],
};

/**
 * `target` with its existing part resolved through host symlinks (`/var/run/x` -> `/run/x`),
 * so that the plan and bwrap agree on which directory a mount point is created in.
 */
export function resolveOnHost(target: string, fs: HostFs = hostFs): string {
  const normal = path.resolve('/', target);
  let existing = normal;
  const rest: string[] = [];
  while (existing !== '/' && !fs.exists(existing)) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(fs.realpath(existing), ...rest);
}

/** The bwrap arguments that build the sandbox's root so that every path in `mountPoints` can be mounted. */
export function planRoot(mountPoints: readonly string[], fs: HostFs = hostFs): string[] {
  const expanded = new Set<string>(['/']);
  for (const target of mountPoints) {
    // Walk down from / to the first missing component: its existing ancestors must be expanded.
    let dir = '/';
    for (const part of target.split('/').filter(Boolean)) {
      const next = path.join(dir, part);
      if (dir === '/' && Object.hasOwn(SPECIAL_ROOT_ENTRIES, part)) break; // tmpfs-backed: bwrap can create inside
      if (!fs.exists(next)) {
        let ancestor = dir;
        while (!expanded.has(ancestor)) {
          expanded.add(ancestor);
          ancestor = path.dirname(ancestor);
        }
        break;
      }
      dir = next;
    }
  }
  const args: string[] = [];
  const emit = (dir: string): void => {
    for (const entry of fs.readdir(dir) ?? []) {
      const full = path.join(dir, entry);
      if (dir === '/' && Object.hasOwn(SPECIAL_ROOT_ENTRIES, entry)) continue;
      const kind = fs.kind(full);
      if (kind === undefined) continue;
      if (kind === 'symlink') {
        args.push('--symlink', fs.readlink(full), full);
      } else if (kind === 'dir' && expanded.has(full) && fs.readdir(full) !== undefined) {
        args.push('--dir', full);
        emit(full);
      } else {
        args.push('--ro-bind', full, full);
      }
    }
  };
  emit('/');
  for (const special of Object.values(SPECIAL_ROOT_ENTRIES)) args.push(...special);
  return args;
}
