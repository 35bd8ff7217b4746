/**
 * Best-effort OOM-kill detection. The process runtime creates no cgroups, so the kernel's
 * verdict is only available as a counter: `oom_kill` in the memory cgroup the agent (and so
 * every container it starts) lives in (cgroup v2 memory.events, v1 memory.oom_control), or,
 * failing that, the system-wide `oom_kill` in /proc/vmstat (Linux 4.13+). A container that
 * died of SIGKILL, which the runtime did not send, while that counter went up is reported as
 * OOMKilled. It can misattribute when another process in the same cgroup (or, with the
 * system-wide counter, anywhere) was OOM-killed at the same time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface OomCounter {
  /** The current count of OOM kills, or undefined when the kernel does not expose one. */
  read(): number | undefined;
}

function readCounter(file: string, key: string): number | undefined {
  try {
    const match = new RegExp(`^${key}\\s+(\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The counters that apply to processes started by this process, most specific first. */
export function kernelOomCounter(cgroupRoot = '/sys/fs/cgroup', procSelfCgroup = '/proc/self/cgroup', vmstat = '/proc/vmstat'): OomCounter {
  const candidates: string[] = [];
  try {
    for (const line of readFileSync(procSelfCgroup, 'utf8').split('\n')) {
      const [, controllers, cgroupPath] = line.split(':');
      if (controllers === undefined || cgroupPath === undefined) continue;
      if (controllers === '') candidates.push(path.join(cgroupRoot, cgroupPath, 'memory.events'));
      if (controllers.split(',').includes('memory')) {
        candidates.push(path.join(cgroupRoot, 'memory', cgroupPath, 'memory.oom_control'));
        candidates.push(path.join(cgroupRoot, 'memory', 'memory.oom_control'));
      }
    }
  } catch {
    // no cgroup information: vmstat only
  }
  const file = candidates.find((candidate) => readCounter(candidate, 'oom_kill') !== undefined);
  return { read: () => (file ? readCounter(file, 'oom_kill') : readCounter(vmstat, 'oom_kill')) };
}
