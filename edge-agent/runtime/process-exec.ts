/**
 * `exec` probes and hooks for the process runtime: the command runs with the container's own
 * environment (read from /proc/<pid>/environ of the instance's tracked process, the exit
 * wrapper or the sandbox's init, which both carry the environment the container was started
 * with) and, with bwrap, inside the container's mount, UTS and PID namespaces (`nsenter` into
 * the sandbox's init, also its user namespace when bwrap made one), so it sees the container's
 * /tmp, volumes and processes. Without bwrap it runs on the host in the container's working
 * directory. It waits until the container's command runs (a hook right after the start would
 * otherwise enter a sandbox bwrap is still setting up). It gets its own process group, killed whole when the run is aborted (timeout).
 * Output is capped.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandStarted } from './command-started.js';

const MAX_OUTPUT = 10 * 1024;

export interface ExecPlace {
  /** The instance's tracked process (wrapper or sandbox init). */
  pid: number;
  sandboxed: boolean;
  /** Working directory: as the container sees it with bwrap, on the host without. */
  cwd: string;
}

function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

function sameNamespace(pid: number, kind: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`) === readlinkSync(`/proc/self/ns/${kind}`);
  } catch {
    return true;
  }
}

export async function execInContainer(place: ExecPlace, command: string[], signal: AbortSignal): Promise<{ exitCode: number; output: string }> {
  // Looked at every 10 ms until the timeout (the signal) ends the wait.
  while (!commandStarted(place.pid) && !signal.aborted) await sleep(10).catch(() => undefined);
  if (signal.aborted) return { exitCode: 137, output: 'the container did not start its command in time' };
  let env: Record<string, string>;
  try {
    env = environOf(place.pid);
  } catch (err) {
    return { exitCode: 126, output: `cannot read the container's environment: ${(err as Error).message}` };
  }
  let file = command[0]!;
  let args = command.slice(1);
  let cwd = place.cwd;
  if (place.sandboxed) {
    const user = sameNamespace(place.pid, 'user') ? [] : ['--user', '--preserve-credentials'];
    args = ['--target', String(place.pid), ...user, '--mount', '--uts', '--pid', '--root', `--wd=${place.cwd}`, '--', ...command];
    file = 'nsenter';
    cwd = '/';
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (chunk: Buffer) => {
      if (size < MAX_OUTPUT) chunks.push(chunk);
      size += chunk.length;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const abort = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    signal.addEventListener('abort', abort);
    child.once('error', (err) => {
      signal.removeEventListener('abort', abort);
      resolve({ exitCode: 127, output: err.message });
    });
    child.once('close', (code, killedBy) => {
      signal.removeEventListener('abort', abort);
      resolve({ exitCode: code ?? 128 + (killedBy ? 9 : 0), output: Buffer.concat(chunks).toString('utf8').slice(0, MAX_OUTPUT) });
    });
  });
}
