/**
 * Sidecar containers (kube 1.29+ SidecarContainers): init containers with `restartPolicy:
 * Always`. Shared by both runtimes' workers, pure over their records: which init container
 * starts now (kube's computeInitContainerActions: in order; a sidecar blocks the next one only
 * until it has started, its startupProbe passed; a regular one until it succeeded), whether
 * the Pod is done (a Never/OnFailure Pod whose app containers all finished for good, or whose
 * init failed for good: its sidecars are stopped, not restarted), and which containers a
 * stopping Pod stops now (app and regular init containers first, then the sidecars one at a
 * time in reverse order; all at once when the grace period is over).
 */
import type { ContainerSpec, PodView } from './pod-spec.js';
import { nextStart, type StartKind } from './restart-policy.js';

/** What the plan reads of a container's record (the process runtime's ContainerRecord, the CRI's StatusRecord). */
export interface SidecarRecord {
  running?: unknown;
  last?: { exitCode: number };
  restartRequested?: boolean;
  /** From the probes while running; absent: started. */
  probed?: { started: boolean };
}

type Records = Readonly<Record<string, SidecarRecord | undefined>>;

/** An init container with `restartPolicy: Always`. */
export function isSidecar(spec: ContainerSpec): boolean {
  return spec.raw.restartPolicy === 'Always';
}

/** The names of the Pod's sidecars, in init order. */
export function sidecarNames(pod: PodView): string[] {
  return pod.initContainers.filter(isSidecar).map((spec) => spec.name);
}

/** The policy a container restarts by: a sidecar always restarts, whatever the Pod's. */
export function startFor(pod: PodView, spec: ContainerSpec, record: SidecarRecord | undefined, init: boolean): StartKind | undefined {
  const sidecar = init && isSidecar(spec);
  return nextStart(sidecar ? 'Always' : pod.restartPolicy, record ?? {}, init && !sidecar);
}

/**
 * Whether the Pod has nothing left to run but its sidecars: a Never/OnFailure Pod whose app
 * containers all exited for good, or whose regular init container failed for good.
 */
export function podDone(pod: PodView, records: Records): boolean {
  if (pod.restartPolicy === 'Always') return false;
  const initFailed = pod.initContainers.some((spec) => {
    const record = records[spec.name];
    return !isSidecar(spec) && !record?.running && record?.last !== undefined && record.last.exitCode !== 0 && !startFor(pod, spec, record, true);
  });
  if (initFailed) return true;
  return pod.containers.every((spec) => {
    const record = records[spec.name];
    return record !== undefined && !record.running && record.last !== undefined && !startFor(pod, spec, record, false);
  });
}

export interface InitPlan {
  /** Init containers to start (or, with `start` undefined, that stay terminated for good), in order. */
  starts: { spec: ContainerSpec; start: StartKind | undefined }[];
  /** Every regular init container succeeded and every sidecar has started: the app containers may start. */
  initialized: boolean;
  /** Running sidecars to stop now: the Pod is done (podDone), the last one first. */
  stop: string[];
}

export function initPlan(pod: PodView, records: Records): InitPlan {
  if (podDone(pod, records)) {
    // Nothing starts; a regular init container that failed for good is listed (start undefined) so its runtime clears its waiting state.
    const failed = pod.initContainers.filter((spec) => !isSidecar(spec) && records[spec.name]?.last !== undefined && records[spec.name]!.last!.exitCode !== 0 && !records[spec.name]!.running);
    const stop = stoppable(pod, records, false).filter((name) => sidecarNames(pod).includes(name));
    return { starts: failed.map((spec) => ({ spec, start: undefined })), initialized: failed.length === 0, stop };
  }
  const starts: InitPlan['starts'] = [];
  for (const spec of pod.initContainers) {
    const record = records[spec.name];
    if (isSidecar(spec)) {
      if (record?.running) {
        if (record.probed?.started ?? true) continue;
        return { starts, initialized: false, stop: [] };
      }
      starts.push({ spec, start: startFor(pod, spec, record, true) });
      // A sidecar's first start holds the next init container until it has started; a restart does not.
      if (!record?.last) return { starts, initialized: false, stop: [] };
      continue;
    }
    if (record?.running) return { starts, initialized: false, stop: [] };
    if (record?.last && record.last.exitCode === 0 && !record.restartRequested) continue;
    starts.push({ spec, start: startFor(pod, spec, record, true) });
    return { starts, initialized: false, stop: [] };
  }
  return { starts, initialized: true, stop: [] };
}

/**
 * Which running containers a stopping Pod stops now: every running app and regular init
 * container; once none is left, the last running sidecar (reverse init order); everything
 * at once when `all` (the grace period is over).
 */
export function stoppable(pod: PodView, records: Records, all: boolean): string[] {
  const sidecarSet = new Set(sidecarNames(pod));
  const running = Object.entries(records).filter(([, record]) => record?.running !== undefined && record.running !== null).map(([name]) => name);
  const others = running.filter((name) => !sidecarSet.has(name));
  const sidecars = sidecarNames(pod).filter((name) => running.includes(name));
  if (all) return [...others, ...sidecars];
  if (others.length > 0) return others;
  return sidecars.slice(-1);
}
