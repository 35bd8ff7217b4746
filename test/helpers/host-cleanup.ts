/**
 * What a container runtime can leave on the host when it dies: processes (shims outlive
 * containerd by design, containers outlive a killed shim), mounts, shim sockets and cgroups.
 * Found through /proc and removed one by one by id or path, never by a process name.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runTool } from './system-tools.js';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

/** Every live (not zombie) process on the host. */
export function processTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      table.push({ pid: Number(entry), ppid: Number(fields[1]), argv });
    } catch {
      // The process exited while we looked.
    }
  }
  return table;
}

/** A containerd shim's identity, from its command line: `containerd-shim-runc-v2 -namespace NS -id ID -address SOCKET`. */
export interface Shim {
  pid: number;
  namespace: string;
  id: string;
  address: string;
}

export function shimOf(process: ProcessInfo): Shim | undefined {
  if (!path.basename(process.argv[0] ?? '').startsWith('containerd-shim')) return undefined;
  const flag = (name: string): string | undefined => {
    const at = process.argv.indexOf(name);
    return at >= 0 ? process.argv[at + 1] : undefined;
  };
  const namespace = flag('-namespace');
  const id = flag('-id');
  const address = flag('-address');
  return namespace && id && address ? { pid: process.pid, namespace, id, address } : undefined;
}

/**
 * The socket a runc v2 shim listens on, which it leaves behind when killed: containerd 1.6 puts
 * it at /run/containerd/s/<sha256 of "<containerd address>/<namespace>/<id>">.
 */
export function shimSocketPath(shim: Shim): string {
  return path.join('/run/containerd/s', createHash('sha256').update(path.join(shim.address, shim.namespace, shim.id)).digest('hex'));
}

/** `roots` and all their descendants, deepest first. */
export function withDescendants(table: readonly ProcessInfo[], roots: readonly number[]): number[] {
  const found = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found].reverse();
}

/** True while `pid` runs (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

interface CgroupMount {
  root: string;
  mountPoint: string;
  /** cgroup v1 controllers (and name=...) of the hierarchy; undefined for cgroup v2. */
  controllers?: string[];
}

function unescapeMountPath(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function mountInfo(): { root: string; mountPoint: string; fsType: string; superOptions: string }[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [before, after = ''] = line.split(' - ');
      const fields = before!.split(' ');
      const [fsType = '', , superOptions = ''] = after.split(' ');
      return { root: unescapeMountPath(fields[3] ?? ''), mountPoint: unescapeMountPath(fields[4] ?? ''), fsType, superOptions };
    });
}

function cgroupMounts(): CgroupMount[] {
  return mountInfo().flatMap((m) => {
    if (m.fsType === 'cgroup2') return [{ root: m.root, mountPoint: m.mountPoint }];
    if (m.fsType === 'cgroup') return [{ root: m.root, mountPoint: m.mountPoint, controllers: m.superOptions.split(',') }];
    return [];
  });
}

/** The cgroup directories `pid` is in, one per hierarchy mounted here (v1 and v2). */
export function cgroupDirs(pid: number | 'self'): string[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return [];
  }
  const mounts = cgroupMounts();
  const dirs: string[] = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const controllers = match[1]!;
    const cgroupPath = match[2]!;
    const wanted = controllers ? controllers.split(',') : undefined;
    const mount = mounts.find((m) => (wanted ? m.controllers !== undefined && wanted.every((c) => m.controllers!.includes(c)) : m.controllers === undefined));
    if (!mount || !(cgroupPath === mount.root || cgroupPath.startsWith(mount.root === '/' ? '/' : `${mount.root}/`))) continue;
    dirs.push(path.join(mount.mountPoint, cgroupPath.slice(mount.root === '/' ? 0 : mount.root.length)));
  }
  return dirs;
}

/**
 * Removes cgroup directories that killed containers left (runc removes them only on a clean
 * delete). rmdir of a cgroup that still has processes or children fails and is left alone; so
 * is every cgroup this process itself is in.
 */
export function removeCgroups(dirs: readonly string[]): void {
  const own = new Set(cgroupDirs('self'));
  for (const dir of [...new Set(dirs)].sort((a, b) => b.length - a.length)) {
    if (own.has(dir) || [...own].some((mine) => mine.startsWith(`${dir}/`))) continue;
    try {
      rmdirSync(dir);
    } catch {
      // Busy, already gone, or shared: not ours to force.
    }
  }
}

/** Mount points under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return mountInfo()
    .map((m) => m.mountPoint)
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything under `dir` (lazily when busy), then deletes it. */
export async function unmountAndRemove(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) {
    const result = await runTool('umount', [point]);
    if (result.code !== 0) await runTool('umount', ['-l', point]);
  }
  rmSync(dir, { recursive: true, force: true });
}
