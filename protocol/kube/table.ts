/**
 * Server-side printing, shared by the two Kubernetes-wire APIs of edge-sync (the hub's embedded
 * API server and the agent's local API): `meta.k8s.io/v1` Tables, which kubectl asks for
 * (`Accept: ...;as=Table`) for `get` and `get -w`. Columns and cell values follow
 * kube-apiserver's printers (pkg/printers/internalversion), because people read
 * `kubectl get pods -o wide` and `kubectl get nodes` to see what the edge is doing: pod STATUS
 * is computed the way kube computes it (init containers, waiting/terminated reasons such as
 * CrashLoopBackOff/Completed/Error, Terminating), RESTARTS sums restart counts with "(5m ago)",
 * node STATUS comes from the Ready condition. Priority-1 columns are the ones kubectl shows only
 * with `-o wide`; the server always sends them, as kube-apiserver does.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import { arrayField, nameOf, numberField, objectField, objectsIn, stringField } from './object-fields.js';

export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  /** 0: always shown; 1: only with `-o wide`. */
  priority: number;
}

/** What each row carries of its object: nothing, its metadata (kubectl's default) or all of it. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  includeObject: IncludeObject;
  /** kube sends column definitions once per watch; later event tables leave them empty. */
  withColumns: boolean;
  /** `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, whichever the client asked for. */
  apiVersion: string;
  resourceVersion?: string;
  continueToken?: string;
  /** The clock AGE columns are computed against. */
  now: number;
}

export type TableCell = string | number | boolean;
type RowPrinter = (obj: JsonObject, now: number) => TableCell[];

function column(name: string, description: string, extra: Partial<TableColumnDefinition> = {}): TableColumnDefinition {
  return { name, type: 'string', format: '', description, priority: 0, ...extra };
}

const NAME = column('Name', 'Name must be unique within a namespace.', { format: 'name' });
const AGE = column('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** kube's duration.HumanDuration: "5s", "3m20s", "5h", "2d3h", "3y". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return '<unknown>';
  return humanDuration(now - at);
}

function age(obj: JsonObject, now: number): string {
  return since(stringField(objectField(obj, 'metadata'), 'creationTimestamp'), now);
}

// ---------------------------------------------------------------------------------------------
// Pods

const POD_COLUMNS: TableColumnDefinition[] = [
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

function conditionStatus(conditions: JsonObject[], type: string): string | undefined {
  for (const condition of conditions) if (stringField(condition, 'type') === type) return stringField(condition, 'status');
  return undefined;
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

// ---------------------------------------------------------------------------------------------
// Nodes

const NODE_COLUMNS: TableColumnDefinition[] = [
  NAME,
  column('Status', 'The status of the node'),
  column('Roles', 'The roles of the node'),
  AGE,
  column('Version', 'Kubelet Version reported by the node.'),
  column('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', { priority: 1 }),
  column('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', { priority: 1 }),
  column('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', { priority: 1 }),
  column('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
  column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', { priority: 1 }),
];

function nodeRoles(node: JsonObject): string[] {
  const labels = objectField(objectField(node, 'metadata'), 'labels') ?? {};
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (key === 'kubernetes.io/role' && typeof value === 'string' && value !== '') {
      roles.add(value);
    }
  }
  return [...roles].sort();
}

function nodeAddress(node: JsonObject, type: string): string {
  for (const address of objectsIn(arrayField(objectField(node, 'status'), 'addresses'))) {
    if (stringField(address, 'type') === type) return stringField(address, 'address') ?? '<none>';
  }
  return '<none>';
}

export function nodeRow(node: JsonObject, now: number): TableCell[] {
  const status = objectField(node, 'status') ?? {};
  const states: string[] = [];
  const ready = conditionStatus(objectsIn(arrayField(status, 'conditions')), 'Ready');
  if (ready !== undefined) states.push(ready === 'True' ? 'Ready' : 'NotReady');
  if (states.length === 0) states.push('Unknown');
  if (objectField(node, 'spec')?.unschedulable === true) states.push('SchedulingDisabled');
  const roles = nodeRoles(node).join(',') || '<none>';
  const info = objectField(status, 'nodeInfo') ?? {};
  return [
    nameOf(node),
    states.join(','),
    roles,
    age(node, now),
    stringField(info, 'kubeletVersion') ?? '',
    nodeAddress(node, 'InternalIP'),
    nodeAddress(node, 'ExternalIP'),
    stringField(info, 'osImage') || '<unknown>',
    stringField(info, 'kernelVersion') || '<unknown>',
    stringField(info, 'containerRuntimeVersion') || '<unknown>',
  ];
}

// ---------------------------------------------------------------------------------------------
// The other kinds

function dataCount(obj: JsonObject): number {
  return Object.keys(objectField(obj, 'data') ?? {}).length + Object.keys(objectField(obj, 'binaryData') ?? {}).length;
}

const EVENT_COLUMNS: TableColumnDefinition[] = [
  column('Last Seen', 'The last time the event was seen'),
  column('Type', 'Type of this event (Normal, Warning), new types could be added in the future.'),
  column('Reason', 'This should be a short, machine understandable string that gives the reason for this event being generated.'),
  column('Object', 'The object this Event is about.'),
  column('Message', 'A human-readable description of the status of this operation.'),
  column('Source', 'The component reporting this event.', { priority: 1 }),
  column('Count', 'The number of times this event has occurred.', { type: 'integer', priority: 1 }),
  column('Name', 'Name must be unique within a namespace.', { format: 'name', priority: 1 }),
];

function eventRow(event: JsonObject, now: number): TableCell[] {
  const involved = objectField(event, 'involvedObject') ?? {};
  const lastSeen = stringField(event, 'lastTimestamp') || stringField(event, 'eventTime') || stringField(objectField(event, 'metadata'), 'creationTimestamp');
  const source = objectField(event, 'source');
  return [
    since(lastSeen, now),
    stringField(event, 'type') ?? '',
    stringField(event, 'reason') ?? '',
    `${(stringField(involved, 'kind') ?? '').toLowerCase()}/${stringField(involved, 'name') ?? ''}`,
    (stringField(event, 'message') ?? '').trim(),
    [stringField(source, 'component'), stringField(source, 'host')].filter(Boolean).join(', ') || stringField(event, 'reportingComponent') || '',
    numberField(event, 'count') ?? 1,
    nameOf(event),
  ];
}

interface KindPrinter {
  columns: TableColumnDefinition[];
  row: RowPrinter;
}

const PRINTERS: Record<string, KindPrinter> = {
  Pod: { columns: POD_COLUMNS, row: podRow },
  Node: { columns: NODE_COLUMNS, row: nodeRow },
  ConfigMap: {
    columns: [NAME, column('Data', 'Data contains the configuration data.', { type: 'integer' }), AGE],
    row: (obj, now) => [nameOf(obj), dataCount(obj), age(obj, now)],
  },
  Secret: {
    columns: [NAME, column('Type', 'Used to facilitate programmatic handling of secret data.'), column('Data', 'Data contains the secret data.', { type: 'integer' }), AGE],
    row: (obj, now) => [nameOf(obj), stringField(obj, 'type') ?? 'Opaque', dataCount(obj), age(obj, now)],
  },
  Namespace: {
    columns: [NAME, column('Status', 'The status of the namespace'), AGE],
    row: (obj, now) => [nameOf(obj), stringField(objectField(obj, 'status'), 'phase') ?? '', age(obj, now)],
  },
  Lease: {
    columns: [NAME, column('Holder', 'The holder of the lease'), AGE],
    row: (obj, now) => [nameOf(obj), stringField(objectField(obj, 'spec'), 'holderIdentity') ?? '', age(obj, now)],
  },
  Event: { columns: EVENT_COLUMNS, row: eventRow },
};

const DEFAULT_PRINTER: KindPrinter = { columns: [NAME, AGE], row: (obj, now) => [nameOf(obj), age(obj, now)] };

/** The columns a Table of `kind` has. */
export function tableColumns(kind: string): TableColumnDefinition[] {
  return (PRINTERS[kind] ?? DEFAULT_PRINTER).columns;
}

/** A `Table` of `objects`, all of one `kind`. */
export function kubeTable(kind: string, objects: readonly JsonObject[], options: TableOptions): JsonObject {
  const printer = PRINTERS[kind] ?? DEFAULT_PRINTER;
  const metadata: JsonObject = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continueToken) metadata.continue = options.continueToken;
  const rows: JsonValue[] = objects.map((obj) => {
    const row: JsonObject = { cells: printer.row(obj, options.now) };
    const phase = stringField(objectField(obj, 'status'), 'phase');
    if (kind === 'Pod' && (phase === 'Succeeded' || phase === 'Failed')) {
      row.conditions = [{ type: 'Completed', status: 'True', reason: phase, message: phase === 'Succeeded' ? 'The pod has completed successfully.' : 'The pod failed.' }];
    }
    if (options.includeObject === 'Object') row.object = obj;
    else if (options.includeObject === 'Metadata') row.object = partialObjectMetadata(obj, options.apiVersion);
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: options.apiVersion,
    metadata,
    columnDefinitions: options.withColumns ? printer.columns.map((c) => ({ ...c })) : [],
    rows,
  };
}

/** `PartialObjectMetadata` of an object (what clients that only need metadata ask for). */
export function partialObjectMetadata(obj: JsonObject, apiVersion: string): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: isJsonObject(obj.metadata) ? obj.metadata : {} };
}
