/**
 * A Pod's Kubernetes `status` from the runtime's records: container states, phase and
 * conditions as the kubelet computes them (kubelet_pods.go getPhase, status/generate.go). Pure:
 * the worker keeps the records and condition transition times; this only renders them.
 */
import { podQosClass } from './resources.js';
import type { JsonObject } from '../../protocol/index.js';
import { kubeTime as rfc3339 } from '../../protocol/kube/index.js';
import type { ContainerSpec, PodView } from './pod-spec.js';
import type { ContainerRecord, ConditionRecord, Termination } from './pod-state.js';
import { isSidecar, sidecarNames } from './sidecars.js';

/**
 * What a container's status is rendered from: the process runtime's ContainerRecord, or what
 * the CRI runtime observed (which names its containers itself and knows their image).
 */
export interface StatusRecord extends Pick<ContainerRecord, 'restartCount' | 'waiting' | 'last' | 'previous'> {
  running?: { startedAt: number; pid?: number; containerID?: string };
  /** The image the container runs, as its runtime identifies it (a digest); '' when unknown. */
  imageID?: string;
  /** From the probes (probes/pod-probes.ts) while running: default ready for app containers, started. */
  probed?: { started: boolean; ready: boolean };
}

/** What a whole Pod status is rendered from (the process runtime's PodState is one). */
export interface StatusState {
  startTime?: number;
  conditions: Record<string, ConditionRecord>;
  containers: Record<string, StatusRecord>;
  /** The Pod failed for good (active-deadline.ts): phase Failed with this reason and message. */
  failure?: { reason: string; message: string };
}

function terminated(termination: Termination): JsonObject {
  const out: JsonObject = {
    exitCode: termination.exitCode,
    reason: termination.reason,
    startedAt: rfc3339(termination.startedAt),
    finishedAt: rfc3339(termination.finishedAt),
    containerID: termination.containerID,
  };
  if (termination.signal !== undefined) out.signal = termination.signal;
  if (termination.message) out.message = termination.message;
  return { terminated: out };
}

function waiting(reason: string, message: string | undefined): JsonObject {
  return { waiting: message ? { reason, message } : { reason } };
}

/** One containerStatuses / initContainerStatuses entry. */
export function containerStatus(spec: ContainerSpec, record: StatusRecord | undefined, init: boolean): JsonObject {
  let state: JsonObject;
  let lastState: JsonObject = {};
  let containerID: string | undefined;
  let ready = false;
  let started = false;
  const appLike = !init || isSidecar(spec); // a sidecar is ready and started like an app container
  if (record?.running) {
    state = { running: { startedAt: rfc3339(record.running.startedAt) } };
    if (record.last) lastState = terminated(record.last);
    containerID = record.running.containerID ?? `process://${record.running.pid}`;
    // Without probes a running app container is ready and started; with them, the probes say.
    ready = record.probed?.ready ?? appLike;
    started = record.probed?.started ?? true;
  } else if (record?.waiting) {
    state = waiting(record.waiting.reason, record.waiting.message);
    if (record.last) lastState = terminated(record.last);
    containerID = record.last?.containerID;
  } else if (record?.last) {
    state = terminated(record.last);
    if (record.previous) lastState = terminated(record.previous);
    containerID = record.last.containerID;
    ready = init && !appLike && record.last.exitCode === 0; // the kubelet marks completed init containers ready
  } else {
    state = waiting(init ? 'PodInitializing' : 'ContainerCreating', undefined);
  }
  const out: JsonObject = {
    name: spec.name,
    state,
    lastState,
    ready,
    restartCount: record?.restartCount ?? 0,
    image: spec.image,
    imageID: record?.imageID ?? '',
    started,
  };
  if (containerID) out.containerID = containerID;
  return out;
}

function stateOf(status: JsonObject): 'running' | 'terminated' | 'waiting' {
  const state = status.state as JsonObject;
  return state.running ? 'running' : state.terminated ? 'terminated' : 'waiting';
}

function exitCodeOf(status: JsonObject, field: 'state' | 'lastState'): number | undefined {
  const terminatedState = (status[field] as JsonObject).terminated as JsonObject | undefined;
  return terminatedState ? (terminatedState.exitCode as number) : undefined;
}

/** The kubelet's getPhase over rendered statuses (sidecars: running ones count as running; no terminal-pod override). */
export function podPhase(pod: PodView, initStatuses: JsonObject[], statuses: JsonObject[]): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  let pendingInitialization = 0;
  let failedInitialization = 0;
  let running = 0;
  const sidecars = new Set(sidecarNames(pod));
  for (const status of initStatuses) {
    const state = stateOf(status);
    if (sidecars.has(status.name as string)) {
      // kube's getPhase: a sidecar is pending until it has started; a terminated one is ignored.
      if (state === 'running') running++;
      if ((state === 'running' && status.started !== true) || (state === 'waiting' && exitCodeOf(status, 'lastState') === undefined)) pendingInitialization++;
      continue;
    }
    if (state === 'running') pendingInitialization++;
    else if (state === 'terminated') {
      if (exitCodeOf(status, 'state') !== 0) failedInitialization++;
    } else {
      const last = exitCodeOf(status, 'lastState');
      if (last !== undefined) {
        if (last !== 0) failedInitialization++;
      } else pendingInitialization++;
    }
  }
  let waitingCount = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const status of statuses) {
    const state = stateOf(status);
    if (state === 'running') running++;
    else if (state === 'terminated') {
      stopped++;
      if (exitCodeOf(status, 'state') === 0) succeeded++;
    } else if (exitCodeOf(status, 'lastState') !== undefined) stopped++;
    else waitingCount++;
  }
  if (failedInitialization > 0 && pod.restartPolicy === 'Never') return 'Failed';
  const anyRegularStarted = statuses.some((status) => stateOf(status) !== 'waiting');
  if ((pendingInitialization > 0 && !anyRegularStarted) || waitingCount > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (pod.restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (pod.restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

export interface DesiredCondition {
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

/** The conditions the kubelet would set now (transition times are the worker's). */
export function desiredConditions(initStatuses: JsonObject[], statuses: JsonObject[], phase: string, sidecars: readonly string[] = []): Record<string, DesiredCondition> {
  // A sidecar is initialized once it has started (or has run before); it counts toward readiness while the Pod runs.
  const sidecarDone = (status: JsonObject) => (stateOf(status) === 'running' ? status.started === true : stateOf(status) === 'terminated' || exitCodeOf(status, 'lastState') !== undefined);
  const done = (status: JsonObject) => (sidecars.includes(status.name as string) ? sidecarDone(status) : stateOf(status) === 'terminated' && exitCodeOf(status, 'state') === 0);
  const incomplete = initStatuses.filter((status) => !done(status)).map((status) => status.name as string);
  const sidecarStatuses = phase === 'Succeeded' || phase === 'Failed' ? [] : initStatuses.filter((status) => sidecars.includes(status.name as string));
  const unready = [...sidecarStatuses, ...statuses].filter((status) => status.ready !== true).map((status) => status.name as string);
  const initialized: DesiredCondition =
    incomplete.length === 0 ? { status: 'True' } : { status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incomplete.join(' ')}]` };
  let ready: DesiredCondition;
  if (unready.length === 0) ready = { status: 'True' };
  else if (phase === 'Succeeded') ready = { status: 'False', reason: 'PodCompleted' };
  else ready = { status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  return { Initialized: initialized, Ready: ready, ContainersReady: ready, PodScheduled: { status: 'True' } };
}

/** Updates `conditions` to `desired`, moving lastTransitionTime only when a status flips. Returns whether anything changed. */
export function applyConditions(conditions: Record<string, ConditionRecord>, desired: Record<string, DesiredCondition>, now: number): boolean {
  let changed = false;
  for (const [type, want] of Object.entries(desired)) {
    const have = conditions[type];
    if (have && have.status === want.status && have.reason === want.reason && have.message === want.message) continue;
    const record: ConditionRecord = { status: want.status, lastTransitionTime: have && have.status === want.status ? have.lastTransitionTime : now };
    if (want.reason) record.reason = want.reason;
    if (want.message) record.message = want.message;
    conditions[type] = record;
    changed = true;
  }
  return changed;
}

export interface RenderedStatus {
  phase: string;
  initContainerStatuses: JsonObject[];
  containerStatuses: JsonObject[];
}

export function renderContainers(pod: PodView, state: StatusState): RenderedStatus {
  const initContainerStatuses = pod.initContainers.map((spec) => containerStatus(spec, state.containers[spec.name], true));
  const containerStatuses = pod.containers.map((spec) => containerStatus(spec, state.containers[spec.name], false));
  return { phase: state.failure ? 'Failed' : podPhase(pod, initContainerStatuses, containerStatuses), initContainerStatuses, containerStatuses };
}

/** The whole `status` object. */
export function renderPodStatus(pod: PodView, state: StatusState, hostIP: string): JsonObject {
  const rendered = renderContainers(pod, state);
  const conditions: JsonObject[] = [];
  for (const type of ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
    const condition = state.conditions[type];
    if (!condition) continue;
    const out: JsonObject = { type, status: condition.status, lastProbeTime: null, lastTransitionTime: rfc3339(condition.lastTransitionTime) };
    if (condition.reason) out.reason = condition.reason;
    if (condition.message) out.message = condition.message;
    conditions.push(out);
  }
  const status: JsonObject = {
    phase: rendered.phase,
    conditions,
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: hostIP,
    podIPs: [{ ip: hostIP }],
    containerStatuses: rendered.containerStatuses,
    qosClass: podQosClass(pod),
  };
  if (state.startTime !== undefined) status.startTime = rfc3339(state.startTime);
  if (state.failure) Object.assign(status, state.failure);
  if (pod.initContainers.length > 0) status.initContainerStatuses = rendered.initContainerStatuses;
  return status;
}
