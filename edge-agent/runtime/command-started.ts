/**
 * Whether a container's command has been exec'd by its exit wrapper yet.
 *
 * The wrapper traps SIGTERM (exit-wrapper.ts) and the shell's forked child keeps that handler
 * until it execs the command: a SIGTERM that lands in that window, or before the wrapper has
 * forked at all, is swallowed, and the container would run on until SIGKILL. Measured, a
 * SIGTERM within 10 ms of the start is lost about one time in eight. So the runtime sends
 * SIGTERM to a young container only once this says the command runs (or the wrapper is gone).
 * It looks at the process tree in /proc: the wrapper is the tracked process (or, under bwrap,
 * the sandbox init's child) and the command is a child of the wrapper whose argv is no longer
 * the wrapper's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { WRAPPER_SCRIPT } from './exit-wrapper.js';
import { readProcStat } from './proc-stat.js';

export interface ProcessTree {
  children(pid: number): number[];
  /** argv, or undefined when the process is gone. */
  argv(pid: number): string[] | undefined;
}

export function procTree(procRoot = '/proc'): ProcessTree {
  return {
    children(pid) {
      try {
        return readFileSync(`${procRoot}/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        // Kernels without CONFIG_PROC_CHILDREN: find the children by their parent pid.
        return readdirSync(procRoot)
          .filter((entry) => /^\d+$/.test(entry))
          .map(Number)
          .filter((candidate) => readProcStat(candidate, procRoot)?.ppid === pid);
      }
    },
    argv(pid) {
      try {
        return readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        return undefined;
      }
    },
  };
}

function isWrapper(tree: ProcessTree, pid: number): boolean {
  const argv = tree.argv(pid);
  return argv !== undefined && argv[1] === '-c' && argv[2] === WRAPPER_SCRIPT;
}

/** True once the command under the wrapper tracked as `pid` has been exec'd, or nothing is left to wait for. */
export function commandStarted(pid: number, tree: ProcessTree = procTree()): boolean {
  if (tree.argv(pid) === undefined) return true; // gone: nothing to signal
  const wrapper = isWrapper(tree, pid) ? pid : tree.children(pid).find((child) => isWrapper(tree, child));
  if (wrapper === undefined) return false; // bwrap is still setting the sandbox up
  return tree.children(wrapper).some((child) => !isWrapper(tree, child));
}
