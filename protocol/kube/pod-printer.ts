/**
 * The Pod printer: kubectl get pods [-o wide], as kube-apiserver's printPod computes it: STATUS
 * from init containers, waiting/terminated reasons (CrashLoopBackOff, Completed, Error, ...) and
 * Terminating; RESTARTS summing restart counts with "(5m ago)"; READY from container readiness.
 */
import type { JsonObject } from '../json.js';
import { AGE, age, column, conditionStatus, humanDuration, NAME, type TableCell, type TableColumnDefinition } from './columns.js';
import { arrayField, nameOf, numberField, objectField, objectsIn, stringField } from './object-fields.js';

export const POD_COLUMNS: TableColumnDefinition[] = [
  NAME,
  column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
  column('Status', 'The aggregate status of the containers in this pod.'),
  column('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
  AGE,
  column('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', { priority: 1 }),
  column('Node', "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.", { priority: 1 }),
  column('Nominated Node', 'nominatedNodeName is set when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', { priority: 1 }),
  column('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', { priority: 1 }),
];

function isRestartableInitContainer(container: JsonObject | undefined): boolean {
  return stringField(container, 'restartPolicy') === 'Always';
}

function terminatedFinishedAt(status: JsonObject): number | undefined {
  const terminated = objectField(objectField(status, 'lastState'), 'terminated');
  const finishedAt = stringField(terminated, 'finishedAt');
  if (!finishedAt) return undefined;
  const at = Date.parse(finishedAt);
  return Number.isNaN(at) ? undefined : at;
}

/** The pod's row exactly as kube's printPod computes it. */
export function podRow(pod: JsonObject, now: number): TableCell[] {
  const spec = objectField(pod, 'spec') ?? {};
  const status = objectField(pod, 'status') ?? {};
  const meta = objectField(pod, 'metadata') ?? {};
  const containers = objectsIn(arrayField(spec, 'containers'));
  const initContainerSpecs = objectsIn(arrayField(spec, 'initContainers'));
  const conditions = objectsIn(arrayField(status, 'conditions'));

  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = containers.length;
  let readyContainers = 0;
  let lastRestart = 0;
  let lastRestartableInitRestart = 0;

  const phase = stringField(status, 'phase') ?? '';
  let reason = stringField(status, 'reason') || phase;
  for (const condition of conditions) {
    if (stringField(condition, 'type') === 'PodScheduled' && stringField(condition, 'reason') === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initSpecByName = new Map<string, JsonObject>();
  for (const container of initContainerSpecs) {
    initSpecByName.set(stringField(container, 'name') ?? '', container);
    if (isRestartableInitContainer(container)) totalContainers++;
  }

  let initializing = false;
  const initStatuses = objectsIn(arrayField(status, 'initContainerStatuses'));
  for (let i = 0; i < initStatuses.length; i++) {
    const container = initStatuses[i] as JsonObject;
    const containerSpec = initSpecByName.get(stringField(container, 'name') ?? '');
    const restartCount = numberField(container, 'restartCount') ?? 0;
    restarts += restartCount;
    const finished = terminatedFinishedAt(container);
    if (finished !== undefined && finished > lastRestart) lastRestart = finished;
    if (isRestartableInitContainer(containerSpec)) {
      restartableInitRestarts += restartCount;
      if (finished !== undefined && finished > lastRestartableInitRestart) lastRestartableInitRestart = finished;
    }
    const state = objectField(container, 'state') ?? {};
    const terminated = objectField(state, 'terminated');
    const waiting = objectField(state, 'waiting');
    if (terminated && (numberField(terminated, 'exitCode') ?? 0) === 0) continue;
    if (isRestartableInitContainer(containerSpec) && container.started === true) {
      if (container.ready === true) readyContainers++;
      continue;
    }
    if (terminated) {
      const terminatedReason = stringField(terminated, 'reason') ?? '';
      if (terminatedReason === '') {
        const signal = numberField(terminated, 'signal') ?? 0;
        reason = signal !== 0 ? `Init:Signal:${signal}` : `Init:ExitCode:${numberField(terminated, 'exitCode') ?? 0}`;
      } else {
        reason = `Init:${terminatedReason}`;
      }
    } else if (waiting && (stringField(waiting, 'reason') ?? '') !== '' && stringField(waiting, 'reason') !== 'PodInitializing') {
      reason = `Init:${stringField(waiting, 'reason')}`;
    } else {
      reason = `Init:${i}/${initContainerSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionStatus(conditions, 'Initialized') === 'True') {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = objectsIn(arrayField(status, 'containerStatuses'));
    for (let i = statuses.length - 1; i >= 0; i--) {
      const container = statuses[i] as JsonObject;
      restarts += numberField(container, 'restartCount') ?? 0;
      const finished = terminatedFinishedAt(container);
      if (finished !== undefined && finished > lastRestart) lastRestart = finished;
      const state = objectField(container, 'state') ?? {};
      const waiting = objectField(state, 'waiting');
      const terminated = objectField(state, 'terminated');
      if (waiting && (stringField(waiting, 'reason') ?? '') !== '') {
        reason = stringField(waiting, 'reason') as string;
      } else if (terminated && (stringField(terminated, 'reason') ?? '') !== '') {
        reason = stringField(terminated, 'reason') as string;
      } else if (terminated) {
        const signal = numberField(terminated, 'signal') ?? 0;
        reason = signal !== 0 ? `Signal:${signal}` : `ExitCode:${numberField(terminated, 'exitCode') ?? 0}`;
      } else if (container.ready === true && objectField(state, 'running')) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = conditionStatus(conditions, 'Ready') === 'True' ? 'Running' : 'NotReady';
    }
  }

  const deleting = stringField(meta, 'deletionTimestamp') !== undefined;
  if (deleting && stringField(status, 'reason') === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsText = String(restarts);
  if (restarts !== 0 && lastRestart !== 0) restartsText = `${restarts} (${humanDuration(now - lastRestart)} ago)`;

  const podIPs = objectsIn(arrayField(status, 'podIPs'));
  const podIP = stringField(podIPs[0], 'ip') || stringField(status, 'podIP') || '<none>';
  const readinessGates = objectsIn(arrayField(spec, 'readinessGates'));
  let gates = '<none>';
  if (readinessGates.length > 0) {
    let trueConditions = 0;
    for (const gate of readinessGates) if (conditionStatus(conditions, stringField(gate, 'conditionType') ?? '') === 'True') trueConditions++;
    gates = `${trueConditions}/${readinessGates.length}`;
  }
  return [
    nameOf(pod),
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsText,
    age(pod, now),
    podIP,
    stringField(spec, 'nodeName') || '<none>',
    stringField(status, 'nominatedNodeName') || '<none>',
    gates,
  ];
}
