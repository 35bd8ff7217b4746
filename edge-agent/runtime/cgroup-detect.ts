/**
 * Which cgroup driver this host gets, found once at start: cgroup v2 when the mount point is a
 * cgroup2 filesystem (it has cgroup.controllers), else cgroup v1 with memory, cpu, cpuacct and
 * pids hierarchies. The runtime's subtree is `--cgroup-root` (a cgroup path like `/edge-sync`,
 * the same in every v1 hierarchy) or, by default, `<the agent's own cgroup>/edge-sync/<scope>`
 * (scope: a hash of the data directory, so two agents on one host never share a subtree). Under
 * systemd the agent's own cgroup is its unit's, which `Delegate=yes` hands to it.
 *
 * Anything that fails (not root, controllers not delegated, no such hierarchy) makes the
 * result `unavailable` with the reason; the runtime then runs Pods without limits as before and
 * refuses to start those that ask for limits (container-limits.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CgroupDriver } from './cgroup-driver.js';
import { CgroupV1Driver, V1_CONTROLLERS, type V1Controller } from './cgroup-v1.js';
import { CgroupV2Driver } from './cgroup-v2.js';

export type CgroupSetup = { ok: true; driver: CgroupDriver } | { ok: false; reason: string };

export interface DetectOptions {
  /** `--cgroup-root`: the subtree as a cgroup path (`/edge-sync`); default below the agent's own cgroup. */
  root?: string;
  /** The agent's data directory: names the default subtree's scope. */
  dataDir: string;
  mount?: string;
  procSelfCgroup?: string;
}

/** `/proc/self/cgroup` as controller → path ('' is the v2 line). */
export function ownCgroups(file: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^\d+:([^:]*):(\/.*)$/.exec(line);
      if (!match) continue;
      const [, controllers = '', cgroupPath = '/'] = match;
      if (controllers === '') out.set('', cgroupPath);
      for (const controller of controllers.split(',')) if (controller) out.set(controller, cgroupPath);
    }
  } catch {
    // not Linux, or no /proc
  }
  return out;
}

function validRoot(root: string): string {
  const normal = path.posix.normalize(`/${root}`);
  if (normal.split('/').includes('..')) throw new Error(`--cgroup-root ${root}: must not contain ..`);
  return normal;
}

export function detectCgroups(options: DetectOptions): CgroupSetup {
  const mount = options.mount ?? '/sys/fs/cgroup';
  const own = ownCgroups(options.procSelfCgroup ?? '/proc/self/cgroup');
  const scope = createHash('sha256').update(path.resolve(options.dataDir)).digest('hex').slice(0, 16);
  const rootFor = (ownPath: string | undefined) => (options.root !== undefined ? validRoot(options.root) : path.posix.join(ownPath ?? '/', 'edge-sync', scope));
  try {
    if (existsSync(path.join(mount, 'cgroup.controllers'))) {
      const rel = rootFor(own.get(''));
      const driver = new CgroupV2Driver(path.join(mount, rel));
      const delegated = options.root !== undefined ? path.join(mount, path.posix.dirname(rel)) : path.join(mount, own.get('') ?? '/');
      prepareV2(driver, delegated, path.join(mount, rel));
      return probe(driver);
    }
    const roots = {} as Record<V1Controller, string>;
    for (const controller of V1_CONTROLLERS) {
      const hierarchy = path.join(mount, controller);
      if (!existsSync(path.join(hierarchy, 'cgroup.procs'))) return { ok: false, reason: `no cgroup v1 ${controller} hierarchy at ${hierarchy} (and ${mount} is not cgroup v2)` };
      roots[controller] = path.join(hierarchy, rootFor(own.get(controller)));
    }
    const driver = new CgroupV1Driver(roots);
    driver.prepareRoot();
    return probe(driver);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/**
 * Creates the v2 subtree and enables the controllers on the way down from `delegated` (the
 * unit's cgroup). cgroup v2 forbids a cgroup with processes from handing controllers down, so
 * when the agent still sits in `delegated` itself it first moves to `<delegated>/edge-agent`.
 */
export function prepareV2(driver: CgroupV2Driver, delegated: string, root: string, pid = process.pid): void {
  const relative = path.relative(delegated, root);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${root} is not below ${delegated}`);
  const enable = (dir: string) => writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+cpu +memory +pids');
  driver.prepareRootDirs(delegated, relative.split(path.sep).filter(Boolean), () => {
    try {
      enable(delegated);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      const leaf = path.join(delegated, 'edge-agent');
      driver.makeDir(leaf);
      writeFileSync(path.join(leaf, 'cgroup.procs'), String(pid));
      enable(delegated);
    }
  });
}

/** Creates and removes a throwaway cgroup with every limit file written: proves the subtree works. */
function probe(driver: CgroupDriver): CgroupSetup {
  const name = `probe-${process.pid}`;
  try {
    driver.ensure(name, { memoryBytes: 2 ** 40, cpuQuotaUs: 100_000, cpuShares: 1024, pids: 1_000_000 });
  } finally {
    driver.remove(name);
  }
  return { ok: true, driver };
}
