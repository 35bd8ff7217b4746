/**
 * Process identity from /proc. A pid alone does not identify a process across an agent
 * restart: the kernel reuses pids. The pair (pid, start time in clock ticks since boot, field
 * 22 of /proc/<pid>/stat) does, so that is what the runtime records and compares before it
 * adopts or signals anything.
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), X (dead), T, ... */
  state: string;
  ppid: number;
  pgid: number;
  /** Start time in clock ticks since boot, as text (exact, comparable for equality). */
  startTicks: string;
}

/**
 * The fields of /proc/<pid>/stat after the command name: fields[0] is field 3 of proc(5)
 * (state), field n is fields[n - 3]. Undefined for a process that is gone or unreadable.
 */
export function readProcStatFields(pid: number, procRoot = '/proc'): string[] | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  return text.slice(close + 2).trim().split(/\s+/);
}

export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  const fields = readProcStatFields(pid, procRoot);
  if (!fields) return undefined;
  const state = fields[0];
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  const startTicks = fields[19];
  if (state === undefined || startTicks === undefined) return undefined;
  return { pid, state, ppid, pgid, startTicks };
}

/** True while the process with this pid and start time exists and has not exited (zombies have). */
export function isSameProcessAlive(pid: number, startTicks: string, procRoot = '/proc'): boolean {
  const stat = readProcStat(pid, procRoot);
  return stat !== undefined && stat.startTicks === startTicks && stat.state !== 'Z' && stat.state !== 'X';
}
