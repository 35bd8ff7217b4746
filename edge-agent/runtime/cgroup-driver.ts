/**
 * The cgroups the process runtime owns: one subtree (`--cgroup-root`), one cgroup per Pod
 * (`pod<uid>`) and one per container below it. Two drivers behind one interface: cgroup v2
 * (cgroup-v2.ts: memory.max, cpu.max, cpu.weight, pids.max, memory.events) is what current
 * devices run; cgroup v1 (cgroup-v1.ts: memory.limit_in_bytes, cpu.cfs_quota_us, cpu.shares,
 * pids.max, memory.oom_control) is what older ones (and hybrid systemd hosts) run. The
 * version is detected at start (detectCgroups in cgroup-detect.ts).
 *
 * A process joins a container's cgroup before it execs anything of the container: the launch
 * plan starts with a tiny sh that writes its own pid to each `cgroup.procs` file (procsFiles)
 * and then execs bwrap or the exit wrapper, so the command and all its children are born
 * inside (joinCommand below).
 */
import type { CgroupLimits } from './resources.js';

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Human-readable root (for logs and messages). */
  readonly description: string;
  /** Creates the cgroup at `rel` (below the root, '/'-separated, validated names) if needed and writes `limits`. Throws with the file that failed. */
  ensure(rel: string, limits: CgroupLimits): void;
  /** The cgroup.procs files a process writes its pid to, to join `rel` (one per hierarchy on v1). */
  procsFiles(rel: string): string[];
  /** The cgroup's OOM-kill count (v2 memory.events oom_kill, v1 memory.oom_control oom_kill), undefined when unreadable. */
  oomKills(rel: string): number | undefined;
  /** CPU time used by the cgroup, µs (v2 cpu.stat usage_usec, v1 cpuacct.usage / 1000). */
  cpuUsageUs(rel: string): number | undefined;
  /** Pids in the cgroup (any hierarchy). */
  pids(rel: string): number[];
  /** Removes `rel` and everything below it, deepest first; false when a cgroup still holds processes (it stays). */
  remove(rel: string): boolean;
  /** The names directly below `rel` ('' for the root). */
  children(rel: string): string[];
}

/** Names the runtime puts in cgroup paths: `pod<uid>` and container names (validated by pod-validation.ts), nothing else. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/** Throws unless every segment of `rel` is a plain name (no '..', no '/', no cgroup control file lookalikes). */
export function checkRel(rel: string): string[] {
  const parts = rel.split('/').filter((part) => part !== '');
  for (const part of parts) {
    if (!SEGMENT.test(part) || part.includes('..') || /^(cgroup|memory|cpu|cpuacct|pids|io|blkio|cpuset|hugetlb|rdma|misc|notify_on_release|tasks|release_agent)\./.test(part)) {
      throw new Error(`"${part.slice(0, 64)}" cannot be a cgroup name`);
    }
  }
  return parts;
}

/** The cgroup of a Pod and of one of its containers, relative to the runtime's root. */
export function podCgroup(uid: string): string {
  return `pod${uid}`;
}

export function containerCgroup(uid: string, container: string): string {
  return `pod${uid}/${container}`;
}

/**
 * The argv prefix that joins the cgroups and then execs the rest of argv. A failed join writes
 * 125 as the instance's exit code (fd 3, exit-wrapper.ts) and exits 125: the container never
 * runs outside its limits.
 */
export const JOIN_SCRIPT = [
  'while [ "$#" -gt 0 ] && [ "$1" != -- ]; do',
  '  echo "$$" > "$1" || { echo "edge-agent: cannot join cgroup $1" >&2; printf "125\\n" >&3; exit 125; }',
  '  shift',
  'done',
  'shift',
  'exec "$@"',
].join('\n');

export function joinCommand(procsFiles: readonly string[], shell = '/bin/sh'): string[] {
  return [shell, '-c', JOIN_SCRIPT, 'edge-cgroup', ...procsFiles, '--'];
}
