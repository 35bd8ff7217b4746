/**
 * How a container instance ended, from what the runtime found when it noticed: the exit
 * wrapper's file (exit-wrapper.ts), the kill it had requested, how its own child ended, and
 * whether the kernel's OOM-kill count rose. Pure: the pod worker gathers the facts (files,
 * counters, exit events) and this decides what the kubelet would report.
 *
 * The order of the rules is the point: a code the wrapper wrote wins; a signal is reported only
 * when the runtime knows it sent it (a 128+n code is not guessed at); a SIGKILLed group leaves
 * no file, so a SIGKILL the runtime recorded before sending it explains a missing one.
 */
import { constants } from 'node:os';
import { parseExitCode } from './exit-wrapper.js';
import type { KillRequest, Termination } from './pod-state.js';

export interface ExitFacts {
  pid: number;
  startedAt: number;
  /** When the runtime noticed the exit. */
  noticedAt: number;
  /** What the exit wrapper wrote ('' when it wrote nothing or the file is gone). */
  exitFileText: string;
  /** The exit file's mtime, when there is a file to date the exit by. */
  exitFileMtimeMs?: number;
  /** The kill the runtime had requested for the instance. */
  killing?: KillRequest;
  /** The signal that ended the runtime's own child, when it saw the exit and the child is the container (no sandbox init in between). */
  childSignal?: NodeJS.Signals | null;
  /** The kernel's OOM-kill count rose while the instance ran (oom.ts). */
  oomRose: boolean;
}

export function classifyExit(facts: ExitFacts): Termination {
  const base = { startedAt: facts.startedAt, containerID: `process://${facts.pid}` };
  let finishedAt = facts.noticedAt;
  if (facts.exitFileText.trim() !== '' && facts.exitFileMtimeMs !== undefined) finishedAt = Math.min(facts.noticedAt, facts.exitFileMtimeMs);
  finishedAt = Math.max(Math.floor(finishedAt), facts.startedAt);
  const { killing, oomRose } = facts;
  const code = parseExitCode(facts.exitFileText);
  if (code !== undefined) {
    const out: Termination = { ...base, exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt };
    const sent = killing && (killing.signal === 'SIGKILL' || killing.termSent) ? constants.signals[killing.signal] : undefined;
    if (sent !== undefined && code === 128 + sent) out.signal = sent;
    else if (code === 128 + constants.signals.SIGKILL && oomRose) out.reason = 'OOMKilled';
    return out;
  }
  if (killing?.signal === 'SIGKILL') return { ...base, exitCode: 137, signal: 9, reason: 'Error', finishedAt };
  // SIGTERM reached the wrapper before it had set its trap (a kill right after the start).
  if (killing?.signal === 'SIGTERM' && killing.termSent) return { ...base, exitCode: 143, signal: 15, reason: 'Error', finishedAt };
  if (facts.childSignal) {
    const signal = constants.signals[facts.childSignal];
    const reason = facts.childSignal === 'SIGKILL' && oomRose ? 'OOMKilled' : 'Error';
    return { ...base, exitCode: 128 + signal, signal, reason, finishedAt };
  }
  if (oomRose) return { ...base, exitCode: 137, signal: 9, reason: 'OOMKilled', finishedAt };
  return {
    ...base,
    exitCode: 137,
    reason: 'ContainerStatusUnknown',
    message: 'The container process is gone without an exit code (its process group was killed by someone other than the runtime)',
    finishedAt,
  };
}

/** The event for an exit: Completed (Normal), OOMKilled or Error (Warning); reasons other than those two are named in the message. */
export function exitEvent(container: string, termination: Termination): { container: string; type: 'Normal' | 'Warning'; reason: string; message: string } {
  const named = termination.reason === 'Completed' || termination.reason === 'Error' ? '' : ` (${termination.reason})`;
  const message = `Container ${container} exited with code ${termination.exitCode}${named}`;
  if (termination.reason === 'Completed') return { container, type: 'Normal', reason: 'Completed', message };
  if (termination.reason === 'OOMKilled') return { container, type: 'Warning', reason: 'OOMKilled', message };
  return { container, type: 'Warning', reason: 'Error', message };
}
