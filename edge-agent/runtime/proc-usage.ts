/**
 * Resource usage from /proc, for the process runtime's stats and the node's: CPU time and
 * resident memory of every process in a process group (a process-runtime container is one
 * group: the runtime signals it as one), and the node's totals from /proc/stat and
 * /proc/meminfo. Processes come and go while this reads: a vanished one is skipped.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readProcStatFields } from './proc-stat.js';

/** Linux's USER_HZ: the unit of /proc times, 100 on every architecture Linux supports today. */
const CLOCK_TICKS_PER_SECOND = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS_PER_SECOND;
const PAGE_SIZE = 4096;

export interface GroupUsage {
  /** utime + stime of the live processes plus cutime + cstime (their waited-for children), ns. */
  cpuNs: number;
  rssBytes: number;
  processes: number;
}

interface ProcEntry {
  pid: number;
  pgid: number;
  cpuTicks: number;
}

function readStat(pid: number, procRoot: string): ProcEntry | undefined {
  const fields = readProcStatFields(pid, procRoot);
  if (!fields) return undefined;
  // fields[n - 3] is field n of proc(5): pgrp 5, utime 14, stime 15, cutime 16, cstime 17.
  const pgid = Number(fields[2]);
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + (Number(fields[index]) || 0), 0);
  return { pid, pgid, cpuTicks: ticks };
}

function rssOf(pid: number, procRoot: string): number {
  try {
    const [, resident] = readFileSync(`${procRoot}/${pid}/statm`, 'utf8').split(' ');
    return (Number(resident) || 0) * PAGE_SIZE;
  } catch {
    return 0;
  }
}

/** Usage of every process group in `pgids`, one pass over /proc. */
export function processGroupUsage(pgids: ReadonlySet<number>, procRoot = '/proc'): Map<number, GroupUsage> {
  const usage = new Map<number, GroupUsage>();
  for (const pgid of pgids) usage.set(pgid, { cpuNs: 0, rssBytes: 0, processes: 0 });
  if (pgids.size === 0) return usage;
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return usage;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry), procRoot);
    const group = stat && usage.get(stat.pgid);
    if (!stat || !group) continue;
    group.cpuNs += stat.cpuTicks * NS_PER_TICK;
    group.rssBytes += rssOf(stat.pid, procRoot);
    group.processes++;
  }
  return usage;
}

export interface NodeUsage {
  /** Non-idle CPU time of all CPUs since boot, ns. */
  cpuNs: number;
  memoryTotalBytes: number;
  /** MemTotal - MemAvailable (what cadvisor's working set approximates for the root cgroup). */
  memoryWorkingSetBytes: number;
  /** MemTotal - MemFree. */
  memoryUsageBytes: number;
  availableBytes: number;
}

export function nodeUsage(procRoot = '/proc'): NodeUsage {
  let cpuNs = 0;
  try {
    const line = readFileSync(`${procRoot}/stat`, 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...: idle and iowait are not usage.
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((sum, value) => sum + (value || 0), 0);
    cpuNs = (total - (values[3] || 0) - (values[4] || 0)) * NS_PER_TICK;
  } catch {
    // no /proc/stat: zero
  }
  const memory = new Map<string, number>();
  try {
    for (const line of readFileSync(`${procRoot}/meminfo`, 'utf8').split('\n')) {
      const match = /^(\w+):\s+(\d+)/.exec(line);
      if (match) memory.set(match[1]!, Number(match[2]) * 1024);
    }
  } catch {
    // no /proc/meminfo: zeros
  }
  const total = memory.get('MemTotal') ?? 0;
  const available = memory.get('MemAvailable') ?? memory.get('MemFree') ?? 0;
  return {
    cpuNs,
    memoryTotalBytes: total,
    memoryWorkingSetBytes: Math.max(0, total - available),
    memoryUsageBytes: Math.max(0, total - (memory.get('MemFree') ?? 0)),
    availableBytes: available,
  };
}
