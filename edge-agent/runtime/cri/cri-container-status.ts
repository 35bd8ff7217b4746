/**
 * What the CRI runtime observed of one container name in a Pod's sandbox (its newest and its
 * previous instance), turned into the record pod-status.ts renders: real container IDs
 * (`containerd://<id>`), the image ID, exit codes and reasons as the runtime reports them.
 */
import type { Termination } from '../pod-state.js';
import type { StatusRecord } from '../pod-status.js';
import { RESTART_COUNT_ANNOTATION } from './cri-config.js';
import type { ContainerStatus } from './cri-types.js';

export interface Observed {
  /** The newest instance (highest attempt). */
  current?: ContainerStatus;
  /** The one before it, kept for lastState (and its log), as the kubelet keeps one dead container. */
  previous?: ContainerStatus;
}

export function nsToMs(ns: number): number {
  return Math.floor(ns / 1e6);
}

export function restartCountOf(status: ContainerStatus): number {
  const value = Number(status.annotations?.[RESTART_COUNT_ANNOTATION] ?? status.metadata?.attempt ?? 0);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

export function isExited(status: ContainerStatus | undefined): status is ContainerStatus {
  return status?.state === 'CONTAINER_EXITED' || status?.state === 'CONTAINER_UNKNOWN';
}

export function termination(status: ContainerStatus, idPrefix: string): Termination {
  const reason = status.reason || (status.state === 'CONTAINER_UNKNOWN' ? 'ContainerStatusUnknown' : status.exitCode === 0 ? 'Completed' : 'Error');
  const out: Termination = {
    exitCode: status.exitCode,
    reason,
    startedAt: nsToMs(status.startedAt || status.createdAt),
    finishedAt: nsToMs(status.finishedAt || status.startedAt || status.createdAt),
    containerID: `${idPrefix}${status.id}`,
  };
  if (status.message) out.message = status.message;
  return out;
}

/** The status record of one container, with the wait the worker decided on (when not running). */
export function statusRecord(observed: Observed | undefined, waiting: { reason: string; message?: string } | undefined, idPrefix: string): StatusRecord {
  const current = observed?.current;
  const record: StatusRecord = { restartCount: current ? restartCountOf(current) : 0 };
  if (current?.imageRef) record.imageID = current.imageRef;
  if (current?.state === 'CONTAINER_RUNNING') {
    record.running = { startedAt: nsToMs(current.startedAt), containerID: `${idPrefix}${current.id}` };
    if (isExited(observed?.previous)) record.last = termination(observed.previous, idPrefix);
    return record;
  }
  if (isExited(current)) {
    record.last = termination(current, idPrefix);
    if (isExited(observed?.previous)) record.previous = termination(observed.previous, idPrefix);
  } else if (isExited(observed?.previous)) {
    record.last = termination(observed.previous, idPrefix);
  }
  if (waiting) record.waiting = waiting;
  return record;
}

/** The ids and states of a Pod's containers: what a poll compares to decide whether a pass is due. */
export function seenOf(list: readonly { id: string; state: string }[]): string {
  return list
    .map((item) => `${item.id}:${item.state}`)
    .sort()
    .join(',');
}
