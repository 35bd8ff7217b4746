/**
 * What a demo leaves running, and stopping it. A demo records itself and the processes it starts
 * in DIR/demo.json. Before a new demo wipes DIR it must know whether an earlier one is still
 * running there (then it refuses: two demos on one directory would wipe each other's data) or
 * died without cleaning up (then its API, hub, agents and their Pods are stopped first: Pods
 * outlive their agent by design, and a wiped directory would orphan them for good).
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isSameProcessAlive, readProcStat } from '../../edge-agent/runtime/proc-stat.js';
import { killPodProcesses } from '../launch/pod-processes.js';

export const RECORD_FILE = 'demo.json';

export interface RecordedProcess {
  name: string;
  pid: number;
  /** Start time in clock ticks (/proc/PID/stat): a pid alone may have been reused. */
  startTicks: string;
}

export interface DemoRecord {
  demo: RecordedProcess;
  processes: RecordedProcess[];
}

export function recordOf(name: string, pid: number): RecordedProcess | undefined {
  const stat = readProcStat(pid);
  return stat ? { name, pid, startTicks: stat.startTicks } : undefined;
}

export function isAlive(proc: RecordedProcess): boolean {
  return isSameProcessAlive(proc.pid, proc.startTicks);
}

export function readRecord(dir: string): DemoRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path.join(dir, RECORD_FILE), 'utf8')) as DemoRecord;
    return record && typeof record.demo?.pid === 'number' && Array.isArray(record.processes) ? record : undefined;
  } catch {
    return undefined;
  }
}

export function writeRecord(dir: string, record: DemoRecord): void {
  writeFileSync(path.join(dir, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The demo still running on `dir`, other than this process, if any. */
export function liveDemo(dir: string): RecordedProcess | undefined {
  const record = readRecord(dir);
  return record && record.demo.pid !== process.pid && isAlive(record.demo) ? record.demo : undefined;
}

const OUR_BINARY = /(^|\/)(cloud-hub|edge-agent)(\/main\.js)?$/;

function inside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Running cloud-hub and edge-agent processes whose command line names a path inside `dir` (a
 * `--data`, `--kubeconfig` or `--token-file` there), resolved against their own working
 * directory: the demo's own, and a hub restarted by hand from the demo's "Try" list.
 */
export function binariesUsing(dir: string): RecordedProcess[] {
  const found: RecordedProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let argv: string[];
    let cwd: string;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue; // gone, or not ours to read
    }
    const [interpreter, script, ...args] = argv;
    if (!interpreter || !script || !/(^|\/)node[\d.]*$/.test(interpreter) || !OUR_BINARY.test(script)) continue;
    const paths = args.flatMap((arg) => (arg.startsWith('--') && arg.includes('=') ? [arg.slice(arg.indexOf('=') + 1)] : arg.startsWith('-') ? [] : [arg]));
    if (!paths.some((value) => inside(dir, path.resolve(cwd, value)))) continue;
    const name = `${/edge-agent/.test(script) ? 'edge-agent' : 'cloud-hub'} ${args.slice(0, 2).join(' ')}`.trim();
    const proc = recordOf(name, pid);
    if (proc) found.push(proc);
  }
  return found;
}

/** Every agent data directory under `dir` (the ones holding Pods). */
function agentDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, 'pods')))
      .map((entry) => path.join(dir, entry.name));
  } catch {
    return [];
  }
}

/** SIGTERMs the processes, SIGKILLs what is left after `graceMs`; resolves when all are gone. */
export async function stopProcesses(procs: readonly RecordedProcess[], graceMs = 5_000): Promise<void> {
  const signal = (proc: RecordedProcess, name: NodeJS.Signals): void => {
    if (!isAlive(proc)) return;
    try {
      process.kill(proc.pid, name);
    } catch {
      // already gone
    }
  };
  for (const proc of procs) signal(proc, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (procs.some(isAlive)) {
    if (Date.now() >= deadline) for (const proc of procs) signal(proc, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Cleanup {
  processes: RecordedProcess[];
  podProcessGroups: number;
}

/**
 * Stops what runs on `dir` besides `known` (already stopped by the caller): recorded processes
 * still alive, our binaries naming the directory, then the Pods of every agent under it (last,
 * so that no agent is left to restart them).
 */
export async function stopEverythingOn(dir: string): Promise<Cleanup> {
  const recorded = (readRecord(dir)?.processes ?? []).filter(isAlive);
  const byPid = new Map([...recorded, ...binariesUsing(dir)].map((proc) => [proc.pid, proc]));
  const processes = [...byPid.values()];
  await stopProcesses(processes);
  let podProcessGroups = 0;
  for (const agentDir of agentDirs(dir)) podProcessGroups += killPodProcesses(agentDir);
  return { processes, podProcessGroups };
}
