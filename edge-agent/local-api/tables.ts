/**
 * Server-side printing: `meta.k8s.io/v1` Tables, which `kubectl get` asks for
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`). kubectl prints the cells as they
 * come and takes names and namespaces from each row's object, so the columns here are what
 * `kubectl get` shows. They follow kube-apiserver's printers for the same kinds, trimmed to what
 * the agent can know: pod STATUS/READY/RESTARTS come from the status when there is one (the
 * hub strips Pod status; a runtime supplies it through `podStatus`).
 */
import type { JsonObject, JsonValue } from '../../protocol/index.js';
import { metadataOf } from './presenter.js';
import type { ResourceInfo } from './resources.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer';
  format: string;
  description: string;
  /** 0: always shown; 1: only with `-o wide`. */
  priority: number;
}

type Cell = string | number;

interface Printer {
  columns: readonly ColumnDefinition[];
  cells(obj: JsonObject, now: number): Cell[];
}

function column(name: string, description: string, extra: Partial<ColumnDefinition> = {}): ColumnDefinition {
  return { name, type: 'string', format: '', description, priority: 0, ...extra };
}

const NAME = column('Name', 'Name must be unique within a namespace.', { format: 'name' });
const AGE = column('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** apimachinery's duration.HumanDuration, which kube's AGE column uses: "45s", "3m20s", "5h", "2d3h", "3y". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

function age(obj: JsonObject, now: number): string {
  const created = metadataOf(obj).creationTimestamp;
  const at = typeof created === 'string' ? Date.parse(created) : Number.NaN;
  return Number.isNaN(at) ? '<unknown>' : humanDuration(now - at);
}

function nameOf(obj: JsonObject): string {
  const name = metadataOf(obj).name;
  return typeof name === 'string' ? name : '';
}

function object(value: JsonValue | undefined): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

function objects(value: JsonValue | undefined): JsonObject[] {
  return Array.isArray(value) ? value.flatMap((item) => (object(item) ? [item as JsonObject] : [])) : [];
}

function text(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** kube's pod printer, without the parts that need data the edge does not have (readiness gates, last restart time). */
function podCells(pod: JsonObject, now: number): Cell[] {
  const spec = object(pod.spec) ?? {};
  const status = object(pod.status) ?? {};
  const containers = objects(spec.containers);
  let reason = text(status.reason) ?? text(status.phase) ?? '';
  let restarts = 0;
  let ready = 0;

  const initStatuses = objects(status.initContainerStatuses);
  const initCount = objects(spec.initContainers).length || initStatuses.length;
  let initializing = false;
  for (const [index, cs] of initStatuses.entries()) {
    restarts += typeof cs.restartCount === 'number' ? cs.restartCount : 0;
    const state = object(cs.state) ?? {};
    const terminated = object(state.terminated);
    const waiting = object(state.waiting);
    if (terminated && terminated.exitCode === 0) continue;
    initializing = true;
    if (terminated) reason = `Init:${text(terminated.reason) ?? exitReason(terminated)}`;
    else if (waiting && text(waiting.reason) && waiting.reason !== 'PodInitializing') reason = `Init:${String(waiting.reason)}`;
    else reason = `Init:${index}/${initCount}`;
    break;
  }

  if (!initializing) {
    let running = false;
    for (const cs of objects(status.containerStatuses).reverse()) {
      restarts += typeof cs.restartCount === 'number' ? cs.restartCount : 0;
      const state = object(cs.state) ?? {};
      const waiting = object(state.waiting);
      const terminated = object(state.terminated);
      if (waiting && text(waiting.reason)) reason = String(waiting.reason);
      else if (terminated && text(terminated.reason)) reason = String(terminated.reason);
      else if (terminated) reason = exitReason(terminated);
      else if (object(state.running) && cs.ready === true) {
        running = true;
        ready++;
      }
    }
    if (reason === 'Completed' && running) reason = 'Running';
  }
  if (text(metadataOf(pod).deletionTimestamp)) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';

  return [nameOf(pod), `${ready}/${containers.length}`, reason, String(restarts), age(pod, now), text(status.podIP) ?? '<none>', text(spec.nodeName) ?? '<none>'];
}

function exitReason(terminated: JsonObject): string {
  return typeof terminated.signal === 'number' && terminated.signal !== 0 ? `Signal:${terminated.signal}` : `ExitCode:${String(terminated.exitCode ?? 0)}`;
}

function dataCount(obj: JsonObject): number {
  return Object.keys(object(obj.data) ?? {}).length + Object.keys(object(obj.binaryData) ?? {}).length;
}

function nodeCells(node: JsonObject, now: number): Cell[] {
  const status = object(node.status) ?? {};
  const ready = objects(status.conditions).find((condition) => condition.type === 'Ready');
  const states = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (object(node.spec)?.unschedulable === true) states.push('SchedulingDisabled');
  const labels = object(metadataOf(node).labels) ?? {};
  const roles = Object.keys(labels)
    .filter((label) => label.startsWith('node-role.kubernetes.io/'))
    .map((label) => label.slice('node-role.kubernetes.io/'.length))
    .filter((role) => role !== '')
    .sort();
  const nodeInfo = object(status.nodeInfo) ?? {};
  const internalIp = objects(status.addresses).find((address) => address.type === 'InternalIP');
  return [nameOf(node), states.join(','), roles.length > 0 ? roles.join(',') : '<none>', age(node, now), text(nodeInfo.kubeletVersion) ?? '', text(internalIp?.address) ?? '<none>'];
}

const PRINTERS: Readonly<Record<string, Printer>> = {
  Pod: {
    columns: [
      NAME,
      column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      column('Status', 'The aggregate status of the containers in this pod.'),
      column('Restarts', 'The number of times the containers in this pod have been restarted.'),
      AGE,
      column('IP', 'IP address allocated to the pod.', { priority: 1 }),
      column('Node', 'NodeName is the node the pod is bound to.', { priority: 1 }),
    ],
    cells: podCells,
  },
  ConfigMap: {
    columns: [NAME, column('Data', 'The number of keys in data and binaryData.', { type: 'integer' }), AGE],
    cells: (cm, now) => [nameOf(cm), dataCount(cm), age(cm, now)],
  },
  Secret: {
    columns: [NAME, column('Type', 'The type of the secret.'), column('Data', 'The number of keys in data.', { type: 'integer' }), AGE],
    cells: (secret, now) => [nameOf(secret), text(secret.type) ?? 'Opaque', dataCount(secret), age(secret, now)],
  },
  Node: {
    columns: [
      NAME,
      column('Status', 'The status of the node.'),
      column('Roles', 'The roles of the node.'),
      AGE,
      column('Version', 'Kubelet version reported by the node.'),
      column('Internal-IP', 'The internal IP of the node.', { priority: 1 }),
    ],
    cells: nodeCells,
  },
};

const GENERIC: Printer = { columns: [NAME, AGE], cells: (obj, now) => [nameOf(obj), age(obj, now)] };

export interface TableOptions {
  /** `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, as the client asked. */
  apiVersion: string;
  includeObject: IncludeObject;
  resourceVersion: string;
  /** kube sends column definitions once per watch, on its first event. */
  withColumns: boolean;
  now: number;
}

/** A served object's metadata alone, as kube embeds it in Table rows and metadata-only responses. */
export function partialObjectMetadata(obj: JsonObject, apiVersion: string): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: metadataOf(obj) };
}

export function toTable(info: ResourceInfo, served: readonly JsonObject[], options: TableOptions): JsonObject {
  const printer = PRINTERS[info.kind] ?? GENERIC;
  const rows: JsonValue[] = served.map((obj) => {
    const row: JsonObject = { cells: printer.cells(obj, options.now) };
    if (options.includeObject === 'Object') row.object = obj;
    else if (options.includeObject === 'Metadata') row.object = partialObjectMetadata(obj, options.apiVersion);
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: options.apiVersion,
    metadata: { resourceVersion: options.resourceVersion },
    columnDefinitions: options.withColumns ? printer.columns.map((c) => ({ ...c })) : [],
    rows,
  };
}
