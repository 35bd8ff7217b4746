/**
 * Starts one container instance as a detached process: its own session and process group
 * (so the runtime can signal all of it, and it does not die with the agent), stdin from
 * /dev/null, stdout and stderr appended to the container's log file, fd 3 the instance's exit
 * file. Files, not pipes: a pipe would break (SIGPIPE) the moment the agent exits. The runtime
 * records the pid and its start time right after this returns; nothing else ties the process
 * to the agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, fstatSync } from 'node:fs';
import path from 'node:path';
import { readProcStat } from './proc-stat.js';
import type { SpawnPlan } from './sandbox.js';

export interface LaunchSpec {
  plan: SpawnPlan;
  env: Record<string, string>;
  logFile: string;
  exitFile: string;
  /** Where bwrap's --info-fd output goes (only used when the plan asks for it). */
  infoFile: string;
}

export interface Launched {
  /** The process whose life is the container's: the exit wrapper, or bwrap's sandbox init. */
  pid: number;
  /** Its start time (/proc/<pid>/stat field 22); '' when it had already exited. */
  startTicks: string;
  /** The process group holding every process of the container (the spawned process's pid). */
  pgid: number;
  /** The spawned process while this agent is its parent: its exit is a hint to look at the container. */
  child: ChildProcess;
}

export type LaunchResult = { ok: true; launched: Launched } | { ok: false; message: string };

export interface ProcessLauncherOptions {
  /** How long bwrap may take to set up the sandbox and report its pid. */
  sandboxTimeoutMs?: number;
}

export class ProcessLauncher {
  private readonly sandboxTimeoutMs: number;

  constructor(options: ProcessLauncherOptions = {}) {
    this.sandboxTimeoutMs = options.sandboxTimeoutMs ?? 10_000;
  }

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    const { plan } = spec;
    if (!existsSync(plan.cwd)) return { ok: false, message: `working directory ${plan.cwd} does not exist` };
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    mkdirSync(path.dirname(spec.exitFile), { recursive: true });
    const fds: number[] = [];
    let child: ChildProcess;
    try {
      fds.push(openSync(spec.logFile, 'a', 0o640));
      fds.push(openSync(spec.exitFile, 'w', 0o600));
      if (plan.infoFd) fds.push(openSync(spec.infoFile, 'w', 0o600));
      const [log, exit, info] = fds;
      child = spawn(plan.file, plan.args, {
        detached: true,
        cwd: plan.cwd,
        env: spec.env,
        stdio: info === undefined ? ['ignore', log, log, exit] : ['ignore', log, log, exit, info],
      });
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (code, signal) => (exited = { code, signal }));
    const pid = child.pid;
    if (pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      return { ok: false, message: error.message };
    }
    child.on('error', () => {}); // reported through the exit path; never an unhandled 'error' event
    child.unref();
    // Read before yielding: until the event loop reaps it, the process (or its zombie) is in /proc.
    const ownTicks = readProcStat(pid)?.startTicks ?? '';
    if (!plan.infoFd) return { ok: true, launched: { pid, startTicks: ownTicks, pgid: pid, child } };

    const deadline = Date.now() + this.sandboxTimeoutMs;
    for (;;) {
      const sandboxPid = readInfoPid(spec.infoFile);
      if (sandboxPid !== undefined) {
        return { ok: true, launched: { pid: sandboxPid, startTicks: readProcStat(sandboxPid)?.startTicks ?? '', pgid: pid, child } };
      }
      if (exited || Date.now() > deadline) {
        const why = lastLine(spec.logFile) ?? (exited ? `bwrap exited with ${exited.signal ?? String(exited.code)}` : 'bwrap did not report its sandbox in time');
        if (!exited) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        return { ok: false, message: why };
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** The sandbox pid from bwrap's --info-fd JSON, once bwrap has written it. */
export function readInfoPid(file: string): number | undefined {
  try {
    const match = /"child-pid"\s*:\s*(\d+)/.exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The last non-empty line of a log (bwrap's error message when it fails to set up). */
function lastLine(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').map((line) => line.trim()).filter(Boolean);
    return lines.at(-1);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
