/**
 * cgroup v1 driver: one hierarchy per controller (memory, cpu, cpuacct, pids), the same
 * relative subtree in each. Limits as the kubelet's cgroupfs driver writes them:
 * memory.limit_in_bytes (and memory.memsw.limit_in_bytes to the same value when swap
 * accounting exists, so the limit cannot be dodged by swapping), cpu.cfs_period_us = 100000 with
 * cpu.cfs_quota_us, cpu.shares, pids.max. OOM kills from memory.oom_control's oom_kill (Linux
 * 4.13+). This is the driver the tests on this project's CI machine exercise for real.
 */
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkRel, type CgroupDriver } from './cgroup-driver.js';
import { readKey, readPids, removeTree, subdirectories } from './cgroup-v2.js';
import { CPU_PERIOD_US, type CgroupLimits } from './resources.js';

export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1;

  /** `roots`: the runtime's subtree in each controller's hierarchy (absolute directories). */
  constructor(private readonly roots: Record<V1Controller, string>) {}

  get description(): string {
    return `cgroup v1 ${this.roots.memory} (and cpu, cpuacct, pids)`;
  }

  private dir(controller: V1Controller, rel: string): string {
    return path.join(this.roots[controller], ...checkRel(rel));
  }

  /** The distinct directories of `rel` (cpu and cpuacct are often one hierarchy, cpu,cpuacct). */
  private dirs(rel: string): string[] {
    const seen = new Map<string, string>();
    for (const controller of V1_CONTROLLERS) {
      const dir = this.dir(controller, rel);
      let key = dir;
      try {
        key = realpathSync(dir);
      } catch {
        // not created yet: the path itself
      }
      if (!seen.has(key)) seen.set(key, dir);
    }
    return [...seen.values()];
  }

  prepareRoot(): void {
    for (const controller of V1_CONTROLLERS) mkdirSync(this.roots[controller], { recursive: true });
  }

  ensure(rel: string, limits: CgroupLimits): void {
    for (const controller of V1_CONTROLLERS) mkdirSync(this.dir(controller, rel), { recursive: true });
    const memory = this.dir('memory', rel);
    const unlimited = '-1';
    const memsw = path.join(memory, 'memory.memsw.limit_in_bytes');
    const hasMemsw = existsSync(memsw);
    const limit = limits.memoryBytes !== undefined ? String(limits.memoryBytes) : unlimited;
    // memsw must stay >= the memory limit: raise it first when removing a limit, lower it last when setting one.
    if (hasMemsw && limit === unlimited) writeFileSync(memsw, unlimited);
    writeFileSync(path.join(memory, 'memory.limit_in_bytes'), limit);
    if (hasMemsw && limit !== unlimited) writeFileSync(memsw, limit);
    const cpu = this.dir('cpu', rel);
    writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), limits.cpuQuotaUs !== undefined ? String(limits.cpuQuotaUs) : unlimited);
    if (limits.cpuShares !== undefined) writeFileSync(path.join(cpu, 'cpu.shares'), String(limits.cpuShares));
    writeFileSync(path.join(this.dir('pids', rel), 'pids.max'), limits.pids !== undefined ? String(limits.pids) : 'max');
  }

  procsFiles(rel: string): string[] {
    return this.dirs(rel).map((dir) => path.join(dir, 'cgroup.procs'));
  }

  oomKills(rel: string): number | undefined {
    return readKey(path.join(this.dir('memory', rel), 'memory.oom_control'), 'oom_kill');
  }

  cpuUsageUs(rel: string): number | undefined {
    const ns = readFirstNumber(path.join(this.dir('cpuacct', rel), 'cpuacct.usage'));
    return ns === undefined ? undefined : Math.floor(ns / 1000);
  }

  pids(rel: string): number[] {
    const all = new Set<number>();
    for (const dir of this.dirs(rel)) for (const pid of readPids(path.join(dir, 'cgroup.procs'))) all.add(pid);
    return [...all];
  }

  remove(rel: string): boolean {
    let ok = true;
    for (const dir of this.dirs(rel)) ok = removeTree(dir) && ok;
    return ok;
  }

  children(rel: string): string[] {
    return subdirectories(rel === '' ? this.roots.memory : this.dir('memory', rel));
  }
}

function readFirstNumber(file: string): number | undefined {
  return readPids(file)[0];
}
