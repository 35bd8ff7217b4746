/**
 * Recording how a container instance ended, once the pod worker has noticed that its process
 * is gone: gather the facts (the exit wrapper's file, the OOM-kill counter, how the runtime's
 * own child ended), classify them (exit-classification.ts), move the instance into the
 * record's last termination and remove the instance's files.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { classifyExit } from './exit-classification.js';
import type { OomCounter } from './oom.js';
import type { PodLayout } from './pod-layout.js';
import type { ContainerRecord, RunningInstance, Termination } from './pod-state.js';

export interface ContainerExitsDeps {
  layout: PodLayout;
  oom: OomCounter;
  /** OOM kills of a container cgroup (container-isolation.ts), for instances that ran in one. */
  cgroupOomKills?: (cgroup: string) => number | undefined;
  /** Under bwrap the runtime's child is the sandbox's init, whose signal is not the command's. */
  sandboxKind: 'direct' | 'bwrap';
}

export class ContainerExits {
  /** Own children that exited, by process group, with the signal that ended them (a hint when the exit wrapper could not write its file). */
  private readonly childExits = new Map<number, NodeJS.Signals | null>();

  constructor(private readonly deps: ContainerExitsDeps) {}

  /** The runtime's own child exited (its 'exit' event). */
  childExited(pgid: number, signal: NodeJS.Signals | null): void {
    this.childExits.set(pgid, signal);
  }

  /** Records the end of `running` in `record` (the instance becomes `last`, `last` becomes `previous`). */
  record(record: ContainerRecord, running: RunningInstance, now: number): Termination {
    const termination = this.classify(record, running, now);
    record.previous = record.last;
    record.last = termination;
    delete record.running;
    delete record.waiting;
    this.childExits.delete(running.pgid);
    rmSync(this.deps.layout.exitFile(record.name, running.instance), { force: true });
    rmSync(this.deps.layout.infoFile(record.name, running.instance), { force: true });
    return termination;
  }

  private classify(record: ContainerRecord, running: RunningInstance, now: number): Termination {
    let exitFileText = '';
    let exitFileMtimeMs: number | undefined;
    try {
      // The path is the layout's, not the one recorded in state.json: nothing read back from
      // disk chooses which file the agent opens or removes.
      const exitFile = this.deps.layout.exitFile(record.name, running.instance);
      exitFileText = readFileSync(exitFile, 'utf8');
      if (exitFileText.trim() !== '') exitFileMtimeMs = statSync(exitFile).mtimeMs;
    } catch {
      // no exit file
    }
    const oomNow = running.cgroup !== undefined && this.deps.cgroupOomKills ? this.deps.cgroupOomKills(running.cgroup) : this.deps.oom.read();
    const childSignal = this.childExits.get(running.pgid);
    return classifyExit({
      pid: running.pid,
      startedAt: running.startedAt,
      noticedAt: now,
      exitFileText,
      ...(exitFileMtimeMs !== undefined ? { exitFileMtimeMs } : {}),
      ...(running.killing ? { killing: running.killing } : {}),
      ...(this.deps.sandboxKind === 'direct' && childSignal ? { childSignal } : {}),
      oomRose: running.oomBaseline !== undefined && oomNow !== undefined && oomNow > running.oomBaseline,
    });
  }
}
