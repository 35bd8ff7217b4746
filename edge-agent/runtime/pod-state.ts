/**
 * What the runtime persists per Pod, in `<pod dir>/state.json`: enough to re-adopt its
 * processes after an agent restart and to report the same status as before (restart counts,
 * last terminations, backoff, condition transition times). Written whole, to a temporary file
 * renamed over the old one, so a crash leaves the previous or the new version, never a mix.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../protocol/index.js';
import type { BackoffEntry } from './crash-loop-backoff.js';

export interface Termination {
  exitCode: number;
  /** Set only when the runtime knows the signal (it sent it); 128+n exit codes are not guessed at. */
  signal?: number;
  /** Completed, Error, OOMKilled, ContainerStatusUnknown, StartError. */
  reason: string;
  message?: string;
  startedAt: number;
  finishedAt: number;
  containerID: string;
}

export interface KillRequest {
  /** The strongest signal sent so far. */
  signal: 'SIGTERM' | 'SIGKILL';
  requestedAt: number;
  /** When SIGKILL follows if the container is still running. */
  deadline: number;
  /** Why: shown in the Killing event and, for the exit, in the log. */
  reason: string;
  /** SIGTERM has actually been sent (it waits until the command has been exec'd; command-started.ts). */
  termSent?: boolean;
}

export interface RunningInstance {
  /** The process whose life is the container's (the exit wrapper, or bwrap's sandbox init). */
  pid: number;
  /** /proc/<pid>/stat start time: (pid, startTicks) identifies the process across pid reuse. */
  startTicks: string;
  /** Process group of every process of the container. */
  pgid: number;
  instance: number;
  startedAt: number;
  exitFile: string;
  infoFile: string;
  /** The kernel's OOM-kill count when the instance started (oom.ts). */
  oomBaseline?: number;
  /** The container's cgroup below the runtime's subtree (`pod<uid>/<name>`), whose OOM kills count (container-isolation.ts). */
  cgroup?: string;
  killing?: KillRequest;
}

export interface ContainerRecord {
  name: string;
  init: boolean;
  /** Hash of the spec the current or last instance was started from. */
  specHash: string;
  image: string;
  restartCount: number;
  /** Instances started so far; numbers the exit files. */
  instances: number;
  running?: RunningInstance;
  /** The latest termination: the state when not restarting, lastState otherwise. */
  last?: Termination;
  /** The termination before `last`: lastState while the state is `last`. */
  previous?: Termination;
  backoff?: BackoffEntry;
  /** Why the container is not running, when it is waiting (CrashLoopBackOff, CreateContainerConfigError, ...). */
  waiting?: { reason: string; message?: string };
  /** Start again after the current instance ends, whatever the restart policy says (spec changed). */
  restartRequested?: boolean;
}

export interface ConditionRecord {
  status: 'True' | 'False';
  reason?: string;
  message?: string;
  lastTransitionTime: number;
}

export interface PodState {
  version: 1;
  key: string;
  uid: string;
  /** The Pod as last synced (status removed): what adoption and restarts use until the next syncPod. */
  pod: JsonObject;
  firstSeen: number;
  startTime?: number;
  conditions: Record<string, ConditionRecord>;
  containers: Record<string, ContainerRecord>;
  /** The Pod failed for good (its activeDeadlineSeconds ran out): nothing starts again. */
  failure?: { reason: string; message: string };
  /** Set by killPod, so a deletion interrupted by an agent restart is finished by the next one. */
  deleting?: { requestedAt: number; deadline: number };
}

/** The Pod as the runtime keeps it: its status is what the runtime reports, not an input. */
export function withoutStatus(pod: JsonObject): JsonObject {
  const { status: _status, ...rest } = pod;
  return rest;
}

/** The state of a Pod the runtime has not seen before. */
export function newPodState(key: string, uid: string, pod: JsonObject, now: number): PodState {
  return { version: 1, key, uid, pod: withoutStatus(pod), firstSeen: now, startTime: now, conditions: {}, containers: {} };
}

export function savePodState(file: string, state: PodState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, file);
}

export function loadPodState(file: string): PodState | undefined {
  let state: PodState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as PodState;
  } catch {
    return undefined;
  }
  if (state?.version !== 1 || typeof state.key !== 'string' || typeof state.containers !== 'object' || state.containers === null) return undefined;
  for (const record of Object.values(state.containers)) {
    // The pids are what the runtime signals: anything but real ones (a hand-edited or damaged
    // file) makes the instance unknown rather than a kill(0) waiting to happen.
    const running = record.running;
    if (running && !(isPid(running.pid) && isPid(running.pgid) && typeof running.startTicks === 'string')) running.startTicks = '';
    if (running && !isPid(running.pgid)) running.pgid = running.pid;
    if (running && running.cgroup !== undefined && typeof running.cgroup !== 'string') delete running.cgroup;
    if (running && !isPid(running.pgid)) delete record.running;
  }
  return state;
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 1;
}
