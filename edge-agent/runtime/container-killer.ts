/**
 * Stopping a container instance without blocking on its grace period: SIGTERM to its process
 * group now (SIGKILL when there is no grace), SIGKILL once the deadline has passed. Nothing here
 * waits: `begin` records the kill request in the instance's record and returns, and the pod
 * worker calls `advance` on each pass (woken at `nextWakeAt`) until the process is gone.
 *
 * Process groups: every process of a container shares the group the launcher gave it, so one
 * signal reaches the command and its children. A group is signalled only after checking that
 * the tracked pid is still the process the runtime started (pid, start time), and a group id
 * that is not a real one is refused: kill(0) would signal the agent's own group and kill(-1)
 * every process it may signal.
 */
import type { Logger } from 'pino';
import { commandStarted } from './command-started.js';
import type { KillRequest, RunningInstance } from './pod-state.js';
import { isSameProcessAlive } from './proc-stat.js';

/** While a container is being stopped, look this often: an adopted process sends no exit event. */
const KILL_POLL_MS = 50;
/** While SIGTERM waits for the command to be exec'd (a kill right after the start), look this often. */
const TERM_PENDING_POLL_MS = 5;
/** Send SIGTERM anyway if the command has not shown up by then. */
const TERM_PENDING_MAX_MS = 2_000;
/** How long SIGKILL may take to be reported before the runtime stops waiting (the kernel is quick). */
const KILL_SETTLE_MS = 5_000;

export interface ContainerKillerDeps {
  logger: Logger;
  /** Writes the Pod's state: a kill request is on disk before its signal is sent. */
  persist(): void;
}

export class ContainerKiller {
  constructor(private readonly deps: ContainerKillerDeps) {}

  /**
   * Starts stopping `running` within `graceMs`; for an instance already being stopped, only
   * brings its deadline forward (a second killPod may shorten the grace, never lengthen it).
   * Returns whether a new kill began (the caller reports the Killing event).
   */
  begin(running: RunningInstance, graceMs: number, reason: string, now: number): boolean {
    if (running.killing) {
      if (now + graceMs < running.killing.deadline) running.killing.deadline = now + graceMs;
      return false;
    }
    running.killing = { signal: graceMs > 0 ? 'SIGTERM' : 'SIGKILL', requestedAt: now, deadline: now + graceMs, reason };
    this.deps.persist();
    if (running.killing.signal === 'SIGKILL') this.signal(running, 'SIGKILL');
    else this.sendTerm(running, running.killing, now);
    return true;
  }

  /** One pass over a live instance: SIGKILL at the deadline, or the SIGTERM that waited for the command to start. */
  advance(running: RunningInstance, now: number): void {
    const killing = running.killing;
    if (!killing || killing.signal !== 'SIGTERM') return;
    if (now >= killing.deadline) {
      killing.signal = 'SIGKILL';
      this.deps.persist(); // recorded before it is sent: a SIGKILLed wrapper leaves no exit file
      this.signal(running, 'SIGKILL');
    } else if (!killing.termSent) {
      this.sendTerm(running, killing, now);
    }
  }

  /** When the worker must look at `running` again for its kill, or Infinity when it is not being stopped. */
  nextWakeAt(running: RunningInstance, now: number): number {
    const killing = running.killing;
    if (!killing) return Infinity;
    let wake = now + (killing.termSent || killing.signal === 'SIGKILL' ? KILL_POLL_MS : TERM_PENDING_POLL_MS);
    if (killing.signal === 'SIGTERM') wake = Math.min(wake, killing.deadline);
    return wake;
  }

  /** SIGKILLed and still present long after `deadline`: the worker stops waiting for it, so it cannot keep a Pod forever. */
  stuck(running: RunningInstance, deadline: number, now: number): boolean {
    return running.killing?.signal === 'SIGKILL' && now > deadline + KILL_SETTLE_MS;
  }

  /** SIGTERM once the command runs (see command-started.ts); until then `advance` keeps trying. */
  private sendTerm(running: RunningInstance, killing: KillRequest, now: number): void {
    if (!commandStarted(running.pid) && now - killing.requestedAt < TERM_PENDING_MAX_MS) return;
    killing.termSent = true;
    this.signal(running, 'SIGTERM');
  }

  private signal(running: RunningInstance, signal: 'SIGTERM' | 'SIGKILL'): void {
    if (!Number.isInteger(running.pgid) || running.pgid <= 1) {
      this.deps.logger.error({ pgid: running.pgid }, 'refusing to signal an invalid process group');
      return;
    }
    if (!isSameProcessAlive(running.pid, running.startTicks)) return;
    try {
      process.kill(-running.pgid, signal);
    } catch (err) {
      this.deps.logger.debug({ pid: running.pid, err: (err as Error).message }, 'signal not delivered');
    }
  }
}
