/**
 * cgroup v2 driver: one unified hierarchy. The root's parent must delegate the controllers
 * (systemd `Delegate=yes`), and cgroup v2's "no internal processes" rule means a cgroup that
 * hands controllers to its children holds no processes itself: the runtime's root and each
 * Pod cgroup only hold child cgroups; processes live in the container cgroups.
 *
 * Verified here only against a fake cgroupfs tree (test/edge-agent/runtime/cgroup-v2.test.ts):
 * the test machine runs cgroup v1. The file names and formats are the kernel's
 * (Documentation/admin-guide/cgroup-v2.rst).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkRel, type CgroupDriver } from './cgroup-driver.js';
import { cpuWeight, CPU_PERIOD_US, type CgroupLimits } from './resources.js';

const CONTROLLERS = ['cpu', 'memory', 'pids'];

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2;

  /** `root`: the runtime's subtree, an absolute directory in the cgroup2 mount. */
  constructor(private readonly root: string) {}

  get description(): string {
    return `cgroup v2 ${this.root}`;
  }

  private dir(rel: string): string {
    return path.join(this.root, ...checkRel(rel));
  }

  /** mkdir -p. */
  makeDir(dir: string): void {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Creates the directories from `delegated` down to the root, enabling the controllers at each
   * level (`enableTop` for `delegated` itself, which may first have to move the agent out), and
   * checks the root got them. Throws when the parent does not delegate them.
   */
  prepareRootDirs(delegated: string, parts: string[], enableTop: () => void): void {
    const available = readFileSync(path.join(delegated, 'cgroup.controllers'), 'utf8').split(/\s+/);
    const missing = CONTROLLERS.filter((name) => !available.includes(name));
    if (missing.length > 0) throw new Error(`${delegated}: controllers ${missing.join(', ')} not delegated (cgroup.controllers: "${available.join(' ').trim()}"); systemd needs Delegate=yes`);
    enableTop();
    let dir = delegated;
    for (const [index, part] of parts.entries()) {
      dir = path.join(dir, part);
      mkdirSync(dir, { recursive: true });
      if (index < parts.length - 1) writeFileSync(path.join(dir, 'cgroup.subtree_control'), CONTROLLERS.map((name) => `+${name}`).join(' '));
    }
  }

  ensure(rel: string, limits: CgroupLimits): void {
    const parts = checkRel(rel);
    let dir = this.root;
    for (const part of parts) {
      // Each level hands the controllers to the next one.
      writeFileSync(path.join(dir, 'cgroup.subtree_control'), CONTROLLERS.map((name) => `+${name}`).join(' '));
      dir = path.join(dir, part);
      mkdirSync(dir, { recursive: true });
    }
    const write = (file: string, value: string) => writeFileSync(path.join(dir, file), value);
    write('memory.max', limits.memoryBytes !== undefined ? String(limits.memoryBytes) : 'max');
    // No swap beyond the limit (the kubelet's NoSwap): a memory hog is OOM-killed at its limit.
    if (limits.memoryBytes !== undefined && existsSync(path.join(dir, 'memory.swap.max'))) write('memory.swap.max', '0');
    write('cpu.max', `${limits.cpuQuotaUs !== undefined ? String(limits.cpuQuotaUs) : 'max'} ${CPU_PERIOD_US}`);
    if (limits.cpuShares !== undefined) write('cpu.weight', String(cpuWeight(limits.cpuShares)));
    write('pids.max', limits.pids !== undefined ? String(limits.pids) : 'max');
  }

  procsFiles(rel: string): string[] {
    return [path.join(this.dir(rel), 'cgroup.procs')];
  }

  oomKills(rel: string): number | undefined {
    return readKey(path.join(this.dir(rel), 'memory.events'), 'oom_kill');
  }

  cpuUsageUs(rel: string): number | undefined {
    return readKey(path.join(this.dir(rel), 'cpu.stat'), 'usage_usec');
  }

  pids(rel: string): number[] {
    return readPids(path.join(this.dir(rel), 'cgroup.procs'));
  }

  remove(rel: string): boolean {
    return removeTree(this.dir(rel));
  }

  children(rel: string): string[] {
    return subdirectories(rel === '' ? this.root : this.dir(rel));
  }
}

export function readKey(file: string, key: string): number | undefined {
  try {
    const match = new RegExp(`^${key}\\s+(\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
  } catch {
    return [];
  }
}

export function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** rmdir deepest first (cgroupfs directories are removed with rmdir, their files go with them). */
export function removeTree(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return true;
  } catch {
    return true;
  }
  let ok = true;
  for (const child of subdirectories(dir)) ok = removeTree(path.join(dir, child)) && ok;
  if (!ok) return false;
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    // The kernel's rmdir takes a cgroup's control files along; a fake cgroupfs (tests) holds real files, which go too.
    if (code === 'ENOTEMPTY' && subdirectories(dir).length === 0 && readPids(path.join(dir, 'cgroup.procs')).length === 0) {
      try {
        rmSync(dir, { recursive: true });
        return true;
      } catch {
        return false;
      }
    }
    return false;
  }
}
