/**
 * A command run "in" a running process-runtime container, as `kubectl exec` expects: with the
 * container's environment (read from /proc/<pid>/environ, so exactly what the container got),
 * its working directory, and, when the container runs in a bubblewrap sandbox, inside the
 * sandbox's namespaces (`nsenter` from util-linux, entering only the namespaces that differ from
 * the agent's: mount, UTS, PID, and user when bwrap ran unprivileged).
 *
 * A TTY comes from `script` (util-linux): it runs the command on a new pseudo-terminal and
 * copies between it and its pipes. Resizing sets the terminal's size with `stty -F` on the
 * terminal as /proc/<pid>/fd/0 of a process using it (the kernel then sends SIGWINCH to the
 * foreground process group), which also reaches a terminal inside a sandbox's own /dev/pts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { DEFAULT_PATH } from './process-env.js';
import type { ExecSession, ExitResult } from './runtime-streams.js';

const NAMESPACES: ReadonlyArray<[string, string]> = [
  ['user', '--user'],
  ['mnt', '--mount'],
  ['uts', '--uts'],
  ['pid', '--pid'],
];

function readlinkQuiet(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
}

/** The environment of a process, as it was exec'd. */
export function processEnvironment(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return env;
  }
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** Children of a process (Linux 3.5+ /proc/<pid>/task/<pid>/children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The process that stands for the container's command: the first child of the tracked pid (the
 * exit wrapper's command, or bwrap init's wrapper), else the tracked pid itself.
 */
export function containerProcess(pid: number): number {
  return childrenOf(pid)[0] ?? pid;
}

/**
 * The container's process once it exists: right after a start the wrapper (or the sandbox's init)
 * may not have forked the command yet, and before that its environment is not the container's.
 */
export async function settledContainerProcess(pid: number, timeoutMs = 2_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (childrenOf(pid).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return containerProcess(pid);
}

/** nsenter's namespace flags for entering `pid`'s namespaces that differ from ours (none: run directly). */
export function namespaceFlags(pid: number): string[] {
  const flags: string[] = [];
  for (const [name, flag] of NAMESPACES) {
    const theirs = readlinkQuiet(`/proc/${pid}/ns/${name}`);
    const ours = readlinkQuiet(`/proc/self/ns/${name}`);
    if (theirs !== undefined && ours !== undefined && theirs !== ours) flags.push(flag);
  }
  return flags;
}

/** A POSIX-shell single-quoted word. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The terminal of the first process below `root` that has one on its stdin, as a path the agent can open. */
function terminalBelow(root: number, depth = 4): string | undefined {
  let level = [root];
  for (let i = 0; i <= depth && level.length > 0; i++) {
    for (const pid of level) {
      const target = readlinkQuiet(`/proc/${pid}/fd/0`);
      if (target?.startsWith('/dev/pts/')) return `/proc/${pid}/fd/0`;
    }
    level = level.flatMap(childrenOf);
  }
  return undefined;
}

export interface ExecInContainer {
  /** The container's process whose environment and namespaces the command gets (settledContainerProcess). */
  target: number;
  command: string[];
  tty: boolean;
  stdin: boolean;
}

export function execInContainer(request: ExecInContainer): ExecSession {
  const target = request.target;
  const env = processEnvironment(target);
  env.PATH ??= DEFAULT_PATH;
  const flags = namespaceFlags(target);
  let argv = request.command;
  if (request.tty) {
    // script -c runs its argument with $SHELL; exec keeps the command the terminal's session leader's child.
    argv = ['script', '--quiet', '--return', '--command', `exec ${argv.map(shellQuote).join(' ')}`, '/dev/null'];
    env.SHELL = '/bin/sh';
    env.TERM ??= 'xterm';
  }
  let cwd: string | undefined;
  if (flags.length > 0) {
    argv = ['nsenter', `--target=${target}`, ...flags, '--wd', ...(flags.includes('--user') ? ['--preserve-credentials'] : []), '--', ...argv];
  } else {
    cwd = readlinkQuiet(`/proc/${target}/cwd`);
  }
  const [file, ...args] = argv as [string, ...string[]];
  // Its own process group, so that ending it reaches what nsenter forked too.
  const child = spawn(file, args, {
    detached: true,
    env,
    ...(cwd ? { cwd } : {}),
    stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', request.tty ? 'ignore' : 'pipe'],
  });
  let pendingSize: { width: number; height: number } | undefined;
  let sizeTimer: NodeJS.Timeout | undefined;
  let done = false;
  const applySize = (attempt: number): void => {
    if (!pendingSize || child.pid === undefined || done) return;
    const terminal = terminalBelow(child.pid);
    if (!terminal) {
      // The terminal appears once script has forked the command: try again shortly, a few times.
      if (attempt < 40) sizeTimer = setTimeout(() => applySize(attempt + 1), 25);
      return;
    }
    const { width, height } = pendingSize;
    pendingSize = undefined;
    spawnSync('stty', ['-F', terminal, 'rows', String(height), 'cols', String(width)], { stdio: 'ignore', timeout: 5_000 });
  };
  const exited = new Promise<ExitResult>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      done = true;
      resolve({ exitCode: 126, error: err.code === 'ENOENT' ? `exec: "${file}": executable file not found in $PATH` : `exec: "${file}": ${err.message}` });
    });
    child.once('close', (code, signal) => {
      done = true;
      if (sizeTimer) clearTimeout(sizeTimer);
      resolve({ exitCode: code ?? 128 + (signal ? signalNumber(signal) : 0) });
    });
  });
  child.stdin?.on('error', () => {}); // the command may exit before reading its input
  return {
    ...(child.stdin ? { stdin: child.stdin } : {}),
    ...(child.stdout ? { stdout: child.stdout } : {}),
    ...(child.stderr ? { stderr: child.stderr } : {}),
    resize(width: number, height: number) {
      if (!request.tty || !Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width > 10_000 || height > 10_000) return;
      pendingSize = { width, height };
      if (sizeTimer) clearTimeout(sizeTimer);
      applySize(0);
    },
    exited,
    kill() {
      if (done || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };
  return numbers[signal] ?? 0;
}
