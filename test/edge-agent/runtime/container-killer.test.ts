/**
 * Stopping a container instance, on real process groups: SIGKILL at once without grace,
 * SIGTERM once the command runs and SIGKILL at the deadline, never a signal to a group that is
 * not a real one or to a process that is no longer the one started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContainerKiller } from '../../../edge-agent/runtime/container-killer.js';
import { wrapCommand } from '../../../edge-agent/runtime/exit-wrapper.js';
import type { RunningInstance } from '../../../edge-agent/runtime/pod-state.js';
import { isSameProcessAlive, readProcStat } from '../../../edge-agent/runtime/proc-stat.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { captureLog } from '../store/helpers.js';

const children: ChildProcess[] = [];
const cleanupDirs: ReturnType<typeof makeTempDir>[] = [];
afterEach(() => {
  for (const dir of cleanupDirs.splice(0)) dir.remove();
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** `command` under the exit wrapper in its own process group, as the launcher starts containers. */
async function startInstance(command: string[]): Promise<RunningInstance> {
  const child = spawn(wrapCommand(command)[0]!, wrapCommand(command).slice(1), { detached: true, stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  const startTicks = await waitFor(() => readProcStat(pid)?.startTicks, { what: 'the wrapper in /proc' });
  return { pid, startTicks, pgid: pid, instance: 1, startedAt: Date.now(), exitFile: '', infoFile: '' };
}

function makeKiller(onPersist: () => void = () => {}): { killer: ContainerKiller; log: ReturnType<typeof captureLog> } {
  const log = captureLog();
  return { killer: new ContainerKiller({ logger: log.logger, persist: onPersist }), log };
}

describe('ContainerKiller', () => {
  it('without grace sends SIGKILL at once, recorded before it is sent; a second request only brings the deadline forward', async () => {
    const running = await startInstance(['sleep', '60']);
    // What is on disk when persist runs: the kill request, with the process not yet signalled.
    const persisted: Array<{ killing: string; alive: boolean }> = [];
    const { killer: k } = makeKiller(() => persisted.push({ killing: JSON.stringify(running.killing), alive: isSameProcessAlive(running.pid, running.startTicks) }));
    const now = Date.now();
    expect(k.begin(running, 0, 'Stopping container', now)).toBe(true);
    expect(running.killing).toMatchObject({ signal: 'SIGKILL', deadline: now, reason: 'Stopping container' });
    expect(persisted).toEqual([{ killing: JSON.stringify({ signal: 'SIGKILL', requestedAt: now, deadline: now, reason: 'Stopping container' }), alive: true }]);
    await waitFor(() => !isSameProcessAlive(running.pid, running.startTicks), { what: 'the group killed' });

    const other = await startInstance(['sleep', '60']);
    expect(k.begin(other, 30_000, 'first', now)).toBe(true);
    expect(k.begin(other, 60_000, 'longer', now)).toBe(false);
    expect(other.killing?.deadline).toBe(now + 30_000);
    expect(k.begin(other, 5_000, 'shorter', now)).toBe(false);
    expect(other.killing).toMatchObject({ deadline: now + 5_000, reason: 'first' });
  });

  it('sends SIGTERM once the command runs, and SIGKILL at the deadline to a command that ignores it', async () => {
    const { killer: k } = makeKiller();
    // The command ignores SIGTERM, so only the deadline's SIGKILL ends it. It says when its trap
    // is set: a SIGTERM between the shell's start and its `trap` would end it (seen under load).
    const ready = makeTempDir('killer-');
    cleanupDirs.push(ready);
    const marker = path.join(ready.path, 'trapped');
    const running = await startInstance(['sh', '-c', `trap '' TERM; : > ${marker}; while :; do sleep 0.05; done`]);
    await waitFor(() => existsSync(marker), { what: 'the shell to ignore SIGTERM' });
    const start = Date.now();
    k.begin(running, 60_000, 'Stopping container', start);
    await waitFor(
      () => {
        k.advance(running, Date.now());
        return running.killing?.termSent;
      },
      { what: 'SIGTERM sent once the command runs' },
    );
    expect(running.killing?.signal).toBe('SIGTERM');
    expect(isSameProcessAlive(running.pid, running.startTicks)).toBe(true);
    // While SIGTERM waits for its deadline, the worker looks again soon, and at the latest at the deadline.
    expect(k.nextWakeAt(running, start)).toBeLessThanOrEqual(start + 60_000);
    expect(k.stuck(running, start + 60_000, start + 70_000)).toBe(false);

    k.advance(running, start + 60_000);
    expect(running.killing?.signal).toBe('SIGKILL');
    await waitFor(() => !isSameProcessAlive(running.pid, running.startTicks), { what: 'the group SIGKILLed at the deadline' });
    expect(k.stuck(running, start + 60_000, start + 60_000 + 5_001)).toBe(true);
  });

  it('a command that exits on SIGTERM is gone before any SIGKILL', async () => {
    const { killer: k } = makeKiller();
    const running = await startInstance(['sleep', '60']);
    k.begin(running, 60_000, 'Stopping container', Date.now());
    await waitFor(
      () => {
        k.advance(running, Date.now());
        return !isSameProcessAlive(running.pid, running.startTicks);
      },
      { what: 'the group ended by SIGTERM' },
    );
    expect(running.killing?.signal).toBe('SIGTERM');
  });

  it('refuses to signal a process group that is not a real one, and leaves a process that is not the one started alone', async () => {
    const { killer: k, log } = makeKiller();
    const running = await startInstance(['sleep', '60']);
    for (const pgid of [0, 1, -1, 1.5]) {
      const instance = { ...running, pgid, killing: undefined };
      k.begin(instance, 0, 'Stopping container', Date.now());
    }
    expect(log.lines.filter((line) => line.msg === 'refusing to signal an invalid process group').map((line) => line.pgid)).toEqual([0, 1, -1, 1.5]);
    // Same pid, another start time: a reused pid is never signalled.
    k.begin({ ...running, startTicks: '1', killing: undefined }, 0, 'Stopping container', Date.now());
    expect(isSameProcessAlive(running.pid, running.startTicks)).toBe(true);
  });
});
